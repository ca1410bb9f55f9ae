//! [`Trap`] and [`WasmBacktrace`]: how a trap reaches the host.

use crate::{AsContext, TrapKind};
use fxtime_runtime::code::{FrameInfo, PcKind, lookup_pc};
use std::fmt;

/// A WebAssembly trap, as the error of a call. Its `Display` is the
/// reference interpreter's message ("integer divide by zero", ...).
#[derive(Debug, Clone)]
pub struct Trap {
    kind: TrapKind,
    backtrace: WasmBacktrace,
}

impl Trap {
    pub(crate) fn new(kind: TrapKind, pcs: &[usize]) -> Trap {
        Trap {
            kind,
            backtrace: WasmBacktrace::from_pcs(pcs, true),
        }
    }

    /// Why execution trapped.
    pub fn kind(&self) -> TrapKind {
        self.kind
    }

    /// The wasm frames active at the trap, innermost first.
    pub fn backtrace(&self) -> &WasmBacktrace {
        &self.backtrace
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.message())
    }
}

impl std::error::Error for Trap {}

/// Wasm frames, innermost first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    /// Symbolizes program counters: the first is the executing instruction
    /// when `first_is_exact`; the others are return addresses, looked up one
    /// byte earlier so that they fall inside their call instruction.
    fn from_pcs(pcs: &[usize], first_is_exact: bool) -> WasmBacktrace {
        let frames = pcs
            .iter()
            .enumerate()
            .map(|(i, pc)| {
                if i == 0 && first_is_exact {
                    *pc
                } else {
                    pc - 1
                }
            })
            .flat_map(|pc| match lookup_pc(pc) {
                Some(PcKind::Wasm(frames)) => frames,
                _ => Vec::new(),
            })
            .collect();
        WasmBacktrace { frames }
    }

    /// The wasm frames below the host function running now (empty when
    /// not called from wasm).
    pub fn capture(_store: impl AsContext) -> WasmBacktrace {
        WasmBacktrace::from_pcs(&fxtime_runtime::traps::current_wasm_pcs(), false)
    }

    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            let module = frame.module_name.as_deref().unwrap_or("<module>");
            match &frame.func_name {
                Some(name) => write!(
                    f,
                    "  {i:>3}: {module}!{name} (function {})",
                    frame.func_index
                )?,
                None => write!(f, "  {i:>3}: {module}!<wasm function {}>", frame.func_index)?,
            }
            match frame.wasm_offset {
                Some(offset) => writeln!(f, " at offset {offset:#x}")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}
