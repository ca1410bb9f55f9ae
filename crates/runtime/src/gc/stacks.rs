//! GC roots in frames of generated code, on every kind of stack (see
//! `crate::frames` for how frames are found).

use super::Marker;
use crate::code::with_stack_map;
use crate::frames::{PausedFrame, walk};
use fxtime_environ::vm::VMContRef;

/// Marks the references of every frame of generated code from `frame`
/// outwards (see [`walk`]): each frame's stack map, at the call or the
/// stack switch it waits in, names the words that hold references.
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
            with_stack_map(frame.pc, frame.at_switch, |slots| {
                for offset in slots {
                    // SAFETY: the map names words of this live frame.
                    let word = *((frame.sp + *offset as usize) as *const u64);
                    marker.mark_word(word);
                }
            });
            true
        });
    }
}
