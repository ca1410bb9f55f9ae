//! Fuel and epoch interruption: how generated code lets the embedder stop
//! it (`Config::consume_fuel`, `Config::epoch_interruption`).
//!
//! Both check at every loop header and at the entry of every function
//! that starts other activations: any run that does not end passes one of
//! them again and again (recursion enters functions that call, iteration
//! takes loop back edges), whichever stack it runs on, so continuations
//! switching or resuming each other for ever are caught too. Leaf
//! functions go unchecked: their callers' checks bound them.
//!
//! Fuel is the store context's (`VMStoreContext::fuel`). Each operator
//! costs 1 (`nop`, `drop`, `block`, `loop`, `end` and `else` nothing); the
//! translator adds up the costs of straight-line code and subtracts the sum
//! in one update before the operator that leaves it (a branch, a call, a
//! switch, the end of a block), so every path pays for exactly what it ran.
//! A check calls `OutOfFuel` when the fuel is negative, which traps "all
//! fuel consumed" (the same module with the same fuel stops at the same
//! check) unless the store refuels from its reserve (an async call
//! yielding every so much fuel). A function that
//! control enters only at its start and leaves only by calls, returns and
//! throws (no `try_table`, `resume`, `suspend` or `switch`) keeps its fuel
//! in a variable, a register through its loops: in memory before each of
//! those, back from memory after each call. The others update memory at
//! each payment, correct on every stack at every switch. (A trap other
//! than running out loses what was used since the last write to memory:
//! the same amount every time.)
//!
//! The epoch check tests the instance's interrupt word, in its vmctx
//! header, which the engine raises in every instance of a store when it
//! advances the epoch to the store's deadline: a compare of memory at a
//! fixed offset from the vmctx with zero, and a branch to a trap, which
//! the runtime turns into a call of the deadline logic and resumes after
//! (`fxtime_runtime::checks`). Fuel's slow path is a call that clobbers no
//! register (`Builtin::preserves_registers`). With an ordinary call in a
//! cold block, regalloc spilled the loop's values around the header, on
//! the hot path, and a call is a safepoint, before which the frontend
//! spills every live reference.

use super::FuncTranslator;
use super::env::trusted;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value, types::*};
use fxtime_environ::TrapKind;
use fxtime_environ::vm::{Builtin, offsets};
use wasmparser::Operator;

/// The fuel an operator costs.
fn fuel_cost(op: &Operator<'_>) -> i64 {
    match op {
        Operator::Nop
        | Operator::Drop
        | Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::End
        | Operator::Else => 0,
        _ => 1,
    }
}

/// Whether `op` calls a function (and returns, or tail-calls).
pub(crate) fn is_call(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
    )
}

/// Whether `op` runs another continuation (and may come back later).
pub(crate) fn is_resume_or_switch(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Resume { .. } | O::ResumeThrow { .. } | O::ResumeThrowRef { .. } | O::Switch { .. }
    )
}

/// Whether the code after `op` (or `op` itself) can be reached other than
/// from the code before it, or the code before it can go elsewhere: where
/// accumulated fuel must be paid first.
fn ends_straight_line(op: &Operator<'_>) -> bool {
    use Operator as O;
    is_call(op)
        || is_resume_or_switch(op)
        || matches!(
            op,
            O::Loop { .. }
                | O::If { .. }
                | O::Else
                | O::End
                | O::Br { .. }
                | O::BrIf { .. }
                | O::BrTable { .. }
                | O::BrOnNull { .. }
                | O::BrOnNonNull { .. }
                | O::BrOnCast { .. }
                | O::BrOnCastFail { .. }
                | O::Return
                | O::Throw { .. }
                | O::ThrowRef
                | O::TryTable { .. }
                | O::ContNew { .. }
                | O::Suspend { .. }
        )
}

/// What the checks need to know of a function body before translating it.
pub(super) struct BodySummary {
    /// Whether it starts other activations (calls of any kind, `resume`,
    /// `switch`): only then can a run enter it again and again without
    /// passing one of its loop headers, so only then does its entry need a
    /// check. A leaf (most small helpers) runs its straight-line code once
    /// per call, and its callers' checks bound how often it is called.
    pub(super) starts_activations: bool,
    /// Whether control can come back into it other than by a call's
    /// return (a `try_table`'s catch, a `resume`'s handler, a suspended
    /// `suspend` or `switch` woken up): then its fuel stays in memory.
    pub(super) reentered: bool,
    /// The offsets of the `loop`s whose every iteration suspends: their
    /// headers need no epoch check (see [`LoopScan`]).
    pub(super) suspending_loops: Vec<u32>,
}

/// Finds the loops whose every iteration suspends before it can branch:
/// a `suspend` in the loop's own body, before any operator that branches,
/// nests or leaves. Such a loop needs no epoch check at its header: to run
/// again it must be resumed, by a `resume` in a checked function (resuming
/// starts an activation) or a loop of the resumer, which is checked unless
/// it suspends every iteration too, and so on out to a resumer that is
/// checked or the host. (`switch` is no such suspension: two loops
/// switching to each other would run unchecked. Fuel keeps its checks, so
/// that where it runs out does not change.)
#[derive(Default)]
struct LoopScan {
    /// The offset of the loop being scanned.
    scanning: Option<u32>,
    found: Vec<u32>,
}

impl LoopScan {
    fn op(&mut self, offset: u32, op: &Operator<'_>) {
        use Operator as O;
        if let O::Loop { .. } = op {
            self.scanning = Some(offset);
            return;
        }
        let Some(loop_offset) = self.scanning else {
            return;
        };
        match op {
            O::Suspend { .. } => {
                self.found.push(loop_offset);
                self.scanning = None;
            }
            _ if ends_straight_line(op) && !is_call(op)
                || matches!(
                    op,
                    O::Block { .. }
                        | O::TryTable { .. }
                        | O::Try { .. }
                        | O::Catch { .. }
                        | O::CatchAll
                        | O::Delegate { .. }
                        | O::Rethrow { .. }
                        | O::Unreachable
                ) =>
            {
                self.scanning = None;
            }
            _ => {}
        }
    }
}

/// Scans a body's operators. Invalid bodies count as calling and
/// reentered; validation reports them when they are translated.
pub(super) fn summarize(body: &wasmparser::FunctionBody<'_>) -> BodySummary {
    use Operator as O;
    let mut summary = BodySummary {
        starts_activations: false,
        reentered: false,
        suspending_loops: Vec::new(),
    };
    let invalid = BodySummary {
        starts_activations: true,
        reentered: true,
        suspending_loops: Vec::new(),
    };
    let Ok(mut reader) = body.get_operators_reader() else {
        return invalid;
    };
    let mut loops = LoopScan::default();
    while !reader.eof() {
        let offset = u32::try_from(reader.original_position()).unwrap_or(u32::MAX);
        let Ok(op) = reader.read() else {
            return invalid;
        };
        loops.op(offset, &op);
        if is_call(&op) {
            summary.starts_activations = true;
        } else if is_resume_or_switch(&op) {
            summary.starts_activations = true;
            summary.reentered = true;
        } else if matches!(op, O::Suspend { .. } | O::TryTable { .. }) {
            summary.reentered = true;
        }
    }
    summary.suspending_loops = loops.found;
    summary
}

/// Whether the store's fuel must be up to date in memory before `op`: it
/// runs other code, or leaves the function (returns store it where they
/// are emitted, as a branch to the function's label returns too).
fn needs_fuel_in_memory(op: &Operator<'_>) -> bool {
    is_call(op) || matches!(op, Operator::Throw { .. } | Operator::ThrowRef)
}

impl FuncTranslator<'_> {
    /// At a function's entry: where its fuel lives, and the checks, unless
    /// the function is a leaf (see [`BodySummary`]).
    pub(super) fn entry_interruption_point(&mut self, body: &wasmparser::FunctionBody<'_>) {
        if !self.options.consume_fuel && !self.options.epoch_interruption {
            return;
        }
        let summary = summarize(body);
        self.suspending_loops = summary.suspending_loops;
        if self.options.consume_fuel && !summary.reentered {
            let var = self.builder.declare_var(I64);
            let fuel = self.load_fuel();
            self.builder.def_var(var, fuel);
            self.fuel_var = Some(var);
        }
        if summary.starts_activations {
            self.interruption_point(true);
        }
    }

    fn load_fuel(&mut self) -> Value {
        let store = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
        self.builder
            .ins()
            .load(I64, trusted(), store, offsets::STORE_FUEL as i32)
    }

    fn store_fuel(&mut self, fuel: Value) {
        let store = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
        self.builder
            .ins()
            .store(trusted(), fuel, store, offsets::STORE_FUEL as i32);
    }

    /// After `op`: a function that keeps its fuel in a variable takes it
    /// back from memory when a call returns (the callee used some).
    pub(super) fn after_fuel_sync(&mut self, op: &Operator<'_>) {
        let Some(var) = self.fuel_var else {
            return;
        };
        // After a tail call, code is unreachable: only calls that return.
        if self.reachable && is_call(op) {
            let fuel = self.load_fuel();
            self.builder.def_var(var, fuel);
        }
    }

    /// At a function's entry, and at a loop header with `epoch` false where
    /// every iteration suspends (see `LoopScan`): the fuel and epoch checks
    /// the configuration asks for.
    fn interruption_point(&mut self, epoch: bool) {
        if self.options.consume_fuel {
            self.check_fuel();
        }
        if self.options.epoch_interruption && epoch {
            self.check_epoch();
        }
    }

    /// At the header of the loop at the current source offset.
    pub(super) fn loop_interruption_point(&mut self) {
        let offset = self.builder.srcloc().bits();
        let suspends = self.suspending_loops.contains(&offset);
        self.interruption_point(!suspends);
    }

    /// Before translating `op`: adds its cost, and pays what straight-line
    /// code accumulated if `op` ends it.
    pub(super) fn account_fuel(&mut self, op: &Operator<'_>) {
        if !self.options.consume_fuel {
            return;
        }
        self.fuel_pending += fuel_cost(op);
        if ends_straight_line(op) && self.fuel_pending > 0 {
            match self.fuel_var {
                Some(var) => {
                    let fuel = self.builder.use_var(var);
                    let fuel = self.builder.ins().iadd_imm_s(fuel, -self.fuel_pending);
                    self.builder.def_var(var, fuel);
                }
                None => {
                    let fuel = self.load_fuel();
                    let fuel = self.builder.ins().iadd_imm_s(fuel, -self.fuel_pending);
                    self.store_fuel(fuel);
                }
            }
            self.fuel_pending = 0;
        }
        if needs_fuel_in_memory(op) {
            self.fuel_to_memory();
        }
    }

    /// Before a call, a throw or a return: the fuel of a function that
    /// keeps it in a variable goes to memory.
    pub(super) fn fuel_to_memory(&mut self) {
        if let Some(var) = self.fuel_var {
            let fuel = self.builder.use_var(var);
            self.store_fuel(fuel);
        }
    }

    fn check_fuel(&mut self) {
        let fuel = match self.fuel_var {
            Some(var) => self.builder.use_var(var),
            None => self.load_fuel(),
        };
        let exhausted = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::SignedLessThan, fuel, 0);
        // `OutOfFuel` refuels from the store's reserve or traps by itself; it
        // clobbers no register (`Builtin::preserves_registers`). A variable
        // goes to memory first, so that the store tells how much is left,
        // and comes back refuelled.
        let fuel_var = self.fuel_var;
        self.cold_path(exhausted, |t| {
            if fuel_var.is_some() {
                t.store_fuel(fuel);
            }
            t.call_builtin_cold(Builtin::OutOfFuel, &[]);
            if let Some(var) = fuel_var {
                let fuel = t.load_fuel();
                t.builder.def_var(var, fuel);
            }
        });
    }

    /// Emits `emit` in a cold block entered when `condition` is non-zero,
    /// then goes on where both paths meet.
    fn cold_path(&mut self, condition: Value, emit: impl FnOnce(&mut Self)) {
        let cold = self.builder.create_block();
        let resume = self.builder.create_block();
        self.builder.ins().brif(condition, cold, &[], resume, &[]);
        self.builder.set_cold_block(cold);
        self.enter_block(cold);
        emit(self);
        self.builder.ins().jump(resume, &[]);
        self.enter_block(resume);
    }

    fn check_epoch(&mut self) {
        // Not read-only: the engine raises the word while wasm runs.
        let vmctx = self.vmctx;
        let interrupt =
            self.builder
                .ins()
                .load(I64, trusted(), vmctx, offsets::VMCTX_INTERRUPT as i32);
        // A trap the runtime resumes after (see `fxtime_runtime::checks`):
        // no call, so nothing is spilled or moved on the hot path.
        self.trap_if(interrupt, TrapKind::Interrupt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bodies of the module's functions, summarized.
    fn summaries(wat: &str) -> Vec<BodySummary> {
        let wasm = wat::parse_str(wat).unwrap();
        let mut summaries = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                summaries.push(summarize(&body));
            }
        }
        summaries
    }

    #[test]
    fn only_loops_that_suspend_before_they_can_branch_go_unchecked() {
        let found = summaries(
            r#"(module
              (type $f (func))
              (type $k (cont $f))
              (tag $t)
              (func $suspends (local $i i32)
                (loop $a
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (suspend $t)
                  (br_if $a (local.get $i))))
              (func $branches_first (local $i i32)
                (loop $b
                  (br_if $b (local.get $i))
                  (suspend $t)
                  (br $b)))
              (func $nested (local $i i32)
                (loop $c
                  (block (br_if $c (local.get $i)))
                  (suspend $t)
                  (br $c)))
              (func $resumes_first (param $k (ref $k))
                (loop $d
                  (resume $k (local.get $k))
                  (suspend $t)
                  (br $d)))
              (func $inner_only (local $i i32)
                (loop $e
                  (br_if 1 (local.get $i))
                  (loop $f
                    (suspend $t)
                    (br $e)))))"#,
        )
        .into_iter()
        .map(|s| s.suspending_loops.len())
        .collect::<Vec<_>>();
        assert_eq!(found, [1, 0, 0, 0, 1]);
    }
}
