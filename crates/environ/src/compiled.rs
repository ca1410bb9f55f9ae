//! Compiled code as the compiler hands it to the runtime: machine code plus
//! the relocations and trap sites the runtime's linker needs. Defined here so
//! the runtime can link code without depending on Cranelift.

use crate::{FuncIndex, TrapKind};

/// What a relocation refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocTarget {
    /// A wasm function of the same module.
    Function(FuncIndex),
    /// A math routine the code generator calls.
    LibCall(LibCall),
}

/// Math routines generated code may call on CPUs without the instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(missing_docs, reason = "names say what they compute")]
pub enum LibCall {
    CeilF32,
    CeilF64,
    FloorF32,
    FloorF64,
    TruncF32,
    TruncF64,
    NearestF32,
    NearestF64,
    FmaF32,
    FmaF64,
}

/// How a relocation is patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocKind {
    /// 32-bit PC-relative (`call rel32`): target - site + addend.
    PcRel4,
    /// 64-bit absolute address: target + addend.
    Abs8,
}

/// A place in a function's code to patch at link time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    /// Offset in the function's code.
    pub offset: u32,
    /// How to patch it.
    pub kind: RelocKind,
    /// What it refers to.
    pub target: RelocTarget,
    /// Added to the target address.
    pub addend: i64,
}

/// An instruction that may trap, and with what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapSite {
    /// Offset of the instruction in the function's code.
    pub offset: u32,
    /// The trap it raises.
    pub kind: TrapKind,
}

/// A call inside a `try_table`, with the handlers an exception thrown by
/// the callee may land in, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// Offset of the call's return address in the function's code.
    pub return_offset: u32,
    /// Frame pointer minus stack pointer at the call: a handler runs with
    /// the stack pointer there.
    pub frame_offset: u32,
    /// Where the frame's vmctx (which gives tag identities) is stored, as an
    /// offset from the stack pointer at the call.
    pub vmctx_sp_offset: u32,
    /// The handlers, in the order they are tried.
    pub handlers: Vec<ExceptionHandler>,
}

/// One handler of a call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionHandler {
    /// The tag it catches, as the module indexes tags; `None` catches all.
    pub tag: Option<crate::TagIndex>,
    /// Offset of the handler's code in the function's code.
    pub offset: u32,
}

/// Where a paused frame keeps its GC references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackMap {
    /// For a call, the offset of its return address in the function's
    /// code; for a stack switch, the offset of its first instruction.
    pub offset: u32,
    /// Offsets from the frame's stack pointer (where it stood at the call
    /// or switch) of the 8-byte words that hold GC references.
    pub slots: Box<[u32]>,
    /// The same for the 16-byte continuation references.
    pub cont_slots: Box<[u32]>,
}

/// One function's machine code.
#[derive(Debug, Clone, Default)]
pub struct CompiledFunction {
    /// The machine code.
    pub code: Vec<u8>,
    /// Required alignment of the code's start.
    pub alignment: u32,
    /// Where in a 64-byte line the code prefers to start (a multiple of
    /// `alignment`): chosen so that its innermost loops' headers are not
    /// at the end of a line of instruction fetch.
    pub line_offset: u32,
    /// Patches to apply when the code is placed.
    pub relocations: Vec<Relocation>,
    /// Trapping instructions, sorted by offset.
    pub traps: Vec<TrapSite>,
    /// Calls with exception handlers, sorted by return offset.
    pub call_sites: Vec<CallSite>,
    /// Where the code of each wasm instruction starts: (offset in the
    /// code, byte offset of the instruction in the module), sorted.
    pub address_map: Vec<(u32, u32)>,
    /// The GC references of the frame at each call that has any, sorted.
    pub stack_maps: Vec<StackMap>,
    /// The GC references of the frame at each stack switch (every one,
    /// with or without references), sorted.
    pub switch_maps: Vec<StackMap>,
}
