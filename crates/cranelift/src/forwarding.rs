//! Functions that only forward to another: no stack check of their own.
//!
//! Linkers wrap the exports of C programs in functions that call the
//! exported function and then the module's (usually empty) destructors:
//! benchfx's coroutines all start through such a wrapper, which, with the
//! empty functions inlined into it, calls one function with its own
//! arguments and returns that function's results. Its stack check (two
//! dependent loads, a compare and a branch) was a third of what it cost.
//!
//! Such a function, a *forwarder*, keeps its frame (so backtraces still
//! list it) but checks no stack limit: its frame is two words, and the
//! function it calls checks the limit before it uses any stack. Calls
//! through forwarders thus cannot run away, except around a cycle of
//! forwarders, of which one keeps its check ([`break_cycles`]). Two words
//! past the limit are within the slack every stack keeps below it (host
//! code's headroom on a continuation, the rest of the thread's stack on
//! the main one).

use cranelift_codegen::ir::{self, BlockArg, ExternalName, Opcode};
use std::collections::HashMap;

/// The defined function `func` forwards to, if it does: it calls that
/// function directly, passing its own vmctx as both vmctx
/// arguments and its parameters in order, and returns exactly the call's
/// results; everything else it does has no effect (no store, trap, call
/// or branch but unconditional jumps).
pub(crate) fn target(func: &ir::Function, num_imported: u32) -> Option<usize> {
    let entry = func.layout.entry_block()?;
    let params = func.dfg.block_params(entry).to_vec();
    if params.len() > MAX_PARAMS + 2 || func.signature.returns.len() > MAX_RESULTS {
        return None;
    }
    let vmctx = *params.first()?;
    let mut expected_args = vec![vmctx, vmctx];
    expected_args.extend_from_slice(params.get(2..)?);
    // Values of the block parameters along the one path there is.
    let mut bound: HashMap<ir::Value, ir::Value> = HashMap::new();
    let resolve = |bound: &HashMap<ir::Value, ir::Value>, value: ir::Value| {
        let value = func.dfg.resolve_aliases(value);
        bound.get(&value).copied().unwrap_or(value)
    };
    let mut call: Option<(ir::FuncRef, Vec<ir::Value>)> = None;
    let mut block = entry;
    // A path that visits more blocks than there are is a loop.
    for _ in 0..func.layout.blocks().count() {
        let mut next = None;
        for inst in func.layout.block_insts(block) {
            let data = &func.dfg.insts[inst];
            let args: Vec<ir::Value> = func
                .dfg
                .inst_args(inst)
                .iter()
                .map(|&v| resolve(&bound, v))
                .collect();
            match data.opcode() {
                Opcode::Call if call.is_none() => {
                    let ir::instructions::CallInfo::Direct(callee, _) =
                        data.analyze_call(&func.dfg.value_lists, &func.dfg.exception_tables)
                    else {
                        return None;
                    };
                    if args != expected_args {
                        return None;
                    }
                    call = Some((callee, func.dfg.inst_results(inst).to_vec()));
                }
                Opcode::Jump => {
                    let destination = data
                        .branch_destination(&func.dfg.jump_tables, &func.dfg.exception_tables)[0];
                    let target = destination.block(&func.dfg.value_lists);
                    let values = destination.args(&func.dfg.value_lists);
                    let params = func.dfg.block_params(target);
                    for (param, value) in params.iter().zip(values) {
                        let BlockArg::Value(value) = value else {
                            return None;
                        };
                        let value = resolve(&bound, value);
                        bound.insert(*param, value);
                    }
                    next = Some(target);
                    break;
                }
                Opcode::Return => {
                    let (callee, results) = call?;
                    if args != results {
                        return None;
                    }
                    return defined_target(func, callee, num_imported);
                }
                _ if has_effect(func, inst) => return None,
                _ => {}
            }
        }
        block = next?;
    }
    None
}

/// Whether `inst` does anything but compute its results.
fn has_effect(func: &ir::Function, inst: ir::Inst) -> bool {
    let data = &func.dfg.insts[inst];
    let opcode = data.opcode();
    opcode.is_call()
        || opcode.is_branch()
        || opcode.is_terminator()
        || opcode.can_trap()
        || opcode.can_store()
        || opcode.other_side_effects()
        || data.memflags_trap_code(&func.dfg).is_some()
}

/// The defined index of the wasm function `callee` names.
fn defined_target(func: &ir::Function, callee: ir::FuncRef, num_imported: u32) -> Option<usize> {
    let ExternalName::User(name) = &func.dfg.ext_funcs[callee].name else {
        return None;
    };
    let name = &func.params.user_named_funcs()[*name];
    (name.namespace == 0)
        .then(|| name.index.checked_sub(num_imported))
        .flatten()
        .map(|i| i as usize)
}

/// The most wasm parameters and results a forwarder may have: all of them
/// travel in registers, so its frame is the return address and the saved
/// frame pointer, whatever it forwards.
const MAX_PARAMS: usize = 6;
const MAX_RESULTS: usize = 2;

/// Keeps one forwarder of every cycle of them, by defined index, from
/// skipping its check: clears the target of each that the chain from it
/// never leaves.
pub(crate) fn break_cycles(targets: &mut [Option<usize>]) {
    for start in 0..targets.len() {
        let mut at = targets[start];
        for _ in 0..targets.len() {
            match at {
                Some(next) => at = targets.get(next).copied().flatten(),
                None => break,
            }
        }
        if at.is_some() {
            targets[start] = None;
        }
    }
}

/// Compiles forwarder `func` without its stack check.
pub(crate) fn skip_stack_check(func: &mut ir::Function) {
    func.stack_limit = None;
}
