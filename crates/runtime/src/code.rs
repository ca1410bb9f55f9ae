//! Executable code: linking compiled functions into one mapping, and the
//! process-wide registry that maps a program counter back to its code (for
//! the trap handler and backtraces).

mod link;

pub use link::{BaseRelocation, BaseTarget, CodeTables, LinkedCode, MappedCode, link};

use crate::gdb_jit::{GdbRegistration, elf_image};
use crate::mmap::{Mmap, Protection};
use crate::unwind::UnwindRegistration;
use fxtime_environ::{EhFrame, FuncIndex, LibCall, ModuleInfo, RelocKind, StackMap, TrapKind};
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, OnceLock, RwLock};

/// What a piece of registered code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A module's functions, in defined-function order.
    Module,
    /// Host-to-wasm entry trampolines: a backtrace walk stops there.
    EntryTrampolines,
    /// Wasm-to-host trampolines: skipped by backtraces.
    HostTrampolines,
}

/// Linked, executable code of a module or a batch of trampolines, registered
/// for program-counter lookups while it lives.
#[derive(Debug)]
pub struct CodeObject {
    /// Declared first so it drops (deregisters) before the code is unmapped.
    unwind: OnceLock<UnwindRegistration>,
    /// Likewise: gdb forgets the code before it is unmapped.
    gdb: OnceLock<GdbRegistration>,
    mmap: Mmap,
    /// Bytes of code at the start of the mapping.
    size: usize,
    /// Functions, traps, address map, exception call sites, stack maps
    /// and what was patched with the code's address, in offsets from the
    /// mapping's start.
    tables: CodeTables,
    /// The unwind information, at offsets from the code's start.
    eh_frame: EhFrame,
    kind: CodeKind,
    module: Option<Arc<ModuleInfo>>,
}

/// A frame of a backtrace: which wasm function a program counter is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The module's name from its name section.
    pub module_name: Option<String>,
    /// Index in the module's function index space.
    pub func_index: u32,
    /// The function's name from the name section.
    pub func_name: Option<String>,
    /// Byte offset in the module of the instruction executing (for an
    /// outer frame: the call), when known.
    pub wasm_offset: Option<u32>,
}

/// What a program counter is, for a stack walk.
#[derive(Debug)]
pub enum PcKind {
    /// In a wasm function: its frame, after the frame of a function
    /// inlined into it whose code the pc is in (innermost first).
    Wasm(Vec<FrameInfo>),
    /// In a host trampoline.
    HostTrampoline,
    /// In an entry trampoline.
    EntryTrampoline,
    /// In a continuation entry: the first frame on a continuation stack
    /// above the start trampoline; skipped by backtraces.
    ContinuationEntry,
}

/// What a program counter is, without the names a backtrace wants (for
/// walks that must not allocate: the exception unwinder, the collector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// In a wasm function.
    Wasm,
    /// In a host trampoline.
    HostTrampoline,
    /// In an entry trampoline.
    EntryTrampoline,
    /// In a continuation entry.
    ContinuationEntry,
}

impl CodeObject {
    /// Places linked code in executable memory, patches what needs its
    /// address, and registers it for program-counter lookups. The code is
    /// `linked.image`, copied to memory of its own, or, if `mapped` is
    /// given, already there (and `linked.image` is empty).
    pub fn load(
        linked: LinkedCode,
        mapped: Option<MappedCode>,
        eh_frame: EhFrame,
        kind: CodeKind,
        module: Option<Arc<ModuleInfo>>,
    ) -> io::Result<Arc<CodeObject>> {
        let LinkedCode { image, tables } = linked;
        let MappedCode { mmap, len: size } = match mapped {
            Some(mapped) => mapped,
            None => {
                let mmap = Mmap::reserve(image.len().max(1))?;
                mmap.protect(0, mmap.len(), Protection::ReadWrite)?;
                // SAFETY: the mapping is at least `image.len()` bytes,
                // writable, and ours; `image` is a distinct allocation.
                unsafe {
                    std::ptr::copy_nonoverlapping(image.as_ptr(), mmap.as_ptr(), image.len())
                };
                MappedCode {
                    mmap,
                    len: image.len(),
                }
            }
        };
        assert!(size <= mmap.len(), "code beyond its mapping");
        let base = mmap.as_ptr() as usize;
        for reloc in &tables.relocations {
            let target = match reloc.target {
                BaseTarget::Code(offset) => base + offset,
                BaseTarget::LibCall(libcall) => libcall_address(libcall),
            };
            let value = (target as i64).wrapping_add(reloc.addend);
            let mut patch = [0u8; 8];
            let len = match reloc.kind {
                RelocKind::Abs8 => {
                    patch = value.to_le_bytes();
                    8
                }
                RelocKind::PcRel4 => {
                    let delta = value - (base + reloc.offset) as i64;
                    let delta = i32::try_from(delta)
                        .map_err(|_| io::Error::other("relocation out of range"))?;
                    patch[..4].copy_from_slice(&delta.to_le_bytes());
                    4
                }
            };
            assert!(reloc.offset + len <= size, "relocation beyond the code");
            // SAFETY: the patched bytes lie inside the code (asserted), in
            // a private mapping that is still writable and ours.
            unsafe {
                std::ptr::copy_nonoverlapping(patch.as_ptr(), mmap.as_ptr().add(reloc.offset), len)
            };
        }
        mmap.protect(0, mmap.len(), Protection::ReadExecute)?;

        let object = Arc::new(CodeObject {
            unwind: OnceLock::new(),
            gdb: OnceLock::new(),
            mmap,
            size,
            tables,
            eh_frame,
            kind,
            module,
        });
        register(&object);
        Ok(object)
    }

    /// The code as it was linked, before it was placed: what
    /// [`CodeObject::load`] would place again, and the `.eh_frame` it was
    /// given.
    pub fn linked(&self) -> (LinkedCode, EhFrame) {
        // SAFETY: the first `size` bytes of the mapping are the code,
        // readable (read-execute) for as long as `self` lives.
        let code = unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), self.size) };
        let mut image = code.to_vec();
        for reloc in &self.tables.relocations {
            image[reloc.offset..reloc.offset + reloc.size()].fill(0);
        }
        let linked = LinkedCode {
            image,
            tables: self.tables.clone(),
        };
        (linked, self.eh_frame.clone())
    }

    /// Registers the code's `.eh_frame` with the system unwinder, once.
    pub fn register_unwind_info(&self) {
        self.unwind.get_or_init(|| {
            let eh_frame = self.eh_frame.placed(self.mmap.as_ptr() as usize);
            // SAFETY: the section describes this object's code, which stays
            // mapped until the registration (dropped first) is gone.
            unsafe { UnwindRegistration::new(eh_frame) }
        });
    }

    /// Describes the code to gdb (the GDB JIT interface), with its
    /// `.eh_frame` for unwinding, once. A failure to build the description
    /// only costs debuggability, so it is not an error.
    pub fn register_with_gdb(&self) {
        let base = self.mmap.as_ptr() as usize;
        let eh_frame = self.eh_frame.placed(base);
        // SAFETY: the whole mapping is readable (read-execute) and ours.
        let code = unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), self.mmap.len()) };
        if let Ok(image) = elf_image(base, code, &self.symbols(), &eh_frame) {
            self.gdb.get_or_init(|| GdbRegistration::new(image));
        }
    }

    /// Every function: its address, its size in bytes and a name for
    /// profilers (`wasm[MODULE]::NAME`, or the trampoline's kind).
    pub fn symbols(&self) -> Vec<(usize, usize, String)> {
        let base = self.mmap.as_ptr() as usize;
        self.tables
            .functions
            .iter()
            .enumerate()
            .map(|(i, range)| {
                let name = match (self.kind, self.module.as_deref()) {
                    (CodeKind::Module, Some(module)) if i >= module.num_defined_funcs() => {
                        format!(
                            "wasm[{}]::continuation_entry[{}]",
                            module.name.as_deref().unwrap_or("module"),
                            i - module.num_defined_funcs()
                        )
                    }
                    (CodeKind::Module, Some(module)) => {
                        let f = FuncIndex((i + module.num_imported_funcs) as u32);
                        format!(
                            "wasm[{}]::{}",
                            module.name.as_deref().unwrap_or("module"),
                            module.func_display_name(f)
                        )
                    }
                    (CodeKind::EntryTrampolines, _) => format!("fxtime::entry_trampoline[{i}]"),
                    (CodeKind::HostTrampolines, _) => format!("fxtime::host_trampoline[{i}]"),
                    (CodeKind::Module, None) => format!("wasm::function[{i}]"),
                };
                (base + range.start, range.len(), escape_controls(&name))
            })
            .collect()
    }

    /// Address of the `index`th function.
    pub fn function(&self, index: usize) -> *const u8 {
        // SAFETY: function ranges lie inside the mapping.
        unsafe { self.mmap.as_ptr().add(self.tables.functions[index].start) }
    }

    fn contains(&self, pc: usize) -> bool {
        let base = self.mmap.as_ptr() as usize;
        pc >= base && pc < base + self.mmap.len()
    }

    fn trap_at(&self, pc: usize) -> Option<TrapKind> {
        let offset = pc - self.mmap.as_ptr() as usize;
        let i = self
            .tables
            .traps
            .binary_search_by_key(&offset, |t| t.0)
            .ok()?;
        Some(self.tables.traps[i].1)
    }

    fn call_site(&self, return_address: usize) -> Option<ExceptionSite> {
        let base = self.mmap.as_ptr() as usize;
        let offset = (return_address - base) as u32;
        let i = self
            .tables
            .call_sites
            .binary_search_by_key(&offset, |s| s.return_offset)
            .ok()?;
        let site = &self.tables.call_sites[i];
        Some(ExceptionSite {
            frame_offset: site.frame_offset as usize,
            vmctx_sp_offset: site.vmctx_sp_offset as usize,
            handlers: site
                .handlers
                .iter()
                .map(|h| (h.tag.map(|t| t.0), base + h.offset as usize))
                .collect(),
        })
    }

    /// The stack map of the call returning to `return_address`, if any
    /// reference is live across it.
    fn stack_map(&self, return_address: usize) -> Option<&StackMap> {
        let offset = (return_address - self.mmap.as_ptr() as usize) as u32;
        let i = self
            .tables
            .stack_maps
            .binary_search_by_key(&offset, |m| m.offset)
            .ok()?;
        Some(&self.tables.stack_maps[i])
    }

    /// The stack map of the switch a frame paused at `resume_address` (just
    /// after the switch) waits in: the last switch that starts before it.
    fn switch_map(&self, resume_address: usize) -> Option<&StackMap> {
        let offset = (resume_address - self.mmap.as_ptr() as usize) as u32;
        let i = self
            .tables
            .switch_maps
            .partition_point(|m| m.offset < offset);
        Some(&self.tables.switch_maps[i.checked_sub(1)?])
    }

    /// The start address of the function `pc` lies in.
    fn function_start(&self, pc: usize) -> Option<usize> {
        let base = self.mmap.as_ptr() as usize;
        let offset = pc - base;
        let index = self
            .tables
            .functions
            .partition_point(|range| range.end <= offset);
        let range = self.tables.functions.get(index)?;
        range.contains(&offset).then_some(base + range.start)
    }

    fn frame_kind(&self, pc: usize) -> Option<FrameKind> {
        let offset = pc - self.mmap.as_ptr() as usize;
        let index = self
            .tables
            .functions
            .partition_point(|range| range.end <= offset);
        if !self.tables.functions.get(index)?.contains(&offset) {
            return None;
        }
        Some(match self.kind {
            CodeKind::EntryTrampolines => FrameKind::EntryTrampoline,
            CodeKind::HostTrampolines => FrameKind::HostTrampoline,
            CodeKind::Module
                if self
                    .module
                    .as_deref()
                    .is_some_and(|m| index >= m.num_defined_funcs()) =>
            {
                FrameKind::ContinuationEntry
            }
            CodeKind::Module => FrameKind::Wasm,
        })
    }

    fn pc_kind(&self, pc: usize) -> Option<PcKind> {
        let offset = pc - self.mmap.as_ptr() as usize;
        let index = self
            .tables
            .functions
            .partition_point(|range| range.end <= offset);
        let range = self.tables.functions.get(index)?;
        if !range.contains(&offset) {
            return None;
        }
        Some(match self.kind {
            CodeKind::EntryTrampolines => PcKind::EntryTrampoline,
            CodeKind::HostTrampolines => PcKind::HostTrampoline,
            CodeKind::Module
                if self
                    .module
                    .as_deref()
                    .is_some_and(|m| index >= m.num_defined_funcs()) =>
            {
                PcKind::ContinuationEntry
            }
            CodeKind::Module => {
                let module = self.module.as_deref();
                let num_imported = module.map_or(0, |m| m.num_imported_funcs);
                let func_index = (index + num_imported) as u32;
                // The last instruction whose code starts at or before the pc,
                // if it belongs to this function.
                let at = self
                    .tables
                    .address_map
                    .partition_point(|(code, _)| *code <= offset);
                let wasm_offset = at
                    .checked_sub(1)
                    .map(|i| self.tables.address_map[i])
                    .filter(|(code, _)| range.contains(code))
                    .map(|(_, wasm)| wasm);
                let frame = |func_index: u32, wasm_offset| FrameInfo {
                    module_name: module.and_then(|m| m.name.clone()),
                    func_index,
                    func_name: module
                        .and_then(|m| m.func_names.get(&FuncIndex(func_index)).cloned()),
                    wasm_offset,
                };
                // An instruction of another function was inlined here: that
                // function's frame, then this one's (whose call it replaced
                // has no offset left).
                let inlined = module.zip(wasm_offset).and_then(|(m, offset)| {
                    let owner = m.func_index(m.defined_func_at_offset(offset)?).0;
                    (owner != func_index).then_some(owner)
                });
                PcKind::Wasm(match inlined {
                    Some(owner) => vec![frame(owner, wasm_offset), frame(func_index, None)],
                    None => vec![frame(func_index, wasm_offset)],
                })
            }
        })
    }
}

impl Drop for CodeObject {
    fn drop(&mut self) {
        let start = self.mmap.as_ptr() as usize;
        registry()
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&start);
    }
}

/// Registered code by start address. Entries are removed in
/// `CodeObject::drop` before the code is freed, so a pointer found here is
/// valid while the lock is held.
struct Registry(BTreeMap<usize, *const CodeObject>);

// SAFETY: the pointers are only dereferenced under the lock, and the
// objects they point to are `Sync`.
unsafe impl Send for Registry {}
// SAFETY: as above.
unsafe impl Sync for Registry {}

fn registry() -> &'static RwLock<Registry> {
    static REGISTRY: RwLock<Registry> = RwLock::new(Registry(BTreeMap::new()));
    &REGISTRY
}

impl std::ops::Deref for Registry {
    type Target = BTreeMap<usize, *const CodeObject>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Registry {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

fn register(object: &Arc<CodeObject>) {
    let start = object.mmap.as_ptr() as usize;
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(start, Arc::as_ptr(object));
}

fn with_code<R>(pc: usize, f: impl FnOnce(&CodeObject) -> Option<R>) -> Option<R> {
    let registry = registry().read().unwrap_or_else(|e| e.into_inner());
    let (_, object) = registry.range(..=pc).next_back()?;
    // SAFETY: registered objects stay alive until they unregister, which
    // needs the write lock we are excluding by holding the read lock.
    let object = unsafe { &**object };
    if object.contains(pc) { f(object) } else { None }
}

/// What `pc` is, if it is in registered code (no names: see
/// [`lookup_pc`]).
pub fn lookup_frame_kind(pc: usize) -> Option<FrameKind> {
    with_code(pc, |code| code.frame_kind(pc))
}

/// Calls `f` with the stack map (where its GC and continuation references
/// lie) of a frame of generated code paused at `pc`: at a call returning
/// there, or, with `at_switch`, at the stack switch that resumes there.
pub fn with_stack_map(pc: usize, at_switch: bool, f: impl FnOnce(&StackMap)) {
    with_code(pc, |code| {
        let map = if at_switch {
            code.switch_map(pc)
        } else {
            code.stack_map(pc)
        };
        map.map(f)
    });
}

/// The trap raised by the instruction at `pc`, if `pc` is a trapping
/// instruction of registered code.
pub fn lookup_trap(pc: usize) -> Option<TrapKind> {
    with_code(pc, |code| code.trap_at(pc))
}

/// The start address of the function of registered code that `pc` lies
/// in.
pub fn lookup_function_start(pc: usize) -> Option<usize> {
    with_code(pc, |code| code.function_start(pc))
}

/// What registered code `pc` is in.
pub fn lookup_pc(pc: usize) -> Option<PcKind> {
    with_code(pc, |code| code.pc_kind(pc))
}

/// `name` with control characters escaped: names come from the module
/// (any UTF-8, NUL included), and tools' formats (ELF strings, perf map
/// lines) cannot hold them.
fn escape_controls(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// The exception handlers of the call whose return address is
/// `return_address`, if that call has any.
pub fn lookup_call_site(return_address: usize) -> Option<ExceptionSite> {
    with_code(return_address, |code| code.call_site(return_address))
}

/// A call site's handlers, with absolute addresses.
#[derive(Debug)]
pub struct ExceptionSite {
    /// Frame pointer minus stack pointer at the call.
    pub frame_offset: usize,
    /// Where the frame's vmctx is, from the stack pointer at the call.
    pub vmctx_sp_offset: usize,
    /// (module tag index or `None` for catch-all, handler address), in
    /// the order they are tried.
    pub handlers: Vec<(Option<u32>, usize)>,
}

/// Number of registered code objects (for leak tests).
pub fn registered_code_objects() -> usize {
    registry().read().unwrap_or_else(|e| e.into_inner()).len()
}

fn libcall_address(libcall: LibCall) -> usize {
    extern "C" fn ceil_f32(x: f32) -> f32 {
        x.ceil()
    }
    extern "C" fn ceil_f64(x: f64) -> f64 {
        x.ceil()
    }
    extern "C" fn floor_f32(x: f32) -> f32 {
        x.floor()
    }
    extern "C" fn floor_f64(x: f64) -> f64 {
        x.floor()
    }
    extern "C" fn trunc_f32(x: f32) -> f32 {
        x.trunc()
    }
    extern "C" fn trunc_f64(x: f64) -> f64 {
        x.trunc()
    }
    extern "C" fn nearest_f32(x: f32) -> f32 {
        x.round_ties_even()
    }
    extern "C" fn nearest_f64(x: f64) -> f64 {
        x.round_ties_even()
    }
    extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    match libcall {
        LibCall::CeilF32 => ceil_f32 as *const () as usize,
        LibCall::CeilF64 => ceil_f64 as *const () as usize,
        LibCall::FloorF32 => floor_f32 as *const () as usize,
        LibCall::FloorF64 => floor_f64 as *const () as usize,
        LibCall::TruncF32 => trunc_f32 as *const () as usize,
        LibCall::TruncF64 => trunc_f64 as *const () as usize,
        LibCall::NearestF32 => nearest_f32 as *const () as usize,
        LibCall::NearestF64 => nearest_f64 as *const () as usize,
        LibCall::FmaF32 => fma_f32 as *const () as usize,
        LibCall::FmaF64 => fma_f64 as *const () as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn symbol_names_escape_control_characters() {
        assert_eq!(escape_controls("a\0b\nc"), "a\\u{0}b\\nc");
        assert_eq!(escape_controls("naïve ☃"), "naïve ☃");
    }
}
