//! Walking the frames of generated code, for backtraces and for the
//! collector's roots.
//!
//! A frame paused at a call has its stack pointer 16 bytes above its
//! callee's frame pointer (return address and saved frame pointer). A
//! frame paused at a stack switch has the stack pointer its control
//! context saved. Frame pointers lead from one frame to the next, and from
//! a continuation's bottom frame (the start trampoline, whose frame pointer
//! is its `resumer` context's frame-pointer word) into the frame that
//! resumed it, which is paused at a switch: its stack pointer is the word
//! before, in the same context.

use crate::code::{FrameKind, lookup_frame_kind};
use fxtime_environ::vm::{VMContRef, VMControlContext, offsets};

/// A frame to start a walk at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PausedFrame {
    pub(crate) pc: usize,
    pub(crate) fp: usize,
    pub(crate) sp: usize,
    /// Paused at a stack switch (not a call).
    pub(crate) at_switch: bool,
}

impl PausedFrame {
    /// The wasm frame that called the trampoline or builtin whose frame
    /// pointer is `exit_fp`.
    ///
    /// # Safety
    ///
    /// `exit_fp` must be the frame pointer of a live frame called from
    /// generated code.
    pub(crate) unsafe fn caller_of(exit_fp: usize) -> PausedFrame {
        // SAFETY: the caller's promise: the frame holds the saved frame
        // pointer and the return address.
        unsafe {
            PausedFrame {
                pc: *((exit_fp + 8) as *const usize),
                fp: *(exit_fp as *const usize),
                sp: exit_fp + 16,
                at_switch: false,
            }
        }
    }

    /// The innermost frame of the chain a suspended continuation stands
    /// for, from where its context says it continues.
    pub(crate) fn suspended(context: &VMControlContext) -> PausedFrame {
        PausedFrame {
            pc: context.instruction_pointer,
            fp: context.frame_pointer,
            sp: context.stack_pointer,
            at_switch: true,
        }
    }
}

/// Calls `visit` with every wasm frame from `frame` outwards: through
/// the bottoms of continuation stacks, until the entry trampoline of the
/// activation, until the bottom of `stop`'s stack, or until `visit` says
/// to stop (returns false).
///
/// # Safety
///
/// `frame` must be a paused frame of generated code of a live stack, and
/// every frame outwards must be too (up to the entry trampoline or
/// `stop`'s stack's bottom).
pub(crate) unsafe fn walk(
    mut frame: PausedFrame,
    stop: Option<*const VMContRef>,
    mut visit: impl FnMut(&PausedFrame) -> bool,
) {
    let start_trampoline = fxtime_fibre::start_trampoline_range();
    let stop_record = stop.map(|cont| cont as usize + RESUMER_FRAME_POINTER);
    loop {
        let in_start = start_trampoline.contains(&frame.pc);
        match lookup_frame_kind(frame.pc) {
            Some(FrameKind::Wasm) => {
                if !visit(&frame) {
                    return;
                }
            }
            Some(FrameKind::HostTrampoline | FrameKind::ContinuationEntry) => {}
            None if in_start => {}
            Some(FrameKind::EntryTrampoline) | None => return,
        }
        if frame.fp == 0 || (in_start && Some(frame.fp) == stop_record) {
            return;
        }
        // SAFETY: `fp` is the frame pointer of a live frame of generated
        // code (or, in the start trampoline, a resumer context's
        // frame-pointer word), which holds the caller's frame pointer and
        // return address; a resumer context holds the stack pointer before.
        unsafe {
            let sp = if in_start {
                *((frame.fp - 8) as *const usize)
            } else {
                frame.fp + 16
            };
            frame = PausedFrame {
                pc: *((frame.fp + 8) as *const usize),
                fp: *(frame.fp as *const usize),
                sp,
                at_switch: in_start,
            };
        }
    }
}

/// Offset in a continuation object of its resumer context's frame-pointer
/// word, where the start trampoline points the frame pointer.
const RESUMER_FRAME_POINTER: usize =
    (offsets::CONT_RESUMER + offsets::CONTROL_FRAME_POINTER) as usize;
