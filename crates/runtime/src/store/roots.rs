//! Collections: the roots of a store, reported to the GC heap's marker.
//!
//! Roots are exact: the frames of generated code on every stack (the
//! running chain of each activation of the store on this thread, and
//! every suspended chain, from its root's saved context), globals, table
//! elements, passive element segments, the values of continuations bound
//! by `cont.bind`, what the host holds, and the
//! operands of an allocation in progress. Each is scanned only where its
//! type says it holds a reference of the `any` or `extern` hierarchy.

use super::StoreOpaque;
use crate::frames::PausedFrame;
use crate::gc::Marker;
use crate::gc::stacks::mark_frames;
use crate::traps::store_exits;
use fxtime_environ::vm::VMContRef;
use fxtime_environ::{GlobalIndex, WasmValType};

impl StoreOpaque {
    /// Runs a collection now: a full one when `full`, else a minor one
    /// (unless a full one is due). Called from the host, from a host
    /// function, or from a builtin (whose shim recorded where wasm left).
    pub fn collect_garbage(&mut self, full: bool) {
        let Some(types) = self.types.clone() else {
            return;
        };
        let (mut marker, full) = self.gc.begin_collection(full);
        self.mark_roots(&mut marker);
        self.gc
            .finish_collection(marker, full, &types, &mut self.context.gc_bump);
    }

    fn mark_roots(&mut self, marker: &mut Marker) {
        self.mark_stacks(marker);
        for instance in &self.instances {
            let info = &instance.module().info;
            for (i, global) in info.globals.iter().enumerate() {
                let index = GlobalIndex(i as u32);
                if global.ty.content().is_gc_reference() && !info.is_imported_global(index) {
                    // SAFETY: a defined global's storage lies in the vmctx.
                    let storage = unsafe { (*instance.global(index)).storage };
                    marker.mark_slot(u128::from_le_bytes(storage));
                }
            }
            for (segment, values) in info.elements.iter().zip(instance.element_segments()) {
                if WasmValType::Ref(segment.ty).is_gc_reference() {
                    values.iter().for_each(|v| marker.mark_slot(*v));
                }
            }
        }
        for table in &self.tables {
            if WasmValType::Ref(table.ty().element).is_gc_reference() {
                let len = table.len();
                let values = table.slice(0, len).unwrap_or_default();
                values.iter().for_each(|v| marker.mark_slot(*v));
            }
        }
        for (global, traced) in self.globals.iter().zip(&self.global_traced) {
            if *traced {
                marker.mark_slot(u128::from_le_bytes(global.storage));
            }
        }
        for (word, _) in self.host_roots.borrow().iter() {
            marker.mark_word(*word);
        }
        for word in &self.temporary_roots {
            marker.mark_word(*word);
        }
    }

    /// Frames of the running chains of this store's activations on this
    /// thread, and of every suspended chain.
    fn mark_stacks(&mut self, marker: &mut Marker) {
        // SAFETY: the context is this store's, used on this thread.
        let exits = unsafe { store_exits(&mut *self.context) };
        for exit in exits {
            // SAFETY: each exit is the frame of a trampoline or builtin shim
            // called from this store's generated code, still on the stack.
            unsafe { mark_frames(marker, PausedFrame::caller_of(exit), None) };
        }
        let start = self.continuations.start_address();
        for &object in self.continuations.objects() {
            // SAFETY: objects live in the headers of this store's stacks.
            let cont: &VMContRef = unsafe { &*object };
            // A suspended chain's root is the one live continuation with no
            // parent that is not fresh (see fxtime-wasmfx's `suspend`).
            if cont.live == 1 {
                // References `cont.bind` left in the buffer.
                let mut bound = cont.gc_bound;
                while bound != 0 {
                    let slot = bound.trailing_zeros() as usize;
                    bound &= bound - 1;
                    // SAFETY: the mask names slots of the buffer, which has
                    // room for every parameter of the continuation's type.
                    marker.mark_slot(unsafe { *cont.values.add(slot) });
                }
            }
            let fresh = cont.context.instruction_pointer == start;
            if cont.live == 1 && cont.parent.is_null() && !fresh {
                let frame = PausedFrame::suspended(&cont.context);
                // SAFETY: a suspended root's context is where its innermost
                // frame waits; frames lead outwards to its own stack's
                // bottom, where the walk stops.
                unsafe { mark_frames(marker, frame, Some(object)) };
            }
        }
    }
}
