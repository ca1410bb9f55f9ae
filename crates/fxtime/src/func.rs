//! [`Func`]: calling wasm from the host, and host functions callable from
//! wasm.
//!
//! Every function, wasm or host, is reached through its `VMFuncRef`. The
//! host calls any function through the engine's entry trampoline for its
//! type; wasm calls a host function through the host trampoline, which
//! calls [`host_callback`] with the arguments in an array.

use crate::exception::ThrownException;
use crate::store::{StoreContextMut, StoreId, StoreInner};
use crate::trap::Trap;
use crate::values::check_types;
use crate::{AsContext, AsContextMut, Extern, Val};
use anyhow::{Context, Result};
use fxtime_environ::vm::{VMContextHeader, VMFuncRef, VMHOST_MAGIC, VMHostFuncContext};
use fxtime_environ::{FuncType, TrapKind};
use fxtime_runtime::libcalls::builtins;
use fxtime_runtime::traps::{TrapRecord, Unwound, catch_traps};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// A function of a store: defined by wasm or by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    /// Address of its `VMFuncRef`, owned by the store.
    pub(crate) func_ref: usize,
}

/// The closure behind a host function.
pub(crate) type HostCallback<T> =
    Arc<dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync>;

/// The context a host function's `VMFuncRef` points to. `#[repr(C)]` with
/// the `VMHostFuncContext` first: the host trampoline reads it.
#[repr(C)]
struct HostFuncContext<T> {
    vm: VMHostFuncContext,
    func_ref: VMFuncRef,
    ty: Arc<FuncType>,
    store: *mut StoreInner<T>,
    callback: HostCallback<T>,
}

// SAFETY: the raw pointers point into the store that owns this context and
// moves between threads with it.
unsafe impl<T: Send> Send for HostFuncContext<T> {}

impl Func {
    /// A host function of type `ty` that runs `callback` with the arguments
    /// and a slice to fill with the results.
    pub fn new<T: Send + 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        callback: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        Func::from_callback(store.as_context_mut().0, ty, Arc::new(callback))
            .expect("compiling a host trampoline cannot fail")
    }

    /// A host function from a Rust closure with typed parameters and
    /// results, optionally taking a [`Caller`] first.
    pub fn wrap<T: Send + 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, callback) = func.into_func();
        Func::from_callback(store.as_context_mut().0, ty, callback)
            .expect("compiling a host trampoline cannot fail")
    }

    pub(crate) fn from_callback<T: Send + 'static>(
        store: &mut StoreInner<T>,
        ty: FuncType,
        callback: HostCallback<T>,
    ) -> Result<Func> {
        let type_id = store.engine.register_type(&ty)?;
        let trampoline = store.engine.host_trampoline(type_id)?;
        let mut context = Box::new(HostFuncContext {
            vm: VMHostFuncContext {
                header: VMContextHeader {
                    magic: VMHOST_MAGIC,
                    _pad: 0,
                    instance: std::ptr::null_mut(),
                    store_context: store.opaque.context(),
                    builtins: builtins(),
                    continuations: std::ptr::null_mut(),
                    interrupt: AtomicU64::new(0),
                },
                callback: host_callback::<T> as *const () as *const u8,
            },
            func_ref: VMFuncRef {
                wasm_call: trampoline,
                vmctx: std::ptr::null_mut(),
                type_id,
            },
            ty: Arc::new(ty),
            store: store as *mut StoreInner<T>,
            callback,
        });
        context.func_ref.vmctx = (&mut context.vm as *mut VMHostFuncContext).cast();
        let func_ref = &context.func_ref as *const VMFuncRef as usize;
        store.host.funcs.push(context);
        Ok(Func {
            store: store.id,
            func_ref,
        })
    }

    /// The function's type.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = store.as_context().0;
        store
            .engine
            .types()
            .func_type(self.type_id())
            .unwrap_or_default()
    }

    pub(crate) fn type_id(&self) -> u32 {
        // SAFETY: the func ref is owned by the function's store, alive
        // whenever a handle is used with it.
        unsafe { (*(self.func_ref as *const VMFuncRef)).type_id }
    }

    /// Calls the function. `params` must match its parameter types and
    /// `results` have one slot per result. A trap is an error whose root
    /// cause is a [`Trap`]; a host function's error is returned as it is.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store.check(self.store)?;
        let ty = self.ty(StoreContextMut(&mut *store));
        check_types(store.engine.types(), "arguments", params, &ty.params)?;
        if results.len() != ty.results.len() {
            anyhow::bail!(
                "expected {} result slots, got {}",
                ty.results.len(),
                results.len()
            );
        }
        let mut values = vec![0u128; params.len().max(results.len()).max(1)];
        for (slot, param) in values.iter_mut().zip(params) {
            *slot = param.to_raw(store.id, &store.opaque)?;
        }
        invoke(
            store,
            self.func_ref as *const VMFuncRef,
            self.type_id(),
            &mut values,
        )?;
        for (i, (result, ty)) in results.iter_mut().zip(ty.results()).enumerate() {
            *result = Val::from_raw(values[i], ty, store.id, &store.opaque);
        }
        Ok(())
    }

    /// A typed view of this function, checking the types once.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let ty = self.ty(store);
        if ty.params().ne(P::types()) || ty.results().ne(R::types()) {
            anyhow::bail!("function type mismatch: the function has type {ty}");
        }
        Ok(TypedFunc {
            func: *self,
            _marker: std::marker::PhantomData,
        })
    }
}

/// Calls `func_ref` with `values` holding the arguments, then the results.
fn invoke<T>(
    store: &mut StoreInner<T>,
    func_ref: *const VMFuncRef,
    type_id: u32,
    values: &mut [u128],
) -> Result<()> {
    let entry = store.engine.entry_trampoline(type_id)?;
    // SAFETY: the func ref belongs to this store (checked by the caller).
    let (code, callee_vmctx) = unsafe { ((*func_ref).wasm_call, (*func_ref).vmctx) };
    let context = store.opaque.context();
    let max_stack = store.engine.max_wasm_stack();
    let values = values.as_mut_ptr().cast::<u8>();
    let store: *mut StoreInner<T> = store;
    // SAFETY: the store context outlives the call; the closure holds no
    // values with destructors across the call into generated code; the
    // trampoline matches the function's type, and `values` has a slot for
    // every argument and result.
    let result = unsafe {
        catch_traps(context, max_stack, || {
            entry(callee_vmctx, callee_vmctx, code, values);
        })
    };
    // SAFETY: wasm has returned; nothing else refers to the store now.
    let store = unsafe { &mut *store };
    result.map_err(|unwound| unwound_error(store, unwound))
}

/// The error of a call into wasm that ended abnormally.
pub(crate) fn unwound_error<T>(store: &mut StoreInner<T>, unwound: Unwound) -> anyhow::Error {
    match unwound {
        Unwound::Trap(record) => trap_error(store, record),
        Unwound::Exception(ptr) => {
            anyhow::Error::new(ThrownException::new(store.id, ptr, &store.opaque))
        }
    }
}

fn trap_error<T>(store: &mut StoreInner<T>, record: TrapRecord) -> anyhow::Error {
    if record.kind == TrapKind::HostError {
        if let Some(panic) = store.host.pending_panic.take() {
            resume_unwind(panic);
        }
        if let Some(error) = store.host.pending_error.take() {
            return error;
        }
    }
    anyhow::Error::new(Trap::new(record.kind, &record.pcs))
}

/// Called by the host trampoline: runs the closure with the arguments in
/// `values` and stores the results there. Returns 1 on success; the address
/// of an exception of this store that the closure failed with, to throw on
/// into wasm; or 0 on any other failure, with the error (or panic) left in
/// the store.
unsafe extern "C" fn host_callback<T: 'static>(
    context: *mut VMHostFuncContext,
    caller_vmctx: *mut u8,
    values: *mut u128,
    len: usize,
) -> usize {
    // SAFETY: the trampoline passes the context this callback was created
    // with, and an array of `len` slots on its stack.
    let (ty, callback, store, values) = unsafe {
        let context = &*context.cast::<HostFuncContext<T>>();
        (
            context.ty.clone(),
            context.callback.clone(),
            &mut *context.store,
            std::slice::from_raw_parts_mut(values, len),
        )
    };
    let id = store.id;
    // References the host function is given, or makes, live while it runs
    // (the function's root scope).
    let roots = store.opaque.host_roots_len();
    let store_ptr: *mut StoreInner<T> = store;
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        let params: Vec<Val> = ty
            .params()
            .zip(values.iter())
            .map(|(ty, raw)| {
                // SAFETY: the store is alive; nothing else uses it during
                // this conversion.
                Val::from_raw(*raw, ty, id, unsafe { &(*store_ptr).opaque })
            })
            .collect();
        let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
        // SAFETY: the store is alive and wasm, which is suspended in this
        // call, holds no reference to it.
        let store = unsafe { &mut *store_ptr };
        callback(
            Caller {
                store,
                caller_vmctx,
            },
            &params,
            &mut results,
        )?;
        check_types(store.engine.types(), "results", &results, &ty.results)
            .context("host function returned")?;
        for (slot, result) in values.iter_mut().zip(&results) {
            // SAFETY: as above.
            *slot = result.to_raw(id, unsafe { &(*store_ptr).opaque })?;
        }
        Ok(())
    }));
    // SAFETY: as above; the closure has returned.
    let store = unsafe { &mut *store_ptr };
    store.opaque.truncate_host_roots(roots);
    match outcome {
        Ok(Ok(())) => 1,
        Ok(Err(error)) => match error.downcast_ref::<ThrownException>() {
            Some(exception) if exception.store == id => exception.ptr,
            _ => {
                store.host.pending_error = Some(error);
                0
            }
        },
        Err(panic) => {
            store.host.pending_panic = Some(panic);
            0
        }
    }
}

/// The store and calling instance, as a host function sees them.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    caller_vmctx: *mut u8,
}

impl<T> Caller<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// An export of the calling instance (`None` when the caller is the
    /// host or has no such export).
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        // SAFETY: the caller's vmctx is a live VMContext or host function
        // context; both start with a header.
        let header = unsafe { &*self.caller_vmctx.cast::<VMContextHeader>() };
        if header.instance.is_null() {
            return None;
        }
        // SAFETY: a non-null instance pointer in a header is a live instance.
        let instance = unsafe { &*header.instance.cast::<fxtime_runtime::instance::Instance>() };
        crate::instance::export(self.store.id, instance, name)
    }

    /// The engine.
    pub fn engine(&self) -> &crate::Engine {
        &self.store.engine
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> crate::StoreContext<'_, T> {
        crate::StoreContext(self.store)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

/// A function with statically known parameter and result types.
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: std::marker::PhantomData<fn(P) -> R>,
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// Calls the function.
    pub fn call(&self, store: impl AsContextMut, params: P) -> Result<R> {
        let params = params.into_vals();
        let mut results: Vec<Val> = R::types().map(Val::default_for).collect();
        self.func.call(store, &params, &mut results)?;
        Ok(R::from_vals(&results))
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// Rust types that are WebAssembly values.
pub trait WasmTy: Sized + Send + 'static {
    /// The value type.
    fn valtype() -> fxtime_environ::WasmValType;
    /// Converts from a value of that type.
    fn from_val(v: &Val) -> Self;
    /// Converts into a value.
    fn into_val(self) -> Val;
}

macro_rules! wasm_ty {
    ($($ty:ty => $variant:ident, $valtype:ident, |$v:ident| $from:expr, |$s:ident| $into:expr;)*) => {$(
        impl WasmTy for $ty {
            fn valtype() -> fxtime_environ::WasmValType {
                fxtime_environ::WasmValType::$valtype
            }
            fn from_val(v: &Val) -> Self {
                match *v {
                    Val::$variant($v) => $from,
                    _ => Default::default(),
                }
            }
            fn into_val(self) -> Val {
                let $s = self;
                Val::$variant($into)
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, I32, |v| v, |s| s;
    u32 => I32, I32, |v| v as u32, |s| s as i32;
    i64 => I64, I64, |v| v, |s| s;
    u64 => I64, I64, |v| v as u64, |s| s as i64;
    f32 => F32, F32, |v| f32::from_bits(v), |s| s.to_bits();
    f64 => F64, F64, |v| f64::from_bits(v), |s| s.to_bits();
    // A `v128`, as `Val::V128` holds it.
    u128 => V128, V128, |v| v, |s| s;
}

/// Parameter lists of typed functions: `()`, one value, or tuples.
pub trait WasmParams {
    /// The types.
    fn types() -> impl Iterator<Item = fxtime_environ::WasmValType>;
    /// The values.
    fn into_vals(self) -> Vec<Val>;
    /// Builds the list from values of those types.
    fn from_vals(values: &[Val]) -> Self;
}

/// Result lists of typed functions: `()`, one value, or tuples.
pub trait WasmResults: Sized {
    /// The types.
    fn types() -> impl Iterator<Item = fxtime_environ::WasmValType>;
    /// Builds the results from values of those types.
    fn from_vals(values: &[Val]) -> Self;
}

/// What host closures may return: values, `()`, tuples, or a `Result` of
/// those (an error traps).
pub trait WasmRet {
    /// The result types.
    fn types() -> Vec<fxtime_environ::WasmValType>;
    /// Stores the results.
    fn into_results(self, out: &mut [Val]) -> Result<()>;
}

impl<R: WasmTy> WasmParams for R {
    fn types() -> impl Iterator<Item = fxtime_environ::WasmValType> {
        std::iter::once(R::valtype())
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
    fn from_vals(values: &[Val]) -> Self {
        R::from_val(&values[0])
    }
}

/// Result lists are the same lists as parameter lists.
impl<R: WasmParams> WasmResults for R {
    fn types() -> impl Iterator<Item = fxtime_environ::WasmValType> {
        R::types()
    }
    fn from_vals(values: &[Val]) -> Self {
        R::from_vals(values)
    }
}

impl<R: WasmTy> WasmRet for R {
    fn types() -> Vec<fxtime_environ::WasmValType> {
        vec![R::valtype()]
    }
    fn into_results(self, out: &mut [Val]) -> Result<()> {
        out[0] = self.into_val();
        Ok(())
    }
}

impl<R: WasmRet> WasmRet for Result<R> {
    fn types() -> Vec<fxtime_environ::WasmValType> {
        R::types()
    }
    fn into_results(self, out: &mut [Val]) -> Result<()> {
        self?.into_results(out)
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),*);)*) => {$(
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            fn types() -> impl Iterator<Item = fxtime_environ::WasmValType> {
                [$($t::valtype()),*].into_iter()
            }
            #[allow(clippy::unused_unit, reason = "the empty tuple")]
            fn into_vals(self) -> Vec<Val> {
                vec![$(self.$i.into_val()),*]
            }
            #[allow(clippy::unused_unit, unused_variables, reason = "the empty tuple")]
            fn from_vals(values: &[Val]) -> Self {
                ($($t::from_val(&values[$i]),)*)
            }
        }

        impl<$($t: WasmTy),*> WasmRet for ($($t,)*) {
            fn types() -> Vec<fxtime_environ::WasmValType> {
                vec![$($t::valtype()),*]
            }
            #[allow(unused_variables, reason = "the empty tuple")]
            fn into_results(self, out: &mut [Val]) -> Result<()> {
                $(out[$i] = self.$i.into_val();)*
                Ok(())
            }
        }
    )*};
}

tuples! {
    ();
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
}

/// Rust closures that can become host functions.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The function type and the untyped callback.
    #[doc(hidden)]
    fn into_func(self) -> (FuncType, HostCallback<T>);
}

macro_rules! into_func {
    ($(($($a:ident $i:tt),*);)*) => {$(
        impl<T: 'static, F, $($a: WasmTy,)* R: WasmRet> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
        {
            fn into_func(self) -> (FuncType, HostCallback<T>) {
                let ty = FuncType::new([$($a::valtype()),*], R::types());
                let callback = move |_caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let _ = params;
                    self($($a::from_val(&params[$i])),*).into_results(results)
                };
                (ty, Arc::new(callback))
            }
        }

        impl<T: 'static, F, $($a: WasmTy,)* R: WasmRet> IntoFunc<T, (Caller<'_, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
        {
            fn into_func(self) -> (FuncType, HostCallback<T>) {
                let ty = FuncType::new([$($a::valtype()),*], R::types());
                let callback = move |caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let _ = params;
                    self(caller, $($a::from_val(&params[$i])),*).into_results(results)
                };
                (ty, Arc::new(callback))
            }
        }
    )*};
}

into_func! {
    ();
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
    (A 0, B 1, C 2, D 3, E 4, G 5);
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6);
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7);
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8);
}
