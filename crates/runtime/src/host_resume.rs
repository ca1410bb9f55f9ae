//! The host as a handler: resuming a continuation from Rust.
//!
//! A host resume does what a `resume` in generated code does
//! (`fxtime_wasmfx::emit::resume`), with the switch made by
//! [`fxtime_fibre::switch`]: the continuation's parent is the host entry's
//! stand-in, its handlers the host's tags, and control comes back to the
//! host when the chain returns, throws out, or suspends to one of those
//! tags. A suspension to another tag finds no handler at the stand-in and
//! traps "unhandled tag", as it does for any host entry.

use crate::continuations::{AllocationError, Continuations};
use crate::traps::{Unwound, catch_traps};
use fxtime_environ::vm::{
    LEADING_SUSPEND_CLAUSES, PENDING_REVISION, TRANSFER_RETURN, TRANSFER_SUSPEND, TRANSFER_THROW,
    VMContRef, VMHandlerList, VMStoreContext, VMTagDefinition,
};
use std::mem::size_of;

/// The clauses of a host resume: a [`VMHandlerList`] followed by its tags.
pub struct HostHandlers {
    words: Box<[usize]>,
}

impl HostHandlers {
    /// Handles suspensions to `tags` (tag addresses), clause `i` for tag
    /// `i`.
    pub fn new(tags: &[*const VMTagDefinition]) -> HostHandlers {
        let header = size_of::<VMHandlerList>() / size_of::<usize>();
        let mut words = vec![0usize; header + tags.len()].into_boxed_slice();
        let list = VMHandlerList {
            leading_suspend_tags: std::array::from_fn(|k| {
                tags.get(k).copied().unwrap_or(std::ptr::null())
            }),
            leading_switch_tag: std::ptr::null(),
            suspend_count: tags.len() as u64,
            switch_count: 0,
        };
        // SAFETY: the words have room for the header, and a `usize` slice
        // is aligned for it (a list of pointers and counts).
        unsafe { words.as_mut_ptr().cast::<VMHandlerList>().write(list) };
        for (word, tag) in words[header..].iter_mut().zip(tags) {
            *word = *tag as usize;
        }
        HostHandlers { words }
    }

    fn list(&self) -> *const VMHandlerList {
        self.words.as_ptr().cast()
    }
}

// The header is a whole number of words, so the tags follow it directly.
const _: () = assert!(size_of::<VMHandlerList>() == (LEADING_SUSPEND_CLAUSES + 3) * 8);

/// How a host resume came back.
#[derive(Debug)]
pub enum HostResumed {
    /// The chain returned these results; its object went back to the
    /// store's free list.
    Returned(Vec<u128>),
    /// The chain suspended to the host's clause `clause`: the payload is in
    /// the values of `root`, the suspended chain's root, which the host
    /// may resume later (at its current revision).
    Suspended {
        /// Index of the tag among the host's.
        clause: usize,
        /// The root of the suspended chain.
        root: *mut VMContRef,
    },
}

/// Why a host resume could not run the continuation.
#[derive(Debug)]
pub enum HostResumeError {
    /// The reference was used before (or its continuation ended).
    Consumed,
    /// The chain trapped or threw out; its stacks went back to the store.
    Unwound(Unwound),
    /// A pending continuation got no stack.
    NoStack(AllocationError),
}

/// Resumes the continuation `cont` (a reference at `revision`) with
/// `args`, its arguments, under `handlers`; it returns `results` values.
///
/// # Safety
///
/// `store` must be the live context of the store that owns `cont`, used
/// on this thread, and `args` must match the continuation's parameter
/// types as wasm would pass them.
pub unsafe fn resume(
    store: *mut VMStoreContext,
    max_wasm_stack: usize,
    mut cont: *mut VMContRef,
    revision: u64,
    args: &[u128],
    results: usize,
    handlers: &HostHandlers,
) -> Result<HostResumed, HostResumeError> {
    // SAFETY: per the contract, `cont` is an object of the store's
    // continuations (objects are never freed while the store lives).
    unsafe {
        if (*cont).revision != revision {
            return Err(HostResumeError::Consumed);
        }
        (*cont).revision += 1;
        let continuations = &mut *(*store).continuations.cast::<Continuations>();
        if revision & PENDING_REVISION != 0 {
            cont = continuations
                .take_stack(cont)
                .map_err(HostResumeError::NoStack)?;
        }
        continuations.reserve(cont, args.len());
        store_values(cont, args);
    }
    let mut root: *mut VMContRef = std::ptr::null_mut();
    let root_slot = &mut root as *mut *mut VMContRef;
    let list = handlers.list();
    // SAFETY: the store is live; the closure keeps nothing with a
    // destructor across the switch. `cont` is fresh or suspended with its
    // buffer filled, and the switch mirrors generated code's `resume`:
    // whatever comes back made the stand-in current again.
    let entered = unsafe {
        catch_traps(store, max_wasm_stack, || {
            let context = &mut *store;
            (*cont).handlers = list;
            (*cont).parent = context.current_continuation;
            let innermost = (*cont).innermost;
            context.current_continuation = innermost;
            context.stack_limit = (*innermost).stack_limit;
            let back = fxtime_fibre::switch(
                &raw mut (*cont).resumer,
                &raw const (*cont).context,
                cont as usize,
            );
            *root_slot = back as *mut VMContRef;
        })
    };
    entered.map_err(HostResumeError::Unwound)?;
    // SAFETY: `root` is the object of the chain that came back, whose
    // `transfer` says why; a chain that ended runs no more on its stack.
    unsafe {
        let transfer = (*root).transfer;
        if transfer >= TRANSFER_SUSPEND {
            return Ok(HostResumed::Suspended {
                clause: (transfer - TRANSFER_SUSPEND) as usize,
                root,
            });
        }
        let ended = if transfer == TRANSFER_THROW {
            let exception = take_values(root, 1)[0] as usize;
            Err(HostResumeError::Unwound(Unwound::Exception(exception)))
        } else {
            debug_assert_eq!(transfer, TRANSFER_RETURN);
            Ok(HostResumed::Returned(take_values(root, results)))
        };
        (*(*store).continuations.cast::<Continuations>()).release(root);
        ended
    }
}

/// Stores a list of values in the buffer of `cont`, as generated code does
/// (value `i` of `n` in slot `n - 1 - i`).
///
/// # Safety
///
/// `cont` must be live, with a buffer of at least `values.len()` slots.
unsafe fn store_values(cont: *mut VMContRef, values: &[u128]) {
    let n = values.len();
    for (i, value) in values.iter().enumerate() {
        // SAFETY: per the contract.
        unsafe { *(*cont).values.add(n - 1 - i) = *value };
    }
}

/// Takes a list of `count` values from the buffer of `cont` (see
/// [`store_values`]), in order.
///
/// # Safety
///
/// `cont` must be live, its buffer holding such a list.
pub unsafe fn take_values(cont: *mut VMContRef, count: usize) -> Vec<u128> {
    // SAFETY: per the contract.
    (0..count)
        .map(|i| unsafe { *(*cont).values.add(count - 1 - i) })
        .collect()
}
