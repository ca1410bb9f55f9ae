//! Collections: the roots of a store, reported to the GC heap's marker.
//!
//! Roots are exact: the frames of generated code on the running chain of
//! each activation of the store on this thread, globals, table elements,
//! passive element segments, what the host holds, and the operands of an
//! allocation in progress. Each is scanned only where its type says it
//! holds a GC reference or a continuation reference.
//!
//! Fresh and suspended continuations are roots of a minor collection (all
//! of them: their bound values and suspended frames). A full collection
//! instead reaches them through continuation references like any object,
//! and afterwards gives back those it did not reach.

use super::StoreOpaque;
use crate::frames::PausedFrame;
use crate::gc::stacks::{mark_continuation, mark_frames};
use crate::gc::{Marker, Traced};
use crate::traps::store_exits;
use fxtime_environ::vm::VMContRef;
use fxtime_environ::{GlobalIndex, WasmValType};

impl StoreOpaque {
    /// Runs a collection now: a full one when `full`, else a minor one
    /// (unless a full one is due). Called from the host, from a host
    /// function, or from a builtin (whose shim recorded where wasm left).
    pub fn collect_garbage(&mut self, full: bool) {
        // Held off (`without_collections`): some frame's references are
        // not where stack maps say, e.g. at an interrupted epoch check.
        if self.gc_inhibited > 0 {
            return;
        }
        let Some(types) = self.types.clone() else {
            return;
        };
        let (mut marker, full) = self.gc.begin_collection(full);
        let collection = full.then(|| {
            let collection = self.continuations.begin_marking();
            marker.follow_continuations(collection, self.continuations.start_address());
            collection
        });
        self.mark_roots(&mut marker, collection.is_none());
        self.gc
            .finish_collection(marker, full, &types, &mut self.context.gc_bump);
        if let Some(collection) = collection {
            self.continuations.reclaim_unreached(collection);
        }
    }

    /// Reports the roots to `marker`; with `suspended_roots` (a minor
    /// collection), every fresh and suspended continuation is one.
    fn mark_roots(&mut self, marker: &mut Marker, suspended_roots: bool) {
        self.mark_stacks(marker, suspended_roots);
        let mut slot = |ty: WasmValType, value: u128| {
            if let Some(traced) = Traced::of(ty, value) {
                marker.mark(traced);
            }
        };
        for instance in &self.instances {
            let info = &instance.module().info;
            for (i, global) in info.globals.iter().enumerate() {
                let index = GlobalIndex(i as u32);
                let ty = global.ty.content();
                if ty.is_traced() && !info.is_imported_global(index) {
                    // SAFETY: a defined global's storage lies in the vmctx.
                    let storage = unsafe { (*instance.global(index)).storage };
                    slot(ty, u128::from_le_bytes(storage));
                }
            }
            for (segment, values) in info.elements.iter().zip(instance.element_segments()) {
                let ty = WasmValType::Ref(segment.ty);
                if ty.is_traced() {
                    values.iter().for_each(|v| slot(ty, *v));
                }
            }
        }
        for table in &self.tables {
            let ty = WasmValType::Ref(table.ty().element);
            if ty.is_traced() {
                let values = table.slice(0, table.len()).unwrap_or_default();
                values.iter().for_each(|v| slot(ty, *v));
            }
        }
        for (global, ty) in self.globals.iter().zip(&self.global_types) {
            slot(*ty, u128::from_le_bytes(global.storage));
        }
        for (traced, _) in self.host_roots.borrow().iter() {
            marker.mark(*traced);
        }
        for traced in &self.temporary_roots {
            marker.mark(*traced);
        }
    }

    /// Frames of the running chains of this store's activations on this
    /// thread; with `suspended_roots`, also what every fresh and suspended
    /// continuation holds.
    fn mark_stacks(&mut self, marker: &mut Marker, suspended_roots: bool) {
        // SAFETY: the context is this store's, used on this thread.
        let exits = unsafe { store_exits(&mut *self.context) };
        for exit in exits {
            // SAFETY: each exit is the frame of a trampoline or builtin shim
            // called from this store's generated code, still on the stack.
            unsafe { mark_frames(marker, PausedFrame::caller_of(exit), None) };
        }
        if !suspended_roots {
            return;
        }
        let start = self.continuations.start_address();
        for &object in self.continuations.objects() {
            // SAFETY: objects live in the headers of this store's stacks.
            let cont: &VMContRef = unsafe { &*object };
            // Fresh continuations and the roots of suspended chains are the
            // live ones with no parent (see fxtime-wasmfx's `suspend`).
            if cont.live == 1 && cont.parent.is_null() {
                // SAFETY: such a continuation, of this store.
                unsafe { mark_continuation(marker, object, start) };
            }
        }
    }
}
