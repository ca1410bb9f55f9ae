//! [`Tag`] and [`ThrownException`]: exceptions as the host sees them.

use crate::store::StoreId;
use crate::{AsContext, AsContextMut, Val};
use fxtime_environ::FuncType;
use fxtime_environ::vm::{VAL_RAW_SIZE, VMTagDefinition, offsets};
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
/// that let it escape. Carries its tag and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrownException {
    pub(crate) store: StoreId,
    /// Address of the exception's header, owned by the store.
    pub(crate) ptr: usize,
}

impl ThrownException {
    /// The exception's tag.
    pub fn tag(&self) -> Tag {
        // SAFETY: the exception is owned by its store, alive while any
        // handle to the store's objects is used.
        let tag = unsafe { fxtime_runtime::exceptions::exception_tag(self.ptr) };
        Tag {
            store: self.store,
            ptr: tag as usize,
        }
    }

    /// The payload values.
    pub fn payload(&self, store: impl AsContext) -> Vec<Val> {
        let ty = self.tag().ty(&store);
        let opaque = &store.as_context().0.opaque;
        ty.params()
            .enumerate()
            .map(|(i, ty)| {
                let slot =
                    self.ptr + (offsets::EXCEPTION_PAYLOAD + i as u32 * VAL_RAW_SIZE) as usize;
                // SAFETY: the exception has one 16-byte slot per parameter.
                let raw = unsafe { *(slot as *const u128) };
                Val::from_raw(raw, ty, self.store, opaque)
            })
            .collect()
    }
}

impl fmt::Display for ThrownException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("uncaught wasm exception")
    }
}

impl std::error::Error for ThrownException {}
