//! Where a frame keeps its GC and continuation references when it is
//! paused: at a call, or at a stack switch.
//!
//! The translator declares every value that holds a GC reference (an
//! `i64`) or a continuation reference (an `i128`) (see
//! `translate::FuncTranslator::declare_gc_values`); Cranelift's frontend
//! keeps each one that is live across a call or a `stack_switch` in a
//! stack slot for its whole life and lists those slots at the
//! instruction. For calls the backend turns that list into a stack map at
//! the return address. A `stack_switch` is a call to the frontend but not
//! to the x64 backend, which records no map for it, so this module moves
//! each switch's list into debug tags on the instruction (which the
//! backend does place), and reads the slots' final offsets from the frame
//! layout.

use cranelift_codegen::MachBufferFinalized;
use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::{self, DebugTag, InstBuilder, Opcode, types::I64, types::I128};
use fxtime_environ::StackMap;

/// The first tag of a switch site's list.
const SWITCH_SITE: u32 = u32::from_le_bytes(*b"swGC");

/// Set in a switch site's offset tag when the slot holds a continuation
/// reference (frame offsets are far smaller).
const CONT_SLOT: u32 = 1 << 31;

/// Tags every `stack_switch` with the slots of the references live across
/// it: `SWITCH_SITE`, then each slot and the offset in it, with
/// `CONT_SLOT` for a continuation reference (so a
/// switch with none is tagged too, and a paused frame's site is never
/// mistaken for an earlier one). A switch the frontend listed slots for is
/// replaced by a copy without the list.
pub(crate) fn tag_switch_sites(func: &mut ir::Function) {
    let mut sites = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            if func.dfg.insts[inst].opcode() == Opcode::StackSwitch {
                sites.push(inst);
            }
        }
    }
    for inst in sites {
        let mut tags = vec![DebugTag::User(SWITCH_SITE)];
        let Some(entries) = func.dfg.user_stack_map_entries(inst) else {
            func.debug_tags.set(inst, tags);
            continue;
        };
        for entry in entries {
            let kind = match entry.ty {
                I64 => 0,
                I128 => CONT_SLOT,
                _ => continue,
            };
            tags.push(DebugTag::StackSlot(entry.slot));
            tags.push(DebugTag::User(entry.offset | kind));
        }
        let args = func.dfg.inst_args(inst).to_vec();
        let old_result = func.dfg.first_result(inst);
        let srcloc = func.srclocs[inst];
        let mut pos = FuncCursor::new(func).at_inst(inst);
        let new_result = pos.ins().stack_switch(args[0], args[1], args[2]);
        let new_inst = pos
            .func
            .dfg
            .value_def(new_result)
            .inst()
            .expect("an instruction's result");
        pos.func.srclocs[new_inst] = srcloc;
        pos.func.debug_tags.set(new_inst, tags);
        // The old instruction (and its stack map, which the backend would
        // find no safepoint for) leaves the layout.
        pos.func.dfg.clear_results(inst);
        pos.func.dfg.change_to_alias(old_result, new_result);
        pos.func.layout.remove_inst(inst);
    }
}

/// The stack maps of compiled code: those of calls (by return offset) and
/// those of switch sites (by the offset of the switch's first instruction;
/// a paused frame's resume address lies just after it), each sorted.
pub(crate) fn collect(
    buffer: &MachBufferFinalized<cranelift_codegen::Final>,
) -> (Vec<StackMap>, Vec<StackMap>) {
    let calls = buffer
        .user_stack_maps()
        .iter()
        .filter_map(|(offset, _span, map)| {
            let of_type = |ty| {
                map.entries()
                    .filter(|(t, _)| *t == ty)
                    .map(|(_, sp_offset)| sp_offset)
                    .collect::<Box<[u32]>>()
            };
            let (slots, cont_slots) = (of_type(I64), of_type(I128));
            (!slots.is_empty() || !cont_slots.is_empty()).then_some(StackMap {
                offset: *offset,
                slots,
                cont_slots,
            })
        })
        .collect();
    let mut switches = Vec::new();
    if let Some(layout) = buffer.frame_layout() {
        for list in buffer.debug_tags() {
            let [DebugTag::User(SWITCH_SITE), rest @ ..] = list.tags else {
                continue;
            };
            let (mut slots, mut cont_slots) = (Vec::new(), Vec::new());
            for pair in rest.chunks_exact(2) {
                if let [DebugTag::StackSlot(slot), DebugTag::User(tag)] = pair {
                    let offset = layout.stackslots[*slot].offset + (tag & !CONT_SLOT);
                    if tag & CONT_SLOT == 0 {
                        slots.push(offset);
                    } else {
                        cont_slots.push(offset);
                    }
                }
            }
            switches.push(StackMap {
                offset: list.offset,
                slots: slots.into(),
                cont_slots: cont_slots.into(),
            });
        }
    }
    switches.sort_by_key(|m| m.offset);
    (calls, switches)
}
