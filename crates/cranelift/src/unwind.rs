//! DWARF unwind information for generated code, as an `.eh_frame` section
//! the system unwinder can use.

use crate::Compiler;
use cranelift_codegen::gimli::constants::{DW_EH_PE_absptr, DwEhPe};
use cranelift_codegen::gimli::write::{Address, EndianVec, FrameTable, Writer};
use cranelift_codegen::gimli::{self, LittleEndian};
use cranelift_codegen::isa::unwind::UnwindInfo as ClifUnwindInfo;
use fxtime_environ::{EhFrame, WasmError, WasmResult};

/// A compiled function's unwind information, kept until the function's
/// place in its code is known.
#[derive(Debug, Default)]
pub struct UnwindInfo(pub(crate) Option<ClifUnwindInfo>);

impl Compiler {
    /// An `.eh_frame` section (one CIE, an FDE per function, and the zero
    /// terminator that `__register_frame` expects) for functions at the
    /// given offsets from the start of their code.
    pub fn build_eh_frame(&self, functions: &[(&UnwindInfo, usize)]) -> WasmResult<EhFrame> {
        let cie = self
            .isa
            .create_systemv_cie()
            .ok_or_else(|| WasmError::Bug("the ISA has no SystemV CIE".into()))?;
        let mut table = FrameTable::default();
        let cie_id = table.add_cie(cie);
        for (info, offset) in functions {
            if let Some(ClifUnwindInfo::SystemV(info)) = &info.0 {
                table.add_fde(cie_id, info.to_fde(Address::Constant(*offset as u64)));
            }
        }
        let mut writer = gimli::write::EhFrame(AddressRecorder {
            out: EndianVec::new(LittleEndian),
            addresses: Vec::new(),
        });
        table
            .write_eh_frame(&mut writer)
            .map_err(|e| WasmError::Bug(format!("writing .eh_frame: {e}")))?;
        let AddressRecorder { out, addresses } = writer.0;
        let mut bytes = out.into_vec();
        bytes.extend_from_slice(&[0; 4]);
        Ok(EhFrame { bytes, addresses })
    }
}

/// A section writer that notes where it writes code addresses, so that
/// the section can be moved with its code.
struct AddressRecorder {
    out: EndianVec<LittleEndian>,
    addresses: Vec<u32>,
}

impl Writer for AddressRecorder {
    type Endian = LittleEndian;

    fn endian(&self) -> LittleEndian {
        LittleEndian
    }

    fn len(&self) -> usize {
        self.out.len()
    }

    fn write(&mut self, bytes: &[u8]) -> gimli::write::Result<()> {
        self.out.write(bytes)
    }

    fn write_at(&mut self, offset: usize, bytes: &[u8]) -> gimli::write::Result<()> {
        self.out.write_at(offset, bytes)
    }

    fn write_address(&mut self, address: Address, size: u8) -> gimli::write::Result<()> {
        // Only 8-byte addresses can be moved by adding the base.
        if size != 8 {
            return Err(gimli::write::Error::InvalidAddress);
        }
        let at = u32::try_from(self.len()).map_err(|_| gimli::write::Error::OffsetOutOfBounds)?;
        self.addresses.push(at);
        self.out.write_address(address, size)
    }

    fn write_eh_pointer(
        &mut self,
        address: Address,
        eh_pe: DwEhPe,
        size: u8,
    ) -> gimli::write::Result<()> {
        // Relative encodings would need the section's address.
        if eh_pe != DW_EH_PE_absptr {
            return Err(gimli::write::Error::UnsupportedPointerEncoding(eh_pe));
        }
        self.write_address(address, size)
    }
}
