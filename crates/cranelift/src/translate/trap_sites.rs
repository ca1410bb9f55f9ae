//! Keeps a faulting load's trap at its own wasm instruction.
//!
//! The x64 backend merges a load whose value has a single use into the
//! instruction that uses it (`add eax, [mem]`, `movl` for a zero-extended
//! address, a `cmp` folded into a branch), and the merged instruction
//! carries the user's source location. When the user belongs to another
//! wasm instruction (`i32.add (i32.load ...)`, or the next load's address
//! in `i32.load (i32.load ...)`), a fault in the load would be reported at
//! that instruction. Before compilation, each instruction that could
//! absorb such a load, and cannot trap itself, takes the load's location,
//! as does its own single user when that is a branch or select into which
//! the backend folds it. Only locations of instructions that never trap
//! change, so no other trap moves; the address map then names the load
//! for a few non-trapping instructions of its consumer.

use cranelift_codegen::ir::{self, InstructionData, Opcode, Value, ValueDef};
use std::collections::HashMap;

/// Rewrites the source locations of `func` as described above.
pub(crate) fn attribute_merged_loads(func: &mut ir::Function) {
    let uses = uses(func);
    let used_once = |v: Value| uses.get(&v).filter(|(count, _)| *count == 1);
    for inst in crate::instructions(func) {
        if !absorbs_without_trapping(func, inst) {
            continue;
        }
        // Exactly one argument from a faulting load with no other use:
        // the one the backend can merge.
        let loads: Vec<ir::Inst> = func
            .dfg
            .inst_values(inst)
            .filter_map(|v| {
                let load = faulting_load(func, v)?;
                used_once(v).map(|_| load)
            })
            .collect();
        let [load] = loads[..] else {
            continue;
        };
        let loc = func.srcloc(load);
        if func.srcloc(inst) == loc {
            continue;
        }
        func.set_srcloc(inst, loc);
        // A compare merged into the branch or select that uses it.
        let result = func.dfg.inst_results(inst).first().copied();
        if let Some(&(_, user)) = result.and_then(used_once)
            && matches!(
                func.dfg.insts[user].opcode(),
                Opcode::Brif | Opcode::Select | Opcode::SelectSpectreGuard
            )
        {
            func.set_srcloc(user, loc);
        }
    }
}

/// The load that defines `value`, if it is a load that can fault.
fn faulting_load(func: &ir::Function, value: Value) -> Option<ir::Inst> {
    let ValueDef::Result(inst, _) = func.dfg.value_def(value) else {
        return None;
    };
    match func.dfg.insts[inst] {
        InstructionData::Load { opcode, flags, .. }
            if opcode.can_load() && func.dfg.mem_flags[flags].trap_code().is_some() =>
        {
            Some(inst)
        }
        _ => None,
    }
}

/// Whether `inst` may have a load merged into it and cannot trap, call or
/// touch memory itself, so moving its location hides nothing.
fn absorbs_without_trapping(func: &ir::Function, inst: ir::Inst) -> bool {
    let opcode = func.dfg.insts[inst].opcode();
    !(opcode.can_trap()
        || opcode.is_call()
        || opcode.can_load()
        || opcode.can_store()
        || opcode.is_terminator()
        || opcode.other_side_effects())
}

/// For each value: how many times it is used as an argument (block-call
/// arguments included), and its last user.
fn uses(func: &ir::Function) -> HashMap<Value, (u32, ir::Inst)> {
    let mut uses = HashMap::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            for value in func.dfg.inst_values(inst) {
                let entry = uses.entry(value).or_insert((0, inst));
                *entry = (entry.0 + 1, inst);
            }
        }
    }
    uses
}
