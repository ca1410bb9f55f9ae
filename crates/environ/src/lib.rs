//! Module translation and shared layouts for fxtime.
//!
//! This crate turns a WebAssembly binary into a [`ModuleTranslation`]: the
//! validated, engine-independent description of a module ([`ModuleInfo`])
//! plus the function bodies the compiler still has to translate. It also
//! defines [`VMOffsets`] and the `#[repr(C)]` structures that generated code
//! and the runtime both touch, so the two can never disagree on a layout.
//!
//! The crate holds no `unsafe` and no code generation: it is shared by the
//! compiler (`fxtime-cranelift`) and the runtime (`fxtime-runtime`).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod compiled;
mod const_expr;
mod error;
mod features;
pub mod gc;
mod heap;
mod module;
mod translate;
mod trap;
mod types;
pub mod vm;
mod vmoffsets;

pub use compiled::{
    CallSite, CompiledFunction, EhFrame, ExceptionHandler, LibCall, RelocKind, RelocTarget,
    Relocation, StackMap, TrapSite,
};
pub use const_expr::{ConstExpr, ConstOp};
pub use error::{WasmError, WasmResult};
pub use features::{Feature, FeatureSet};
pub use heap::{
    CompositeKind, CompositeType, FieldType, HeapType, RefType, StorageType, SubType, TypeRef,
};
pub use module::{
    DataSegment, DataSegmentKind, ElemSegment, ElemSegmentKind, EntityIndex, Export, Global,
    Import, ModuleInfo,
};
pub use translate::{FunctionBodyData, ModuleTranslation, translate_module};
pub use trap::TrapKind;
pub use types::*;
pub use vmoffsets::VMOffsets;
