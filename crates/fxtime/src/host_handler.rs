//! The host as a handler: [`ContRef::resume`] runs a continuation from
//! Rust and hands back its results, or its suspension to one of the tags
//! the host handles (see `fxtime_runtime::host_resume`).

use crate::store::StoreInner;
use crate::values::check_types;
use crate::{AsContextMut, ContRef, Tag, Trap, Val};
use anyhow::{Result, bail};
use fxtime_environ::vm::{VMContRef, VMTagDefinition};
use fxtime_environ::{CompositeType, FuncType, SubType, TrapKind, TypeRef};
use fxtime_runtime::continuations::AllocationError;
use fxtime_runtime::host_resume::{self, HostHandlers, HostResumeError, HostResumed};
use std::collections::HashMap;
use std::sync::Arc;

/// The types host resumes need, looked up once per store instead of in
/// the engine's registry (behind a lock) on every resume.
#[derive(Default)]
pub(crate) struct ResumeTypes {
    /// A continuation type's id to the type of its function.
    conts: HashMap<u32, Arc<FuncType>>,
    /// A tag's type id to its type.
    tags: HashMap<u32, Arc<FuncType>>,
    /// (a tag's type id, a continuation type's id) to the type of the
    /// continuation of a suspension to that tag.
    rests: HashMap<(u32, u32), u32>,
}

/// How a continuation the host resumed came back.
#[derive(Debug)]
pub enum ContResumed {
    /// It returned these results.
    Returned(Vec<Val>),
    /// It suspended to one of the host's tags.
    Suspended(Suspension),
}

/// A continuation suspended to a tag the host handles: the tag, its
/// payload, and the rest of the computation, which takes the tag's
/// results as its arguments.
#[derive(Debug)]
pub struct Suspension {
    tag: Tag,
    payload: Vec<Val>,
    continuation: ContRef,
}

impl Suspension {
    /// The tag it suspended to.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The tag's payload.
    pub fn payload(&self) -> &[Val] {
        &self.payload
    }

    /// The suspended continuation: resume it (once) with the tag's
    /// results, hand it to wasm, or drop it (the collector takes its stacks
    /// back once nothing reaches it).
    pub fn continuation(&self) -> ContRef {
        self.continuation
    }
}

impl ContRef {
    /// Resumes the continuation with `args`, handling suspensions to the
    /// tags of `handled` here: returns its results, or the suspension. A
    /// suspension to a tag neither wasm nor the host handles traps
    /// "unhandled tag"; a trap or an exception that leaves the
    /// continuation is the error, as for [`Func::call`](crate::Func::call).
    ///
    /// Like wasm's `resume`, it consumes the reference (one-shot): using
    /// it, or a copy, again fails with "continuation already consumed".
    /// The continuation of a suspension takes over this reference's root,
    /// so a host that resumes one continuation after another keeps no
    /// more roots than it started with.
    ///
    /// The continuation's type must be known: the reference came out of
    /// wasm with a concrete continuation type, or from a suspension.
    pub fn resume(
        &self,
        mut store: impl AsContextMut,
        args: &[Val],
        handled: &[Tag],
    ) -> Result<ContResumed> {
        let store = store.as_context_mut().0;
        // Still rooted; whether it is still unconsumed, its revision says.
        self.raw_in(store.id, &store.opaque)?;
        let raw = self.raw;
        let (type_id, ty) = self.func_type(store)?;
        check_types(store.engine.types(), "arguments", args, &ty.params)?;
        if handled.iter().any(|tag| tag.store != store.id) {
            bail!("a tag of another store is handled");
        }
        let tags: Vec<*const VMTagDefinition> =
            handled.iter().map(|tag| tag.ptr as *const _).collect();
        let handlers = HostHandlers::new(&tags);
        let args = args
            .iter()
            .map(|arg| arg.to_raw(store.id, &store.opaque))
            .collect::<Result<Vec<_>>>()?;
        let object = raw as u64 as usize as *mut VMContRef;
        // SAFETY: the reference is this store's (checked), the context is
        // the store's own, and the arguments match the continuation's
        // parameter types (checked).
        let resumed = unsafe {
            host_resume::resume(
                store.opaque.context(),
                store.engine.max_wasm_stack(),
                object,
                (raw >> 64) as u64,
                &args,
                ty.results.len(),
                &handlers,
            )
        };
        match resumed {
            Err(HostResumeError::Consumed) => Err(consumed()),
            Err(HostResumeError::NoStack(error)) => Err(no_stack(error)),
            Err(HostResumeError::Unwound(unwound)) => {
                Err(crate::func::unwound_error(store, unwound))
            }
            Ok(HostResumed::Returned(results)) => {
                Ok(ContResumed::Returned(vals(store, results, ty.results())))
            }
            Ok(HostResumed::Suspended { clause, root }) => {
                let tag = handled[clause];
                // SAFETY: the tag belongs to this store (checked).
                let tag_type = unsafe { (*(tag.ptr as *const VMTagDefinition)).type_id };
                let tag_ty = tag_type_of(store, tag_type);
                // SAFETY: the suspended chain left the payload in its root's
                // buffer.
                let payload = unsafe { host_resume::take_values(root, tag_ty.params.len()) };
                let payload = vals(store, payload, tag_ty.params());
                // SAFETY: a suspended root of this store.
                let revision = unsafe { (*root).revision };
                let reference = (root as usize as u128) | (u128::from(revision) << 64);
                let type_id = rest_type_id(store, tag_type, &tag_ty, type_id, &ty)?;
                store.opaque.replace_rooted_cont(self.root, raw, reference);
                Ok(ContResumed::Suspended(Suspension {
                    tag,
                    payload,
                    continuation: ContRef {
                        store: store.id,
                        raw: reference,
                        type_id: Some(type_id),
                        root: self.root,
                    },
                }))
            }
        }
    }

    /// The continuation's type id, and the type of the function it
    /// stands for.
    fn func_type<T>(&self, store: &mut StoreInner<T>) -> Result<(u32, Arc<FuncType>)> {
        let Some(id) = self.type_id else {
            bail!(
                "the host cannot resume a continuation of unknown type \
                 (it came out of wasm as an abstract contref)"
            );
        };
        if let Some(ty) = store.host.resume_types.conts.get(&id) {
            return Ok((id, ty.clone()));
        }
        let types = store.engine.types();
        let Some(ty) = (match types.sub_type(id).map(|t| t.composite) {
            Some(CompositeType::Cont(TypeRef::Engine(func))) => types.func_type(func),
            _ => None,
        }) else {
            bail!("not a continuation type");
        };
        let ty = Arc::new(ty);
        store.host.resume_types.conts.insert(id, ty.clone());
        Ok((id, ty))
    }
}

fn consumed() -> anyhow::Error {
    anyhow::Error::new(Trap::new(TrapKind::ContinuationAlreadyConsumed, &[]))
}

/// The trap of a `resume` whose pending continuation got no stack.
fn no_stack(error: AllocationError) -> anyhow::Error {
    let kind = match error {
        AllocationError::NoMemory => TrapKind::ContinuationAllocation,
        AllocationError::TooMany => TrapKind::TooManyContinuations,
        AllocationError::TooManyBytes => TrapKind::ContinuationStackBytes,
    };
    anyhow::Error::new(Trap::new(kind, &[]))
}

/// Values of `types` from their raw forms.
fn vals<T>(
    store: &StoreInner<T>,
    raw: Vec<u128>,
    types: impl Iterator<Item = fxtime_environ::WasmValType>,
) -> Vec<Val> {
    raw.into_iter()
        .zip(types)
        .map(|(raw, ty)| Val::from_raw(raw, ty, store.id, &store.opaque))
        .collect()
}

/// The type of the tag with type id `id`.
fn tag_type_of<T>(store: &mut StoreInner<T>, id: u32) -> Arc<FuncType> {
    let types = &mut store.host.resume_types.tags;
    types
        .entry(id)
        .or_insert_with(|| Arc::new(store.engine.types().func_type(id).unwrap_or_default()))
        .clone()
}

/// The type id of the continuation of a suspension to a tag of type
/// `tag` (id `tag_id`) from a continuation of type `cont` (id `cont_id`):
/// it takes the tag's results and ends with the continuation's results.
fn rest_type_id<T>(
    store: &mut StoreInner<T>,
    tag_id: u32,
    tag: &FuncType,
    cont_id: u32,
    cont: &FuncType,
) -> Result<u32> {
    if let Some(id) = store.host.resume_types.rests.get(&(tag_id, cont_id)) {
        return Ok(*id);
    }
    let rest = FuncType::new(tag.results(), cont.results());
    let func = store.engine.register_type(&rest)?;
    let id = store.engine.types().register_single(SubType {
        is_final: true,
        supertype: None,
        composite: CompositeType::Cont(TypeRef::Engine(func)),
    });
    store.host.resume_types.rests.insert((tag_id, cont_id), id);
    Ok(id)
}
