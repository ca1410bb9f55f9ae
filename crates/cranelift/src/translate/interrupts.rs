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
//! Fuel lives in the store context (`VMStoreContext::fuel`), not in a
//! register, so it is right on every stack at every switch. Each operator
//! costs 1 (`nop`, `drop`, `block`, `loop`, `end` and `else` nothing); the
//! translator adds up the costs of straight-line code and subtracts the sum
//! in one update before the operator that leaves it (a branch, a call, a
//! switch, the end of a block), so every path pays for exactly what it ran.
//! A check traps "all fuel consumed" when the fuel is negative: the same
//! module with the same fuel stops at the same check.
//!
//! The epoch check tests the store's interrupt word (`VMEpochState`),
//! which the engine raises when it advances the epoch to the store's
//! deadline: a load of its address from the vmctx, and a compare with
//! memory. The slow path calls `EpochInterrupt`, which traps or sets a new
//! deadline.

use super::FuncTranslator;
use super::env::trusted;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, types::*};
use fxtime_environ::TrapKind;
use fxtime_environ::vm::{Builtin, EPOCH_ERROR, offsets};
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

/// Whether the code after `op` (or `op` itself) can be reached other than
/// from the code before it, or the code before it can go elsewhere: where
/// accumulated fuel must be paid first.
fn ends_straight_line(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
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
            | O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::Throw { .. }
            | O::ThrowRef
            | O::TryTable { .. }
            | O::ContNew { .. }
            | O::Resume { .. }
            | O::ResumeThrow { .. }
            | O::ResumeThrowRef { .. }
            | O::Suspend { .. }
            | O::Switch { .. }
    )
}

/// Whether a function body starts other activations (calls of any kind,
/// `resume`, `switch`): only then can a run enter it again and again
/// without passing one of its loop headers, so only then does its entry
/// need a check. A leaf (most small helpers) runs its straight-line code
/// once per call, and its callers' checks bound how often it is called.
/// Invalid bodies count as non-leaves; validation reports them later.
pub(super) fn starts_activations(body: &wasmparser::FunctionBody<'_>) -> bool {
    use Operator as O;
    let Ok(mut reader) = body.get_operators_reader() else {
        return true;
    };
    while !reader.eof() {
        match reader.read() {
            Ok(
                O::Call { .. }
                | O::CallIndirect { .. }
                | O::CallRef { .. }
                | O::ReturnCall { .. }
                | O::ReturnCallIndirect { .. }
                | O::ReturnCallRef { .. }
                | O::Resume { .. }
                | O::ResumeThrow { .. }
                | O::ResumeThrowRef { .. }
                | O::Switch { .. },
            )
            | Err(_) => return true,
            Ok(_) => {}
        }
    }
    false
}

impl FuncTranslator<'_> {
    /// At a function's entry: the checks, unless the function is a leaf
    /// (see [`starts_activations`]).
    pub(super) fn entry_interruption_point(&mut self, body: &wasmparser::FunctionBody<'_>) {
        let checks = self.options.consume_fuel || self.options.epoch_interruption;
        if checks && starts_activations(body) {
            self.interruption_point();
        }
    }

    /// At a function's entry and at each loop header: the fuel and epoch
    /// checks the configuration asks for.
    pub(super) fn interruption_point(&mut self) {
        if self.options.consume_fuel {
            self.check_fuel();
        }
        if self.options.epoch_interruption {
            self.check_epoch();
        }
    }

    /// Before translating `op`: adds its cost, and pays what straight-line
    /// code accumulated if `op` ends it.
    pub(super) fn account_fuel(&mut self, op: &Operator<'_>) {
        if !self.options.consume_fuel {
            return;
        }
        self.fuel_pending += fuel_cost(op);
        if ends_straight_line(op) && self.fuel_pending > 0 {
            let store = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
            let offset = offsets::STORE_FUEL as i32;
            let fuel = self.builder.ins().load(I64, trusted(), store, offset);
            let fuel = self.builder.ins().iadd_imm_s(fuel, -self.fuel_pending);
            self.builder.ins().store(trusted(), fuel, store, offset);
            self.fuel_pending = 0;
        }
    }

    fn check_fuel(&mut self) {
        let store = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
        let fuel = self
            .builder
            .ins()
            .load(I64, trusted(), store, offsets::STORE_FUEL as i32);
        let exhausted = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::SignedLessThan, fuel, 0);
        self.trap_if(exhausted, TrapKind::OutOfFuel);
    }

    fn check_epoch(&mut self) {
        // A plain load of the state's address, repeated at every check:
        // hoisted out of a loop, it would be live across the slow path's
        // call and take a callee-saved register, which regalloc then
        // shuffles (measured: more instructions per iteration, not fewer).
        let vmctx = self.vmctx;
        let state = self.load_pointer(vmctx, offsets::VMCTX_EPOCH, trusted());
        let interrupt =
            self.builder
                .ins()
                .load(I64, trusted(), state, offsets::EPOCH_INTERRUPT as i32);
        let reached = self.builder.ins().icmp_imm_u(IntCC::NotEqual, interrupt, 0);
        let interrupted = self.builder.create_block();
        let resume = self.builder.create_block();
        self.builder
            .ins()
            .brif(reached, interrupted, &[], resume, &[]);
        self.builder.set_cold_block(interrupted);
        self.enter_block(interrupted);
        let status = self
            .call_builtin_cold(Builtin::EpochInterrupt, &[])
            .expect("EpochInterrupt returns a status");
        self.trap_if_zero(status, TrapKind::Interrupt);
        let failed = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, status, i64::from(EPOCH_ERROR));
        self.trap_if(failed, TrapKind::HostError);
        self.builder.ins().jump(resume, &[]);
        self.enter_block(resume);
    }
}
