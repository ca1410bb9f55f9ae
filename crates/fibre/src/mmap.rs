//! Owned anonymous memory mappings.

use std::io;
use std::ptr::NonNull;

/// An anonymous private mapping, unmapped on drop. It starts inaccessible;
/// parts are made accessible with [`Mmap::protect`].
#[derive(Debug)]
pub struct Mmap {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access to its
// contents is synchronized by whoever holds the `Mmap`.
unsafe impl Send for Mmap {}
// SAFETY: as above; `&Mmap` only exposes the address and length.
unsafe impl Sync for Mmap {}

/// Page protections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Inaccessible.
    None,
    /// Readable.
    ReadOnly,
    /// Readable and writable.
    ReadWrite,
    /// Readable and executable.
    ReadExecute,
}

impl Protection {
    fn flags(self) -> libc::c_int {
        match self {
            Protection::None => libc::PROT_NONE,
            Protection::ReadOnly => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
        }
    }
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

impl Mmap {
    /// Reserves `len` bytes (rounded up to pages) of inaccessible address
    /// space, backed by no memory until made accessible.
    pub fn reserve(len: usize) -> io::Result<Mmap> {
        let len = len.div_ceil(page_size()) * page_size();
        if len == 0 {
            return Ok(Mmap {
                base: NonNull::dangling(),
                len: 0,
            });
        }
        // SAFETY: an anonymous mapping at an address of the kernel's choice
        // touches no existing memory.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast()).ok_or_else(io::Error::last_os_error)?;
        Ok(Mmap { base, len })
    }

    /// Maps `len` bytes of `file` from `offset` (a multiple of the page
    /// size) privately, with `protection`: writes, where allowed, make
    /// private copies of pages and never reach the file. Pages of the file
    /// that are never written are shared with the page cache.
    pub fn map_file(
        file: &std::fs::File,
        offset: u64,
        len: usize,
        protection: Protection,
    ) -> io::Result<Mmap> {
        use std::os::fd::AsRawFd;
        if len == 0 {
            return Ok(Mmap {
                base: NonNull::dangling(),
                len: 0,
            });
        }
        let offset = libc::off_t::try_from(offset).map_err(io::Error::other)?;
        // SAFETY: a new private mapping at an address of the kernel's
        // choice touches no existing memory; the kernel checks the file
        // descriptor, the offset's alignment and the length.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                protection.flags(),
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast()).ok_or_else(io::Error::last_os_error)?;
        let len = len.div_ceil(page_size()) * page_size();
        Ok(Mmap { base, len })
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Length of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets the protection of `len` bytes at `offset` (both page-aligned).
    pub fn protect(&self, offset: usize, len: usize, protection: Protection) -> io::Result<()> {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping (asserted above), so
        // changing its protection affects no memory owned by anyone else.
        let rc =
            unsafe { libc::mprotect(self.as_ptr().add(offset).cast(), len, protection.flags()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Returns `len` bytes at `offset` to the kernel: they read as zero and
    /// keep their protection.
    pub fn discard(&self, offset: usize, len: usize) -> io::Result<()> {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        self.advise(offset, len, libc::MADV_DONTNEED)
    }

    /// Asks the kernel to back the mapping with transparent huge pages
    /// where it can (`MADV_HUGEPAGE`): fewer TLB entries for memory touched
    /// densely, at the cost of a 2 MiB page for any touch of its range.
    pub fn advise_huge_pages(&self) -> io::Result<()> {
        self.advise(0, self.len, libc::MADV_HUGEPAGE)
    }

    /// `madvise(advice)` on `len` bytes at `offset`, which lie inside the
    /// mapping; `advice` is one that only drops contents (they read as
    /// zero) or changes how the kernel backs them.
    fn advise(&self, offset: usize, len: usize, advice: libc::c_int) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping; per the contract the
        // advice affects no memory owned by anyone else.
        let rc = unsafe { libc::madvise(self.as_ptr().add(offset).cast(), len, advice) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: the mapping was created by `reserve` or `map_file` with
        // this length (rounded to pages) and nothing refers into it once
        // its owner is dropped.
        let rc = unsafe { libc::munmap(self.as_ptr().cast(), self.len) };
        debug_assert_eq!(rc, 0, "munmap failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_protect_and_write() {
        let map = Mmap::reserve(3 * page_size()).unwrap();
        map.protect(page_size(), page_size(), Protection::ReadWrite)
            .unwrap();
        // SAFETY: the second page was just made writable.
        unsafe { map.as_ptr().add(page_size()).write(7) };
        map.discard(page_size(), page_size()).unwrap();
        // SAFETY: still readable; discarded pages read as zero.
        assert_eq!(unsafe { map.as_ptr().add(page_size()).read() }, 0);
    }
}
