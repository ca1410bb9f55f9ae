//! DWARF unwind information for generated code, as an `.eh_frame` section
//! the system unwinder can use.

use crate::Compiler;
use cranelift_codegen::gimli::LittleEndian;
use cranelift_codegen::gimli::write::{Address, EhFrame, EndianVec, FrameTable};
use cranelift_codegen::isa::unwind::UnwindInfo as ClifUnwindInfo;
use fxtime_environ::{WasmError, WasmResult};

/// A compiled function's unwind information, kept until the function's
/// address is known.
#[derive(Debug, Default)]
pub struct UnwindInfo(pub(crate) Option<ClifUnwindInfo>);

impl Compiler {
    /// An `.eh_frame` section (one CIE, an FDE per function, and the zero
    /// terminator that `__register_frame` expects) for functions placed at
    /// the given addresses.
    pub fn build_eh_frame(&self, functions: &[(&UnwindInfo, usize)]) -> WasmResult<Vec<u8>> {
        let cie = self
            .isa
            .create_systemv_cie()
            .ok_or_else(|| WasmError::Bug("the ISA has no SystemV CIE".into()))?;
        let mut table = FrameTable::default();
        let cie_id = table.add_cie(cie);
        for (info, address) in functions {
            if let Some(ClifUnwindInfo::SystemV(info)) = &info.0 {
                table.add_fde(cie_id, info.to_fde(Address::Constant(*address as u64)));
            }
        }
        let mut eh_frame = EhFrame(EndianVec::new(LittleEndian));
        table
            .write_eh_frame(&mut eh_frame)
            .map_err(|e| WasmError::Bug(format!("writing .eh_frame: {e}")))?;
        let mut bytes = eh_frame.0.into_vec();
        bytes.extend_from_slice(&[0; 4]);
        Ok(bytes)
    }
}
