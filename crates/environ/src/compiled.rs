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

impl LibCall {
    /// Every routine, for table-driven conversions.
    pub const ALL: [LibCall; 10] = [
        LibCall::CeilF32,
        LibCall::CeilF64,
        LibCall::FloorF32,
        LibCall::FloorF64,
        LibCall::TruncF32,
        LibCall::TruncF64,
        LibCall::NearestF32,
        LibCall::NearestF64,
        LibCall::FmaF32,
        LibCall::FmaF64,
    ];
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

/// An `.eh_frame` section for code whose base address is not known yet:
/// its function addresses are offsets from the code's start, to which
/// [`EhFrame::placed`] adds the base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EhFrame {
    /// The section, zero terminator included.
    pub bytes: Vec<u8>,
    /// Where in `bytes` the 8-byte little-endian code offsets are.
    pub addresses: Vec<u32>,
}

impl EhFrame {
    /// The section for code placed at `base`.
    pub fn placed(&self, base: usize) -> Vec<u8> {
        let mut bytes = self.bytes.clone();
        for &at in &self.addresses {
            let field = &mut bytes[at as usize..at as usize + 8];
            let offset = u64::from_le_bytes(field.try_into().expect("8 bytes"));
            field.copy_from_slice(&offset.wrapping_add(base as u64).to_le_bytes());
        }
        bytes
    }
}
