//! GC roots in frames of generated code, on every kind of stack (see
//! `crate::frames` for how frames are found), and in what a continuation
//! holds.

use super::Marker;
use crate::code::with_stack_map;
use crate::frames::{PausedFrame, walk};
use fxtime_environ::vm::VMContRef;

/// Marks the references of every frame of generated code from `frame`
/// outwards (see [`walk`]): each frame's stack map, at the call or the
/// stack switch it waits in, names the words that hold GC references and
/// the pairs of words that hold continuation references.
///
/// # Safety
///
/// As for [`walk`].
pub(crate) unsafe fn mark_frames(
    marker: &mut Marker,
    frame: PausedFrame,
    stop: Option<*const VMContRef>,
) {
    // SAFETY: the caller's promise.
    unsafe {
        walk(frame, stop, |frame| {
            with_stack_map(frame.pc, frame.at_switch, |map| {
                // SAFETY: the map names words of this live frame.
                let read = |offset: &u32| (frame.sp + *offset as usize) as *const u64;
                for offset in &map.slots {
                    marker.mark_word(*read(offset));
                }
                for offset in &map.cont_slots {
                    marker.mark_cont(read(offset).cast::<u128>().read_unaligned());
                }
            });
            true
        });
    }
}

/// Marks what fresh or suspended continuation `cont` holds: the values
/// `cont.bind` left in its buffer and, unless it is fresh (its context at
/// `start`, the start trampoline), the frames of its suspended chain.
///
/// # Safety
///
/// `cont` must be a live continuation of the collected store with no
/// parent (fresh, or the root of a suspended chain).
pub(crate) unsafe fn mark_continuation(marker: &mut Marker, cont: *mut VMContRef, start: usize) {
    // SAFETY: per the contract.
    let object = unsafe { &*cont };
    for slot in bits(object.gc_bound) {
        // SAFETY: the mask names slots of the buffer, which has room for
        // every parameter of the continuation's type.
        marker.mark_slot(unsafe { *object.values.add(slot) });
    }
    for slot in bits(object.cont_bound) {
        // SAFETY: as above.
        marker.mark_cont(unsafe { *object.values.add(slot) });
    }
    if object.context.instruction_pointer != start {
        let frame = PausedFrame::suspended(&object.context);
        // SAFETY: a suspended root's context is where its innermost frame
        // waits; frames lead outwards to its own stack's bottom, where the
        // walk stops.
        unsafe { mark_frames(marker, frame, Some(cont)) };
    }
}

/// The indices of the set bits of `mask`.
fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let bit = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            bit
        })
    })
}
