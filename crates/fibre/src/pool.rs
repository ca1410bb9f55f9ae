//! [`StackPool`]: allocation and reuse of continuation stacks.

use crate::mmap::{Mmap, Protection, page_size};
use crate::trampoline::StackTop;
use fxtime_environ::vm::VMControlContext;
use std::io;
use std::mem::size_of;

/// Stack kept below a continuation's wasm stack limit for host code (host
/// functions, libcalls) and the trap landing. Only what host code touches
/// costs memory.
pub const HOST_HEADROOM: usize = 256 * 1024;

/// Stacks lie a multiple of the page size apart, so without care the hot
/// top of every stack (header, control context, first frames) would fall
/// into the same cache sets, and a program that runs thousands of
/// continuations in turn would evict its own lines constantly. Each stack
/// therefore starts below its top by a different color: 0 to
/// `LINE_COLORS - 1` cache lines plus 0 to `PAGE_COLORS - 1` pages. The
/// pages are address space only, added to every stack's size. 48 line
/// colors spread the tops over all the sets of a page's lines (the first
/// frames lie below the header), and the lowest header still ends
/// `TOP_PAGE_FLOOR` bytes above its page's start: with the runtime's
/// 320-byte header, 768 bytes for the first frames, so that the hot top
/// of a continuation still fits one page (and one page of memory).
const LINE_COLORS: usize = 48;
const PAGE_COLORS: usize = 32;

/// Where the end of the lowest header lies in its page (see
/// `LINE_COLORS`).
const TOP_PAGE_FLOOR: usize = 4096 - (LINE_COLORS - 1) * CACHE_LINE;

/// The biggest header a pool keeps at the top of its stacks.
const MAX_HEADER: usize = 1024;

// Even the biggest header with the most line color stays in the top page,
// so the page colors' room (`StackPool::stride`) holds every color.
const _: () = assert!(TOP_PAGE_FLOOR >= MAX_HEADER);

/// Stacks handed out one after the other (likely used together) get line
/// colors this many lines apart, about 1 KiB, not one line: the hot tops
/// of two such stacks then never lie at the same offsets within their
/// pages, where a store to one holds up a later load from the other that
/// matches it in the low 12 address bits (4K aliasing). Two continuations
/// switching to each other ran 20% slower with neighbouring colors.
/// Coprime with `LINE_COLORS`, so that the colors of `LINE_COLORS` stacks
/// in a row are all different.
const LINE_COLOR_STEP: usize = 17;

/// Bytes in a cache line: the unit of the colors and of header alignment.
const CACHE_LINE: usize = 64;

/// Most stacks one chunk holds; chunks double from 16 up to this.
const MAX_CHUNK_STACKS: usize = 1024;

/// A stack handed out by a [`StackPool`]: an address range, valid until it
/// is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiberStack {
    top: usize,
    limit: usize,
    /// Bytes between the top and the header: a different amount for
    /// neighbouring stacks (see `LINE_COLORS`).
    color: usize,
    /// Bytes at the top kept for the pool's user (see
    /// [`StackPool::with_header`]), its [`StackTop`] first.
    header_size: usize,
}

impl FiberStack {
    /// The highest address (exclusive) of the stack.
    #[inline]
    pub fn top(&self) -> usize {
        self.top
    }

    /// The lowest address wasm code on this stack may use; below it is the
    /// host headroom, then the guard.
    #[inline]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The header: `header_size` bytes at the top, below the stack's
    /// color, 64-aligned (a cache line), starting with the stack's
    /// [`StackTop`]. It stays as it was left while the stack is free, and
    /// keeps its contents for as long as the pool lives (nothing discards
    /// its page).
    #[inline]
    pub fn header(&self) -> *mut u8 {
        (self.top - self.color - self.header_size) as *mut u8
    }

    /// The stack's own control context: the start of the header (its
    /// [`StackTop`]).
    #[inline]
    pub fn control_context(&self) -> *mut VMControlContext {
        self.header().cast()
    }

    /// The initial stack pointer: the header's address; the start
    /// trampoline's frame is the [`StackTop`] itself, and the stack grows
    /// down from there.
    #[inline]
    pub fn initial_stack_pointer(&self) -> usize {
        self.header() as usize
    }

    /// Prepares the stack to run the start trampoline on the next switch to
    /// it, which calls the function at address `entry` (see
    /// [`StackTop::start_context`]).
    ///
    /// # Safety
    ///
    /// The stack must not be running or suspended mid-computation.
    #[inline]
    pub unsafe fn prepare_start(&self, entry: usize) {
        let context = StackTop::start_context(self.initial_stack_pointer(), entry);
        // SAFETY: the control context lies inside this stack, which per the
        // contract nobody else uses.
        unsafe { self.control_context().write(context) };
    }
}

/// Hands out continuation stacks of one size. They stay mapped while the
/// pool lives; reusing them is up to their owner (the runtime keeps free
/// stacks in a list threaded through their headers).
#[derive(Debug)]
pub struct StackPool {
    /// Usable bytes per stack (page-aligned).
    stack_size: usize,
    /// Distance between neighbouring stacks: the size and the most color.
    stride: usize,
    guard_size: usize,
    header_size: usize,
    /// Bytes between a stack's base and its limit (`HOST_HEADROOM`, or a
    /// page for a [dense](StackPool::dense) pool).
    headroom: usize,
    /// Page colors in use (`PAGE_COLORS`, or 1: none).
    page_colors: usize,
    /// Whether chunks ask for transparent huge pages.
    huge_pages: bool,
    chunks: Vec<Mmap>,
    /// Stacks made so far, in all chunks: colors continue across chunks.
    made: usize,
    /// Stacks not yet handed out in the newest chunk.
    fresh: Vec<FiberStack>,
}

impl StackPool {
    /// A pool of stacks with at least `stack_size` usable bytes each,
    /// whose headers hold just their [`StackTop`].
    pub fn new(stack_size: usize) -> StackPool {
        StackPool::with_header(stack_size, size_of::<StackTop>())
    }

    /// A pool whose stacks keep `header_size` bytes (at least a
    /// [`StackTop`], which comes first; rounded up to a cache line; at most
    /// 1 KiB) at the top for the user, e.g. the object that owns the stack:
    /// it lives in the page the stack touches anyway, beside the control
    /// context a switch reads, and starts a cache line.
    pub fn with_header(stack_size: usize, header_size: usize) -> StackPool {
        assert!(
            header_size <= MAX_HEADER,
            "a stack header fits in the top page"
        );
        assert!(
            header_size >= size_of::<StackTop>(),
            "a stack header starts with the stack's top record"
        );
        let page = page_size();
        let stack_size = stack_size
            .max(HOST_HEADROOM + 4 * page)
            .next_multiple_of(page);
        StackPool {
            stack_size,
            stride: stack_size + PAGE_COLORS * page,
            guard_size: page,
            header_size: header_size.next_multiple_of(CACHE_LINE),
            headroom: HOST_HEADROOM,
            page_colors: PAGE_COLORS,
            huge_pages: false,
            chunks: Vec::new(),
            made: 0,
            fresh: Vec::new(),
        }
    }

    /// A pool for measuring layouts (`switch-floor`), not for the runtime:
    /// stacks of `stack_size` bytes back to back with no page colors, a
    /// one-page headroom (so no host code may run on them), and, with
    /// `huge_pages`, transparent huge pages asked for.
    pub fn dense(stack_size: usize, header_size: usize, huge_pages: bool) -> StackPool {
        let mut pool = StackPool::with_header(stack_size, header_size);
        let page = page_size();
        pool.stack_size = stack_size.max(2 * page).next_multiple_of(page);
        pool.stride = pool.stack_size;
        pool.headroom = page;
        pool.page_colors = 1;
        pool.huge_pages = huge_pages;
        pool
    }

    /// Usable bytes per stack.
    pub fn stack_size(&self) -> usize {
        self.stack_size
    }

    /// A stack never handed out before: its memory reads as zero.
    pub fn allocate(&mut self) -> io::Result<FiberStack> {
        if self.fresh.is_empty() {
            self.add_chunk()?;
        }
        Ok(self.fresh.pop().expect("a chunk was just added"))
    }

    /// Number of mappings made so far.
    pub fn mappings(&self) -> usize {
        self.chunks.len()
    }

    /// Returns the memory of `stack` below the page that holds its header
    /// to the system: for a stack that may have been used deeply
    /// (a trap, say a stack overflow, ended its continuation), so that its
    /// reuse does not keep those pages resident. The stack stays usable.
    pub fn discard_below_header(&self, stack: FiberStack) -> io::Result<()> {
        let base = stack.top - self.stride;
        let top_page = (stack.header() as usize) & !(page_size() - 1);
        let chunk = self
            .chunks
            .iter()
            .find(|c| (c.as_ptr() as usize..c.as_ptr() as usize + c.len()).contains(&base))
            .expect("a stack belongs to a chunk");
        chunk.discard(base - chunk.as_ptr() as usize, top_page - base)
    }

    fn add_chunk(&mut self) -> io::Result<()> {
        let count = (16 << self.chunks.len().min(6)).min(MAX_CHUNK_STACKS);
        // A guard page below the lowest stack, then the stacks back to back:
        // one read-write range per chunk. A guard per stack would cost two
        // kernel mappings per stack, and the kernel's limit on mappings
        // (65,530 by default) would then cap live continuations at about
        // 32,000. Wasm code never runs past a stack's limit (every
        // prologue checks it), and host code gets the headroom below it.
        let chunk = Mmap::reserve(self.guard_size + self.stride * count)?;
        chunk.protect(self.guard_size, self.stride * count, Protection::ReadWrite)?;
        if self.huge_pages {
            chunk.advise_huge_pages()?;
        }
        for i in 0..count {
            let base = chunk.as_ptr() as usize + self.guard_size + i * self.stride;
            let n = self.made + i;
            let color = (n * LINE_COLOR_STEP % LINE_COLORS) * CACHE_LINE
                + (n / LINE_COLORS % self.page_colors) * page_size();
            self.fresh.push(FiberStack {
                top: base + self.stride,
                limit: base + self.headroom,
                color,
                header_size: self.header_size,
            });
        }
        self.made += count;
        // Hand out low addresses first.
        self.fresh.reverse();
        self.chunks.push(chunk);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_stacks_lie_back_to_back_with_a_page_of_headroom() {
        let mut pool = StackPool::dense(16 * 1024, size_of::<StackTop>(), true);
        let stacks: Vec<_> = (0..20).map(|_| pool.allocate().unwrap()).collect();
        for pair in stacks.windows(2) {
            // Chunks hand out low addresses first; the first chunk holds 16.
            if pair[1].top() > pair[0].top() {
                assert_eq!(pair[1].top() - pair[0].top(), 16 * 1024);
            }
        }
        for stack in &stacks {
            assert_eq!(stack.top() - stack.limit(), 16 * 1024 - page_size());
            assert!(stack.limit() < stack.initial_stack_pointer());
            // SAFETY: the lowest word lies inside the stack's read-write range.
            unsafe { ((stack.top() - pool.stack_size()) as *mut usize).write(1) };
        }
    }

    #[test]
    fn stacks_are_disjoint_aligned_and_writable() {
        let mut pool = StackPool::new(128 * 1024);
        let stacks: Vec<_> = (0..40).map(|_| pool.allocate().unwrap()).collect();
        for (i, a) in stacks.iter().enumerate() {
            assert_eq!(a.initial_stack_pointer() % 64, 0);
            assert!(a.limit() < a.initial_stack_pointer());
            for b in &stacks[i + 1..] {
                let (a_base, b_base) = (a.top() - pool.stack_size(), b.top() - pool.stack_size());
                assert!(
                    a.top() <= b_base || b.top() <= a_base,
                    "{a:?} overlaps {b:?}"
                );
            }
            // SAFETY: both words lie inside the stack's read-write range.
            unsafe {
                (*a.control_context()).instruction_pointer = i;
                ((a.top() - pool.stack_size()) as *mut usize).write(i);
            }
        }
    }

    #[test]
    fn stack_tops_are_spread_over_a_page_and_kept_apart_in_a_row() {
        let mut pool = StackPool::with_header(128 * 1024, 256);
        let stacks: Vec<_> = (0..2 * LINE_COLORS)
            .map(|_| pool.allocate().unwrap())
            .collect();
        let page = page_size();
        let offsets: Vec<usize> = stacks.iter().map(|s| s.header() as usize % page).collect();
        for pair in offsets.windows(2) {
            // Far enough apart that a header and the frames below it do not
            // share page offsets with the neighbour's (4K aliasing).
            assert!(pair[0].abs_diff(pair[1]) >= 15 * CACHE_LINE, "{pair:x?}");
        }
        // Every line color once per `LINE_COLORS` stacks, each header with
        // room for the first frames below it in its page.
        let mut colors = offsets[..LINE_COLORS].to_vec();
        colors.sort();
        colors.dedup();
        assert_eq!(colors.len(), LINE_COLORS);
        assert_eq!(offsets.iter().min(), Some(&(TOP_PAGE_FLOOR - 256)));
    }

    #[test]
    fn chunks_grow_and_discarded_stacks_keep_their_headers() {
        let mut pool = StackPool::with_header(64 * 1024, 100);
        let stacks: Vec<_> = (0..100).map(|_| pool.allocate().unwrap()).collect();
        // 16 + 32 + 64 stacks: three chunks for a hundred stacks.
        assert_eq!(pool.mappings(), 3);
        let size = pool.stack_size();
        for stack in &stacks {
            // A header of two cache lines, one page, never discarded.
            assert_eq!(stack.control_context() as usize, stack.header() as usize);
            assert_eq!(stack.header() as usize % 64, 0);
            let page_of = |address: usize| address & !(page_size() - 1);
            assert_eq!(
                page_of(stack.header() as usize),
                page_of(stack.header() as usize + 127)
            );
            // SAFETY: the header and the lowest word lie inside the stack.
            unsafe {
                *stack.header().add(64).cast::<u64>() = 7;
                *((stack.top() - size) as *mut u64) = 9;
            }
            pool.discard_below_header(*stack).unwrap();
        }
        let again = stacks[42];
        // SAFETY: as above. Discarded memory reads as zero; headers stay.
        unsafe {
            assert_eq!(*((again.top() - size) as *const u64), 0);
            assert_eq!(*again.header().add(64).cast::<u64>(), 7);
        }
    }
}
