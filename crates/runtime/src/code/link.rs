//! Linking: a module's (or a batch of trampolines') compiled functions laid
//! out at offsets from a base not known yet, with every table moved to
//! those offsets. What a precompiled module stores.

use crate::mmap::Mmap;
use fxtime_environ::{
    CallSite, CompiledFunction, ExceptionHandler, FuncIndex, LibCall, RelocKind, RelocTarget,
    StackMap, TrapKind,
};
use std::io;
use std::ops::Range;

/// Every function's code starts at its chosen offset in a cache line
/// (`CompiledFunction::line_offset`), so that how its loops fall into cache
/// lines and the decoder's windows does not depend on the sizes of the
/// functions before it (hot switching loops ran up to 15% slower or faster
/// with a function added in front at 16-byte alignment).
const FUNCTION_ALIGN: usize = 64;

/// Code linked at offsets from a base not known yet: every function in
/// place, calls between them resolved, every table in offsets from the
/// code's start. What needs the base (absolute addresses, calls to the
/// runtime's routines) is left in `relocations`, with zeros at their sites.
/// This is what a precompiled module stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkedCode {
    /// The code.
    pub image: Vec<u8>,
    /// Its tables.
    pub tables: CodeTables,
}

/// The tables of linked code, in offsets from its start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeTables {
    /// Each function's range in the code.
    pub functions: Vec<Range<usize>>,
    /// Trapping instructions, sorted by offset.
    pub traps: Vec<(usize, TrapKind)>,
    /// (offset, wasm byte offset), sorted: where each wasm instruction's
    /// code starts.
    pub address_map: Vec<(usize, u32)>,
    /// Call sites with exception handlers, sorted by return offset.
    pub call_sites: Vec<CallSite>,
    /// Stack maps of calls, sorted by return offset.
    pub stack_maps: Vec<StackMap>,
    /// Stack maps of stack switches, sorted by offset.
    pub switch_maps: Vec<StackMap>,
    /// Patches that need the base address.
    pub relocations: Vec<BaseRelocation>,
}

/// Linked code already in memory of its own: a private, writable mapping
/// (of a precompiled file) whose first `len` bytes are the code.
#[derive(Debug)]
pub struct MappedCode {
    /// The mapping.
    pub mmap: Mmap,
    /// Bytes of code at its start.
    pub len: usize,
}

/// A place in linked code to patch once the code's address is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseRelocation {
    /// Offset of the patched bytes in the image.
    pub offset: usize,
    /// How to patch them.
    pub kind: RelocKind,
    /// What they refer to.
    pub target: BaseTarget,
    /// Added to the target's address.
    pub addend: i64,
}

/// What a [`BaseRelocation`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseTarget {
    /// An offset in the same code.
    Code(usize),
    /// A math routine of the runtime.
    LibCall(LibCall),
}

impl BaseRelocation {
    /// How many bytes the patch writes.
    pub fn size(&self) -> usize {
        match self.kind {
            RelocKind::Abs8 => 8,
            RelocKind::PcRel4 => 4,
        }
    }
}

/// Links `functions` at offsets from an unknown base. For module code,
/// `num_imported` says how function relocations map to the code (function
/// index minus imports).
pub fn link(functions: &[CompiledFunction], num_imported: usize) -> io::Result<LinkedCode> {
    let mut ranges = Vec::with_capacity(functions.len());
    let mut size = 0usize;
    for f in functions {
        let align = (f.alignment as usize).max(FUNCTION_ALIGN);
        debug_assert!(
            (f.line_offset as usize).is_multiple_of(f.alignment.max(1) as usize)
                && (f.line_offset as usize) < FUNCTION_ALIGN
        );
        let start = size.next_multiple_of(align) + f.line_offset as usize;
        size = start + f.code.len();
        ranges.push(start..size);
    }
    let mut linked = LinkedCode {
        image: vec![0u8; size],
        ..LinkedCode::default()
    };
    for (f, range) in functions.iter().zip(&ranges) {
        linked.image[range.clone()].copy_from_slice(&f.code);
        linked.tables.traps.extend(
            f.traps
                .iter()
                .map(|t| (range.start + t.offset as usize, t.kind)),
        );
        linked.tables.address_map.extend(
            f.address_map
                .iter()
                .map(|(code, wasm)| (range.start + *code as usize, *wasm)),
        );
        let start = range.start as u32;
        let moved = |map: &StackMap| StackMap {
            offset: start + map.offset,
            ..map.clone()
        };
        linked
            .tables
            .stack_maps
            .extend(f.stack_maps.iter().map(moved));
        linked
            .tables
            .switch_maps
            .extend(f.switch_maps.iter().map(moved));
        linked
            .tables
            .call_sites
            .extend(f.call_sites.iter().map(|site| {
                CallSite {
                    return_offset: start + site.return_offset,
                    handlers: site
                        .handlers
                        .iter()
                        .map(|h| ExceptionHandler {
                            offset: start + h.offset,
                            ..*h
                        })
                        .collect(),
                    ..site.clone()
                }
            }));
        for reloc in &f.relocations {
            let site = range.start + reloc.offset as usize;
            let target = match reloc.target {
                RelocTarget::Function(FuncIndex(i)) => {
                    let defined = (i as usize).checked_sub(num_imported);
                    let Some(target) = defined.and_then(|d| ranges.get(d)) else {
                        return Err(io::Error::other("relocation to an unknown function"));
                    };
                    BaseTarget::Code(target.start)
                }
                RelocTarget::LibCall(libcall) => BaseTarget::LibCall(libcall),
            };
            match (reloc.kind, target) {
                // A call within the code does not depend on where it is.
                (RelocKind::PcRel4, BaseTarget::Code(target)) => {
                    let delta = (target as i64 + reloc.addend) - site as i64;
                    let delta = i32::try_from(delta)
                        .map_err(|_| io::Error::other("relocation out of range"))?;
                    linked.image[site..site + 4].copy_from_slice(&delta.to_le_bytes());
                }
                (kind, target) => {
                    let reloc = BaseRelocation {
                        offset: site,
                        kind,
                        target,
                        addend: reloc.addend,
                    };
                    linked.image[site..site + reloc.size()].fill(0);
                    linked.tables.relocations.push(reloc);
                }
            }
        }
    }
    linked.tables.functions = ranges;
    linked.tables.traps.sort_by_key(|t| t.0);
    linked.tables.call_sites.sort_by_key(|s| s.return_offset);
    linked.tables.stack_maps.sort_by_key(|m| m.offset);
    linked.tables.switch_maps.sort_by_key(|m| m.offset);
    Ok(linked)
}
