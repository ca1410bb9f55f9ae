//! The GDB JIT interface: each piece of generated code is described to gdb
//! as an in-memory ELF object (its functions as symbols at their real
//! addresses, and its `.eh_frame` for unwinding), linked into the
//! `__jit_debug_descriptor` list that gdb watches through a breakpoint on
//! `__jit_debug_register_code`.

use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use std::sync::Mutex;

#[repr(C)]
struct JitCodeEntry {
    next: *mut JitCodeEntry,
    prev: *mut JitCodeEntry,
    symfile: *const u8,
    symfile_size: u64,
}

#[repr(C)]
struct JitDescriptor {
    version: u32,
    action: u32,
    relevant: *mut JitCodeEntry,
    first: *mut JitCodeEntry,
}

const JIT_REGISTER: u32 = 1;
const JIT_UNREGISTER: u32 = 2;

/// The list gdb reads. The names and layout are gdb's protocol.
#[unsafe(no_mangle)]
static mut __jit_debug_descriptor: JitDescriptor = JitDescriptor {
    version: 1,
    action: 0,
    relevant: std::ptr::null_mut(),
    first: std::ptr::null_mut(),
};

/// gdb sets a breakpoint here and reads the descriptor when it is hit.
#[unsafe(no_mangle)]
#[inline(never)]
extern "C" fn __jit_debug_register_code() {
    // Keep the call from being optimized away.
    std::hint::black_box(());
}

/// Serializes changes to the descriptor's list.
static LOCK: Mutex<()> = Mutex::new(());

/// A code object's registration with gdb; unregistered on drop.
#[derive(Debug)]
pub struct GdbRegistration {
    entry: *mut JitCodeEntry,
    _image: Box<[u8]>,
}

// SAFETY: the entry is only touched under `LOCK`.
unsafe impl Send for GdbRegistration {}
// SAFETY: as above; shared references expose nothing.
unsafe impl Sync for GdbRegistration {}

/// An ELF object describing `code`, loaded at `text_start`: `symbols`
/// (address, size, name) and its `.eh_frame`.
pub fn elf_image(
    text_start: usize,
    code: &[u8],
    symbols: &[(usize, usize, String)],
    eh_frame: &[u8],
) -> object::write::Result<Vec<u8>> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, code, 16);
    for (address, size, name) in symbols {
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: (address - text_start) as u64,
            size: *size as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
    }
    let eh = obj.add_section(Vec::new(), b".eh_frame".to_vec(), SectionKind::ReadOnlyData);
    obj.append_section_data(eh, eh_frame, 8);
    let mut image = obj.write()?;
    set_section_address(&mut image, b".text", text_start as u64);
    Ok(image)
}

/// Sets `sh_addr` of the section called `name`: for a relocatable object,
/// gdb takes a JIT object's section addresses from there.
fn set_section_address(image: &mut [u8], name: &[u8], address: u64) {
    let read = |image: &[u8], at: usize, len: usize| -> u64 {
        let mut bytes = [0u8; 8];
        bytes[..len].copy_from_slice(&image[at..at + len]);
        u64::from_le_bytes(bytes)
    };
    let shoff = read(image, 0x28, 8) as usize;
    let shentsize = read(image, 0x3a, 2) as usize;
    let shnum = read(image, 0x3c, 2) as usize;
    let shstrndx = read(image, 0x3e, 2) as usize;
    let names = read(image, shoff + shstrndx * shentsize + 0x18, 8) as usize;
    for i in 0..shnum {
        let header = shoff + i * shentsize;
        let name_at = names + read(image, header, 4) as usize;
        if image[name_at..].starts_with(name) && image.get(name_at + name.len()) == Some(&0) {
            image[header + 0x10..header + 0x18].copy_from_slice(&address.to_le_bytes());
        }
    }
}

impl GdbRegistration {
    /// Adds `image` to gdb's list and notifies gdb.
    pub fn new(image: Vec<u8>) -> GdbRegistration {
        let image = image.into_boxed_slice();
        let entry = Box::into_raw(Box::new(JitCodeEntry {
            next: std::ptr::null_mut(),
            prev: std::ptr::null_mut(),
            symfile: image.as_ptr(),
            symfile_size: image.len() as u64,
        }));
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the descriptor and entries are only changed under LOCK;
        // the entry and image live until `drop` unlinks them.
        unsafe {
            let descriptor = &raw mut __jit_debug_descriptor;
            (*entry).next = (*descriptor).first;
            if !(*descriptor).first.is_null() {
                (*(*descriptor).first).prev = entry;
            }
            (*descriptor).first = entry;
            (*descriptor).relevant = entry;
            (*descriptor).action = JIT_REGISTER;
            __jit_debug_register_code();
        }
        GdbRegistration {
            entry,
            _image: image,
        }
    }
}

impl Drop for GdbRegistration {
    fn drop(&mut self) {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the entry is in the list (added by `new`), and the list is
        // only changed under LOCK.
        unsafe {
            let descriptor = &raw mut __jit_debug_descriptor;
            let entry = self.entry;
            if (*entry).prev.is_null() {
                (*descriptor).first = (*entry).next;
            } else {
                (*(*entry).prev).next = (*entry).next;
            }
            if !(*entry).next.is_null() {
                (*(*entry).next).prev = (*entry).prev;
            }
            (*descriptor).relevant = entry;
            (*descriptor).action = JIT_UNREGISTER;
            __jit_debug_register_code();
            drop(Box::from_raw(entry));
        }
    }
}
