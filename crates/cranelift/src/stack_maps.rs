//! Where a frame keeps its GC references when it is paused: at a call, or
//! at a stack switch.
//!
//! The translator declares every value that holds a GC reference (see
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
use cranelift_codegen::ir::{self, DebugTag, InstBuilder, Opcode, types::I64};
use fxtime_environ::StackMap;

/// The first tag of a switch site's list.
const SWITCH_SITE: u32 = u32::from_le_bytes(*b"swGC");

/// Tags every `stack_switch` with the slots of the GC references live
/// across it: `SWITCH_SITE`, then each slot and the offset in it (so a
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
            if entry.ty == I64 {
                tags.push(DebugTag::StackSlot(entry.slot));
                tags.push(DebugTag::User(entry.offset));
            }
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
            let slots: Box<[u32]> = map
                .entries()
                .filter(|(ty, _)| *ty == I64)
                .map(|(_, sp_offset)| sp_offset)
                .collect();
            (!slots.is_empty()).then_some(StackMap {
                offset: *offset,
                slots,
            })
        })
        .collect();
    let mut switches = Vec::new();
    if let Some(layout) = buffer.frame_layout() {
        for list in buffer.debug_tags() {
            let [DebugTag::User(SWITCH_SITE), rest @ ..] = list.tags else {
                continue;
            };
            let slots: Box<[u32]> = rest
                .chunks_exact(2)
                .filter_map(|pair| match pair {
                    [DebugTag::StackSlot(slot), DebugTag::User(offset)] => {
                        Some(layout.stackslots[*slot].offset + offset)
                    }
                    _ => None,
                })
                .collect();
            switches.push(StackMap {
                offset: list.offset,
                slots,
            });
        }
    }
    switches.sort_by_key(|m| m.offset);
    (calls, switches)
}
