//! [`Linker`]: resolves a module's imports by name.

use crate::func::HostCallback;
use crate::store::StoreInner;
use crate::{
    AsContext, AsContextMut, Caller, Engine, Extern, Func, Instance, IntoFunc, Module, Val,
    WasmParams, WasmRet,
};
use anyhow::{Result, bail};
use fxtime_environ::FuncType;
use std::collections::HashMap;
use std::sync::Arc;

/// Named definitions for imports: host functions (usable in any store) and
/// items of one store.
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

enum Definition<T> {
    Extern(Extern),
    HostFunc(Arc<(FuncType, HostCallback<T>)>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::HostFunc(f) => Definition::HostFunc(f.clone()),
        }
    }
}

impl<T: Send + 'static> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            definitions: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// Whether a later definition may replace an earlier one of the same
    /// name (off by default: that is an error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, definition: Definition<T>) -> Result<()> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.definitions.contains_key(&key) {
            bail!("import `{module}::{name}` is defined twice");
        }
        self.definitions.insert(key, definition);
        Ok(())
    }

    /// Defines `module::name` as an item of a store.
    pub fn define(
        &mut self,
        _store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function of type `ty`.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let callback: HostCallback<T> = Arc::new(func);
        self.insert(module, name, Definition::HostFunc(Arc::new((ty, callback))))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function from a typed Rust closure.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, callback) = func.into_func();
        self.insert(module, name, Definition::HostFunc(Arc::new((ty, callback))))?;
        Ok(self)
    }

    /// Defines `module::name` as an async host function: `func` returns a
    /// future, which the calling wasm waits for without blocking its thread
    /// (the call's future is pending meanwhile). Needs
    /// `Config::async_support`, and a call made with
    /// [`Func::call_async`](crate::Func::call_async) or the like; called
    /// otherwise, the function fails with an error.
    pub fn func_wrap_async<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl for<'a> Fn(Caller<'a, T>, Params) -> Box<dyn Future<Output = Results> + Send + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self>
    where
        Params: WasmParams + 'static,
        Results: WasmRet + 'static,
    {
        if !self.engine.async_support() {
            bail!("async host functions need an engine with Config::async_support");
        }
        let ty = FuncType::new(Params::types(), Results::types());
        let callback: HostCallback<T> = Arc::new(
            move |caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                let future = func(caller, Params::from_vals(params));
                crate::async_call::block_on(Box::into_pin(future).as_mut())?.into_results(results)
            },
        );
        self.insert(module, name, Definition::HostFunc(Arc::new((ty, callback))))?;
        Ok(self)
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn instance(
        &mut self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, item) in instance.exports(&store) {
            self.insert(module, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    /// The definition of `module::name` in `store`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let definition = self
            .definitions
            .get(&(module.to_string(), name.to_string()))?;
        self.resolve(store.as_context_mut().0, definition).ok()
    }

    fn resolve(&self, store: &mut StoreInner<T>, definition: &Definition<T>) -> Result<Extern> {
        Ok(match definition {
            Definition::Extern(item) => *item,
            Definition::HostFunc(func) => {
                let key = Arc::as_ptr(func) as *const () as usize;
                if let Some((_, func_ref)) = store.host.func_cache.get(&key) {
                    return Ok(Extern::Func(Func {
                        store: store.id,
                        func_ref: *func_ref,
                    }));
                }
                let created = Func::from_callback(store, func.0.clone(), func.1.clone())?;
                let keep_alive: Arc<dyn std::any::Any + Send + Sync> = func.clone();
                store
                    .host
                    .func_cache
                    .insert(key, (keep_alive, created.func_ref));
                Extern::Func(created)
            }
        })
    }

    /// Instantiates `module`, resolving its imports here.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        if !Engine::same(&self.engine, &store.engine) {
            bail!("the linker belongs to another engine");
        }
        let mut imports = Vec::with_capacity(module.info().imports.len());
        for import in &module.info().imports {
            let key = (import.module.clone(), import.name.clone());
            let Some(definition) = self.definitions.get(&key) else {
                bail!(
                    "unknown import: `{}::{}` has not been defined",
                    import.module,
                    import.name
                );
            };
            imports.push(self.resolve(store, definition)?);
        }
        crate::instance::instantiate(store, module, &imports)
    }
}
