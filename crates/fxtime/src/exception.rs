//! [`Tag`] and [`ThrownException`]: exceptions as the host sees them.

use crate::store::StoreId;
use crate::{AsContext, AsContextMut, Val};
use fxtime_environ::FuncType;
use fxtime_environ::vm::{VAL_RAW_SIZE, VMTagDefinition, offsets};
use fxtime_runtime::store::{HostRoot, StoreOpaque};
use std::fmt;

/// An exception tag of a store. Tags are compared by identity: two tags
/// are the same when they come from the same definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) ptr: usize,
}

impl Tag {
    /// A new tag whose payload has the parameter types of `ty` (its results
    /// must be empty).
    pub fn new(mut store: impl AsContextMut, ty: &FuncType) -> anyhow::Result<Tag> {
        let store = store.as_context_mut().0;
        if !ty.results.is_empty() {
            anyhow::bail!("an exception tag's type has no results");
        }
        let type_id = store.engine.register_type(ty)?;
        let ptr = store.opaque.add_tag(type_id) as usize;
        Ok(Tag {
            store: store.id,
            ptr,
        })
    }

    /// The tag's type: its parameters are the payload.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = store.as_context().0;
        assert_eq!(store.id, self.store, "tag used with another store");
        // SAFETY: the tag is owned by the store borrowed here.
        let type_id = unsafe { (*(self.ptr as *const VMTagDefinition)).type_id };
        store.engine.types().func_type(type_id).unwrap_or_default()
    }
}

/// A WebAssembly exception that no handler caught: the error of the call
/// that let it escape. Carries its tag and payload; rooted like an
/// [`AnyRef`](crate::AnyRef) (its payload can be read while the root scope
/// it was made in lasts).
#[derive(Debug, Clone, Copy)]
pub struct ThrownException {
    pub(crate) store: StoreId,
    /// Address of the exception's header, an object of the store's heap.
    pub(crate) ptr: usize,
    /// Its tag (read when the handle was made, while the exception lived).
    pub(crate) tag: usize,
    pub(crate) root: Option<HostRoot>,
}

impl ThrownException {
    /// The exception at `ptr` (alive), rooted for the host in `opaque`.
    pub(crate) fn new(store: StoreId, ptr: usize, opaque: &StoreOpaque) -> ThrownException {
        // SAFETY: the caller's promise: a live exception of this store.
        let tag = unsafe { fxtime_runtime::exceptions::exception_tag(ptr) } as usize;
        ThrownException {
            store,
            ptr,
            tag,
            root: opaque.root(ptr as u64),
        }
    }

    /// The exception's address, checking that it belongs to `store`
    /// (`opaque`) and is still rooted; `what` names it in errors.
    pub(crate) fn address_in(
        &self,
        store: StoreId,
        opaque: &StoreOpaque,
        what: &str,
    ) -> anyhow::Result<usize> {
        if self.store != store {
            anyhow::bail!("{what} used with another store");
        }
        match self.root.and_then(|root| opaque.rooted(root)) {
            Some(word) => Ok(word as usize),
            None => anyhow::bail!("{what} used after the root scope it was made in ended"),
        }
    }

    /// The exception's tag.
    pub fn tag(&self) -> Tag {
        Tag {
            store: self.store,
            ptr: self.tag,
        }
    }

    /// The payload values; an error when the exception belongs to another
    /// store or is no longer rooted.
    pub fn payload(&self, store: impl AsContext) -> anyhow::Result<Vec<Val>> {
        let context = store.as_context().0;
        let opaque = &context.opaque;
        self.address_in(context.id, opaque, "exception")?;
        let ty = self.tag().ty(&store);
        Ok(ty
            .params()
            .enumerate()
            .map(|(i, ty)| {
                let slot =
                    self.ptr + (offsets::EXCEPTION_PAYLOAD + i as u32 * VAL_RAW_SIZE) as usize;
                // SAFETY: the exception is rooted (checked) and has one
                // 16-byte slot per parameter.
                let raw = unsafe { *(slot as *const u128) };
                Val::from_raw(raw, ty, self.store, opaque)
            })
            .collect())
    }
}

impl fmt::Display for ThrownException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("uncaught wasm exception")
    }
}

impl std::error::Error for ThrownException {}
