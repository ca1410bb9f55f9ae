//! Async calls (`Config::async_support`): wasm that waits on host futures
//! without blocking a thread.
//!
//! An async call runs the ordinary, synchronous call on a fiber: a stack
//! from the engine's pool ([`fxtime_runtime::fiber`]). The call's future
//! resumes the fiber on every poll, passing the poll's `Context`. An async
//! host function polls its future with that `Context`; while the future is
//! pending it suspends the fiber, from wherever wasm called it (perhaps
//! from a continuation several resumes deep: the whole chain waits on its
//! stacks), and the call's future returns `Pending`. The next poll, on any
//! thread, continues right there.
//!
//! A call future dropped while its fiber waits cancels the fiber: the
//! pending host function fails, which unwinds wasm like any host error
//! (giving back the continuations of the chain), and the fiber's stack
//! goes back to the pool.

use crate::store::{StoreContextMut, StoreInner};
use crate::{AsContextMut, Engine, Func, Instance, Linker, Module, TypedFunc, Val};
use crate::{WasmParams, WasmResults};
use anyhow::{Result, bail};
use fxtime_runtime::fiber::{self, Fiber, Resumed};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The message of the error a host function sees when its call's future
/// was dropped while it waited.
const DROPPED: &str = "the async call was dropped while it waited";

/// A future that runs a closure on a fiber.
struct OnFiber<R> {
    fiber: Option<Fiber>,
    /// Where the closure leaves its result (boxed: the fiber writes it
    /// through a pointer, wherever the future moves).
    result: Box<Option<Result<R>>>,
    engine: Engine,
}

/// A pointer the fiber's closure may carry to another thread.
struct SendPtr<P>(*mut P);

// SAFETY: it points at the result slot of the future that owns the fiber;
// only the fiber writes it, while the future waits in `poll` or `drop`.
unsafe impl<P: Send> Send for SendPtr<P> {}

/// Runs `body` with the store on a fiber; the future completes with its
/// result.
fn on_fiber<'a, T: Send + 'a, R: Send + 'a>(
    store: &'a mut StoreInner<T>,
    body: impl FnOnce(&mut StoreInner<T>) -> Result<R> + Send + 'a,
) -> impl Future<Output = Result<R>> + Send + 'a {
    let engine = store.engine.clone();
    let prepared = engine.take_async_stack().map(|stack| {
        let mut result = Box::new(None);
        let slot = SendPtr(&mut *result as *mut Option<Result<R>>);
        let run = move || {
            let slot = slot;
            // SAFETY: the slot lives in the box the future owns, which
            // outlives the fiber (the future finishes or cancels the fiber
            // before it is dropped).
            unsafe { *slot.0 = Some(body(store)) };
        };
        // SAFETY: the stack is the fiber's alone until it is given back
        // below, after the fiber finished; the closure borrows the store
        // for 'a, which the returned future holds on to.
        let fiber = unsafe { Fiber::new(stack, Box::new(run)) };
        OnFiber {
            fiber: Some(fiber),
            result,
            engine: engine.clone(),
        }
    });
    async move { prepared?.await }
}

impl<R> OnFiber<R> {
    /// Ends the fiber (cancelling it if it is suspended) and gives its
    /// stack back.
    fn release(&mut self) {
        if let Some(stack) = self.fiber.take().and_then(Fiber::into_stack) {
            self.engine.give_back_async_stack(stack);
        }
    }
}

impl<R> Future for OnFiber<R> {
    type Output = Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let this = &mut *self;
        let Some(fiber) = this.fiber.as_mut() else {
            panic!("an async call's future was polled after it completed");
        };
        let cx: *mut Context<'_> = cx;
        match fiber.resume(cx.cast()) {
            Resumed::Suspended => Poll::Pending,
            Resumed::Finished => {
                this.release();
                Poll::Ready(
                    this.result
                        .take()
                        .unwrap_or_else(|| Err(anyhow::anyhow!("the async call did not finish"))),
                )
            }
        }
    }
}

impl<R> Drop for OnFiber<R> {
    fn drop(&mut self) {
        self.release();
    }
}

/// The `Context` of the poll that runs the current async call; `what`
/// names what needed it, in the error off an async call.
fn poll_context(what: &str) -> Result<*mut Context<'static>> {
    if fiber::cancelled() {
        bail!(DROPPED);
    }
    match fiber::current_data() {
        Some(cx) if !cx.is_null() => Ok(cx.cast()),
        _ => bail!("{what} outside an async call (use Func::call_async or TypedFunc::call_async)"),
    }
}

/// Suspends the current async call until its future is polled again.
fn suspend() -> Result<()> {
    fiber::suspend().map_err(|_| anyhow::anyhow!(DROPPED))
}

/// Runs `future` to completion from a host function called by wasm on an
/// async call's fiber: polls it with the call's `Context`, suspending the
/// fiber while it is pending.
pub(crate) fn block_on<F: Future + ?Sized>(mut future: Pin<&mut F>) -> Result<F::Output> {
    loop {
        let cx = poll_context("an async host function was called")?;
        // SAFETY: the fiber's resumer, `OnFiber::poll`, passed its
        // `Context`, alive until the fiber suspends or finishes.
        if let Poll::Ready(value) = future.as_mut().poll(unsafe { &mut *cx }) {
            return Ok(value);
        }
        suspend()?;
    }
}

/// Suspends the running async call once, to let the executor run other
/// tasks: wakes the call's task at once, so that it is polled again soon.
pub(crate) fn yield_now() -> Result<()> {
    let cx = poll_context("wasm yielded")?;
    // SAFETY: as in `block_on`.
    unsafe { (*cx).waker().wake_by_ref() };
    suspend()
}

impl Func {
    /// Calls the function as [`Func::call`] does, on a stack of its own, so
    /// that async host functions it reaches can wait without blocking the
    /// thread (needs `Config::async_support`). The future may move
    /// between threads between polls; dropped before it completes, it ends
    /// the call and gives back every stack it held.
    pub async fn call_async(
        &self,
        mut store: impl AsContextMut<Data: Send>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        let func = *self;
        on_fiber(store, move |store| {
            func.call(StoreContextMut(store), params, results)
        })
        .await
    }
}

impl<P: WasmParams + Send, R: WasmResults + Send> TypedFunc<P, R> {
    /// Calls the function as [`Func::call_async`] does.
    pub async fn call_async(
        &self,
        mut store: impl AsContextMut<Data: Send>,
        params: P,
    ) -> Result<R> {
        let store = store.as_context_mut().0;
        let func = self.func();
        let params = params.into_vals();
        on_fiber(store, move |store| {
            let mut results: Vec<Val> = R::types().map(Val::default_for).collect();
            func.call(StoreContextMut(store), &params, &mut results)?;
            Ok(R::from_vals(&results))
        })
        .await
    }
}

impl<T: Send + 'static> Linker<T> {
    /// Instantiates `module` as [`Linker::instantiate`] does, running its
    /// start function as an async call (needs `Config::async_support`).
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        on_fiber(store, move |store| {
            self.instantiate(StoreContextMut(store), module)
        })
        .await
    }
}
