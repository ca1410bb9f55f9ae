//! Registration of generated code's `.eh_frame` with the system unwinder
//! (libgcc's `__register_frame`), so `_Unwind_Backtrace`, gdb and perf can
//! walk wasm frames.

use std::sync::atomic::{AtomicUsize, Ordering};

unsafe extern "C" {
    fn __register_frame(eh_frame: *const u8);
    fn __deregister_frame(eh_frame: *const u8);
}

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// A registered `.eh_frame` section; deregistered on drop.
#[derive(Debug)]
pub struct UnwindRegistration {
    eh_frame: Box<[u8]>,
}

impl UnwindRegistration {
    /// Registers `eh_frame`: a whole section (CIEs and FDEs) ending with a
    /// zero terminator.
    ///
    /// # Safety
    ///
    /// The section must be well formed and describe code that stays mapped
    /// until the registration is dropped.
    pub unsafe fn new(eh_frame: Vec<u8>) -> UnwindRegistration {
        let eh_frame = eh_frame.into_boxed_slice();
        // SAFETY: per the contract; the bytes live in the returned value,
        // which deregisters them before freeing them.
        unsafe { __register_frame(eh_frame.as_ptr()) };
        LIVE.fetch_add(1, Ordering::Relaxed);
        UnwindRegistration { eh_frame }
    }
}

impl Drop for UnwindRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `new` with this very pointer.
        unsafe { __deregister_frame(self.eh_frame.as_ptr()) };
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Number of unwind registrations alive in this process (for leak tests).
pub fn live_registrations() -> usize {
    LIVE.load(Ordering::Relaxed)
}
