//! Host fibers: Rust code run on a pooled stack that can stop midway
//! ([`suspend`]) and be continued later ([`Fiber::resume`]), on any
//! thread. The embedding API runs an async call's wasm on one, so that a
//! pending host future suspends the whole call instead of blocking the
//! thread.
//!
//! A fiber is a stack of the pool with the start trampoline at its bottom
//! (its frames lead into the resumer's, for backtraces and unwinders), and
//! it switches with [`fxtime_fibre::switch`]: into the fiber through its
//! `StackTop`'s own context, out through its resumer context. A
//! suspension may happen deep inside wasm, on the stack of a continuation
//! that the fiber's wasm resumed: the whole chain stays where it is, and
//! the switch out saves only where that stack continues.
//!
//! What ties a thread to the wasm it runs are its activations (the catch
//! points of `crate::traps`). Those a fiber's run pushed are taken off the
//! thread when it suspends and put back on the thread that resumes it.

use crate::traps::{self, DetachedActivations};
use fxtime_fibre::{FiberStack, StackTop};
use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Rust code suspended midway on its own stack.
pub struct Fiber {
    stack: FiberStack,
    state: Box<FiberState>,
}

/// What the fiber and its resumer share. Boxed: the fiber's code finds it
/// through the thread's current fiber, across moves of the `Fiber`.
struct FiberState {
    top: *mut StackTop,
    /// The lowest address wasm may use on the fiber: its stack's limit.
    floor: usize,
    /// The activation the fiber was last resumed from (see
    /// `traps::activation_mark`).
    resumed_from: usize,
    /// The fiber's activations while it is suspended.
    detached: Option<DetachedActivations>,
    body: Option<Box<dyn FnOnce() + Send>>,
    panic: Option<Box<dyn Any + Send>>,
    finished: bool,
    cancelled: bool,
    /// Whatever the resumer passes in, for the fiber's code (the embedding
    /// API passes the executor's `Context` of the current poll).
    data: *mut (),
    /// The fiber current on this thread when this one was resumed.
    outer: *mut FiberState,
}

// SAFETY: a fiber holds its stack's addresses, a body that is `Send`, and
// pointers into its own stacks (its activations), which refer only to what
// the body borrowed. Between resumes nothing of it is tied to a thread:
// `resume` takes its activations off the thread before returning.
unsafe impl Send for Fiber {}

/// How a [`Fiber::resume`] came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// The fiber called [`suspend`]; resume it again later.
    Suspended,
    /// The fiber's code returned.
    Finished,
}

/// The fiber's [`suspend`] came back because the fiber is being dropped
/// ([`Fiber::cancel`]): its code must wind up without suspending again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

thread_local! {
    static CURRENT: Cell<*mut FiberState> = const { Cell::new(std::ptr::null_mut()) };
}

// Never inlined: a fiber's code may continue on another thread after a
// switch, so a thread-local's address must be computed afresh each time.
#[inline(never)]
fn current() -> *mut FiberState {
    CURRENT.with(Cell::get)
}

#[inline(never)]
fn set_current(state: *mut FiberState) {
    CURRENT.with(|c| c.set(state));
}

impl Fiber {
    /// A fiber that will run `body` on `stack` when first resumed.
    ///
    /// # Safety
    ///
    /// `stack` must be a stack nothing else runs on until the fiber is
    /// finished, and whatever `body` borrows must stay valid (and not be
    /// used elsewhere) until then: the fiber erases the lifetime.
    pub unsafe fn new<'a>(stack: FiberStack, body: Box<dyn FnOnce() + Send + 'a>) -> Fiber {
        // SAFETY: the caller keeps what `body` borrows valid until the
        // fiber finishes, which is when `body` is last used.
        let body: Box<dyn FnOnce() + Send> = unsafe { std::mem::transmute(body) };
        // SAFETY: per the contract nothing runs on the stack.
        unsafe { stack.prepare_start(fiber_main as *const () as usize) };
        Fiber {
            stack,
            state: Box::new(FiberState {
                top: stack.header().cast(),
                floor: stack.limit(),
                resumed_from: 0,
                detached: None,
                body: Some(body),
                panic: None,
                finished: false,
                cancelled: false,
                data: std::ptr::null_mut(),
                outer: std::ptr::null_mut(),
            }),
        }
    }

    /// Runs the fiber until it suspends or finishes, with `data` for its
    /// code to find ([`current_data`]). A panic of the fiber's code goes on
    /// here.
    pub fn resume(&mut self, data: *mut ()) -> Resumed {
        assert!(!self.state.finished, "a finished fiber cannot be resumed");
        let state: *mut FiberState = &mut *self.state;
        // SAFETY: `state` is this fiber's, alive while it is; the fiber is
        // fresh or waits in `suspend`, and its activations are alive on its
        // stacks, which nothing else runs on.
        unsafe {
            (*state).data = data;
            (*state).resumed_from = traps::activation_mark();
            if let Some(detached) = (*state).detached.take() {
                traps::attach_activations(detached);
            }
            (*state).outer = current();
            set_current(state);
            let top = (*state).top;
            fxtime_fibre::switch(
                &raw mut (*top).resumer,
                &raw const (*top).context,
                state as usize,
            );
            set_current((*state).outer);
            (*state).data = std::ptr::null_mut();
            (*state).detached = traps::detach_activations_above((*state).resumed_from);
            if let Some(panic) = (*state).panic.take() {
                resume_unwind(panic);
            }
            if (*state).finished {
                Resumed::Finished
            } else {
                Resumed::Suspended
            }
        }
    }

    /// Makes the fiber wind up: a fiber never resumed is finished at once,
    /// without running; a suspended one's [`suspend`] returns
    /// [`Cancelled`] (and is not to be called again), and it is resumed
    /// until it finishes. A panic of its code while winding up is dropped.
    pub fn cancel(&mut self) {
        if self.state.body.take().is_some() {
            self.state.finished = true;
            return;
        }
        self.state.cancelled = true;
        while !self.state.finished {
            let resumed = catch_unwind(AssertUnwindSafe(|| self.resume(std::ptr::null_mut())));
            if resumed.is_err() {
                break;
            }
        }
    }

    /// The stack, once the fiber is finished (or cancelled).
    pub fn into_stack(mut self) -> Option<FiberStack> {
        self.cancel();
        self.state.finished.then_some(self.stack)
    }
}

/// The fiber's first frame above the start trampoline.
extern "C" fn fiber_main(state: usize) -> usize {
    let state = state as *mut FiberState;
    // SAFETY: `resume` passes the fiber's state, alive while it runs.
    let body = unsafe { (*state).body.take() };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Some(body) = body {
            body();
        }
    }));
    // SAFETY: as above; the fiber may have moved threads, but its state is
    // its own.
    unsafe {
        if let Err(panic) = outcome {
            (*state).panic = Some(panic);
        }
        (*state).finished = true;
    }
    // The start trampoline switches to the resumer.
    0
}

/// Whether this thread runs a fiber's code.
pub fn on_fiber() -> bool {
    !current().is_null()
}

/// What the resumer of the running fiber passed in (see
/// [`Fiber::resume`]); `None` off a fiber.
pub fn current_data() -> Option<*mut ()> {
    let state = current();
    // SAFETY: the current fiber's state is alive while it runs.
    (!state.is_null()).then(|| unsafe { (*state).data })
}

/// Whether the running fiber is being cancelled (see [`Fiber::cancel`]).
pub fn cancelled() -> bool {
    let state = current();
    // SAFETY: as above.
    !state.is_null() && unsafe { (*state).cancelled }
}

/// Suspends the running fiber: its resumer's [`Fiber::resume`] returns
/// [`Resumed::Suspended`], and this returns when it is resumed, perhaps
/// on another thread. Off a fiber, or once the fiber is cancelled, it
/// returns [`Cancelled`] at once.
///
/// Everything the fiber's stacks hold stays where it is meanwhile, so the
/// caller must hold nothing that another thread may not see.
pub fn suspend() -> Result<(), Cancelled> {
    let state = current();
    // SAFETY: the current fiber's state is alive while it runs, and its
    // resumer waits in `resume` at its `StackTop`'s resumer context.
    unsafe {
        if state.is_null() || (*state).cancelled {
            return Err(Cancelled);
        }
        let top = (*state).top;
        fxtime_fibre::switch(&raw mut (*top).context, &raw const (*top).resumer, 0);
        if (*state).cancelled {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The stack floor for an entry into wasm from `activation` (see
/// `traps::activation_mark`) if that entry is the running fiber's first.
pub(crate) fn first_entry_floor(activation: usize) -> Option<usize> {
    let state = current();
    // SAFETY: the current fiber's state is alive while it runs.
    (!state.is_null() && unsafe { (*state).resumed_from } == activation)
        .then(|| unsafe { (*state).floor })
}

impl Drop for Fiber {
    fn drop(&mut self) {
        // A suspended fiber's frames hold what its body borrowed.
        self.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn a_fiber_runs_to_its_suspensions_and_a_cancelled_one_winds_up() {
        let mut pool = fxtime_fibre::StackPool::new(256 * 1024);
        let steps = AtomicU32::new(0);
        let body = || {
            steps.fetch_add(1, Ordering::SeqCst);
            while suspend().is_ok() {
                steps.fetch_add(1, Ordering::SeqCst);
            }
            // Cancelled: winds up without suspending again.
            steps.fetch_add(100, Ordering::SeqCst);
        };
        // SAFETY: a fresh stack; `steps` outlives the fiber.
        let mut fiber = unsafe { Fiber::new(pool.allocate().unwrap(), Box::new(body)) };
        assert_eq!(fiber.resume(std::ptr::null_mut()), Resumed::Suspended);
        assert_eq!(fiber.resume(std::ptr::null_mut()), Resumed::Suspended);
        assert_eq!(steps.load(Ordering::SeqCst), 2);
        assert!(fiber.into_stack().is_some());
        assert_eq!(steps.load(Ordering::SeqCst), 102);

        // Never resumed: cancelled without running at all.
        let ran = AtomicU32::new(0);
        // SAFETY: as above.
        let fiber = unsafe {
            Fiber::new(
                pool.allocate().unwrap(),
                Box::new(|| {
                    ran.fetch_add(1, Ordering::SeqCst);
                }),
            )
        };
        assert!(fiber.into_stack().is_some());
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}
