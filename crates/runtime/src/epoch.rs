//! A store's epoch deadline, shared with its engine, and the interrupt
//! words that generated code tests.
//!
//! Each instance has its word in its vmctx header
//! (`VMContextHeader::interrupt`), so an epoch check is one compare of
//! memory at a fixed offset from the vmctx with zero, and a branch: no
//! pointer to load first. The store registers the word of every instance
//! it creates here; the engine raises all of them when it advances the
//! epoch to the deadline, and the store lowers them when it sets a new
//! deadline. One lock orders the raising, the lowering and the
//! registering, so a new instance starts with what the others say.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The deadline and the words it raises.
#[derive(Debug)]
pub struct EpochState {
    /// The epoch at which wasm of the store is to stop.
    deadline: AtomicU64,
    words: Mutex<Words>,
}

#[derive(Debug, Default)]
struct Words {
    /// What every word says: the deadline was reached (possibly
    /// spuriously: the interrupt's landing checks again).
    raised: bool,
    /// Addresses of the registered words.
    addresses: Vec<usize>,
}

impl Default for EpochState {
    fn default() -> Self {
        EpochState {
            deadline: AtomicU64::new(u64::MAX),
            words: Mutex::default(),
        }
    }
}

impl EpochState {
    /// The epoch at which wasm is to stop.
    pub fn deadline(&self) -> u64 {
        self.deadline.load(Ordering::SeqCst)
    }

    pub(crate) fn set_deadline(&self, deadline: u64) {
        self.deadline.store(deadline, Ordering::SeqCst);
    }

    /// Raises every word: wasm is interrupted at its next check.
    pub fn raise(&self) {
        self.set_words(true);
    }

    /// Raises or lowers every word. Every registered word always says
    /// what `raised` says, so there is nothing to write when it already
    /// does (the engine raises again at every increment past a deadline).
    pub(crate) fn set_words(&self, raised: bool) {
        let mut words = self.words();
        if words.raised == raised {
            return;
        }
        words.raised = raised;
        for &address in &words.addresses {
            // SAFETY: registered words stay valid until `forget_words`,
            // which takes this lock (the contract of `watch`).
            unsafe { (*(address as *const AtomicU64)).store(u64::from(raised), Ordering::SeqCst) };
        }
    }

    /// Registers an instance's word, setting it to what the others say.
    ///
    /// # Safety
    ///
    /// `word` must stay valid until [`forget_words`](Self::forget_words).
    pub(crate) unsafe fn watch(&self, word: *const AtomicU64) {
        let mut words = self.words();
        // SAFETY: valid, per the contract.
        unsafe { (*word).store(u64::from(words.raised), Ordering::SeqCst) };
        words.addresses.push(word as usize);
    }

    /// Forgets every word, before the instances holding them are freed;
    /// the engine may still hold this state for a moment.
    pub(crate) fn forget_words(&self) {
        self.words().addresses.clear();
    }

    fn words(&self) -> MutexGuard<'_, Words> {
        // The words are plain data, intact after a panic elsewhere.
        self.words
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
