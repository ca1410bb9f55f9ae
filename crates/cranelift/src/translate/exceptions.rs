//! Exception handling: `try_table`, `throw` and `throw_ref`.
//!
//! Each catch clause of a `try_table` gets a landing block that takes the
//! exception (an exnref, delivered in the payload register), loads what the
//! clause needs and branches to its label. While a `try_table` is open,
//! every call is a `try_call` whose exception table lists the landing
//! blocks of all enclosing clauses, innermost first, plus this frame's
//! vmctx as the context that gives the tags their identity. Throwing is a
//! call of the `Throw` builtin, so a `throw` inside a `try_table` lands in
//! the same function's handlers through the same tables.

use super::FuncTranslator;
use crate::abi::{POINTER, ir_type, trap_code, value_flags};
use cranelift_codegen::ir::{
    self, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem, ExceptionTag, InstBuilder,
    Value,
};
use fxtime_environ::vm::{Builtin, VAL_RAW_SIZE, offsets};
use fxtime_environ::{TagIndex, TrapKind, WasmResult};
use wasmparser::{Catch, Operator, TryTable};

/// The catch clauses of one open `try_table`.
pub(crate) struct HandlerScope {
    clauses: Vec<Clause>,
}

struct Clause {
    /// The tag caught, or `None` for `catch_all`.
    tag: Option<TagIndex>,
    /// Entered with the exnref as its parameter.
    landing: ir::Block,
}

/// What a call calls.
pub(crate) enum Callee {
    Direct(ir::FuncRef),
    Indirect(ir::SigRef, Value),
}

fn payload_offset(i: usize) -> i32 {
    (offsets::EXCEPTION_PAYLOAD + i as u32 * VAL_RAW_SIZE) as i32
}

impl FuncTranslator<'_> {
    pub(super) fn translate_exceptions(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::TryTable { try_table } => self.try_table(try_table)?,
            Operator::Throw { tag_index } => self.throw(TagIndex(*tag_index)),
            Operator::ThrowRef => {
                let exception = self.pop();
                self.trap_if_zero(exception, TrapKind::NullExceptionReference);
                self.throw_exception(exception);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn try_table(&mut self, try_table: &TryTable) -> WasmResult<()> {
        let (params, results) = self.block_type(try_table.ty)?;
        let body = self.builder.create_block();
        self.builder.ins().jump(body, &[]);
        // Catch labels are resolved outside the try_table's own frame.
        let mut clauses = Vec::with_capacity(try_table.catches.len());
        for catch in &try_table.catches {
            let (tag, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(TagIndex(tag)), label, false),
                Catch::OneRef { tag, label } => (Some(TagIndex(tag)), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let (target, _) = self.branch_target(label);
            let landing = self.builder.create_block();
            let exception = self.builder.append_block_param(landing, POINTER);
            self.builder.switch_to_block(landing);
            let mut args = Vec::new();
            if let Some(tag) = tag {
                let types: Vec<_> = self.module.tag_type(tag).params().collect();
                for (i, ty) in types.into_iter().enumerate() {
                    let value = self.builder.ins().load(
                        ir_type(ty),
                        value_flags(),
                        exception,
                        payload_offset(i),
                    );
                    args.push(BlockArg::Value(value));
                }
            }
            if with_ref {
                args.push(BlockArg::Value(exception));
            }
            self.builder.ins().jump(target, &args);
            clauses.push(Clause { tag, landing });
        }
        self.builder.switch_to_block(body);
        self.builder.seal_block(body);
        let destination = self.block_with_params(&results);
        self.push_frame(
            super::control::FrameKind::TryTable,
            destination,
            params.len(),
            results.len(),
        );
        self.handler_scopes.push(HandlerScope { clauses });
        Ok(())
    }

    /// Closes the innermost `try_table`'s handlers: all calls that can land
    /// in them have been emitted.
    pub(super) fn end_try_table(&mut self) {
        if let Some(scope) = self.handler_scopes.pop() {
            for clause in scope.clauses {
                self.builder.seal_block(clause.landing);
            }
        }
    }

    fn throw(&mut self, tag: TagIndex) {
        let payload = self.pop_values(self.module.tag_type(tag).params.len());
        let exception = self.new_exception(tag, &payload);
        self.throw_exception(exception);
    }

    /// A new exception of `tag` carrying `payload`.
    pub(crate) fn new_exception(&mut self, tag: TagIndex, payload: &[Value]) -> Value {
        let tag_index = self.i32_const(tag.0);
        let exception = self
            .call_builtin(Builtin::ExceptionNew, &[tag_index])
            .expect("ExceptionNew returns the exception");
        self.trap_if_zero(exception, fxtime_environ::TrapKind::GcHeapOutOfMemory);
        for (i, value) in payload.iter().enumerate() {
            self.builder
                .ins()
                .store(value_flags(), *value, exception, payload_offset(i));
        }
        exception
    }

    pub(crate) fn throw_exception(&mut self, exception: Value) {
        self.call_builtin(Builtin::Throw, &[exception]);
        // `Throw` never returns.
        self.builder.ins().trap(trap_code(TrapKind::Unreachable));
        self.reachable = false;
    }

    /// Emits a call of `callee` with signature `sig`: a plain call, or a
    /// `try_call` when handlers are open. Returns the results.
    pub(crate) fn emit_call(
        &mut self,
        callee: Callee,
        sig: ir::SigRef,
        args: &[Value],
    ) -> Vec<Value> {
        if self.handler_scopes.is_empty() {
            let call = match callee {
                Callee::Direct(func) => self.builder.ins().call(func, args),
                Callee::Indirect(sig, pointer) => {
                    self.builder.ins().call_indirect(sig, pointer, args)
                }
            };
            return self.builder.inst_results(call).to_vec();
        }
        let returns: Vec<ir::Type> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let normal = self.block_with_params(&returns);
        let pool = &mut self.builder.func.dfg.value_lists;
        let return_values = (0..returns.len()).map(|i| BlockArg::TryCallRet(i as u32));
        let normal_return = BlockCall::new(normal, return_values, pool);
        let mut items = vec![ExceptionTableItem::Context(self.vmctx)];
        'scopes: for scope in self.handler_scopes.iter().rev() {
            for clause in &scope.clauses {
                let landing = BlockCall::new(clause.landing, [BlockArg::TryCallExn(0)], pool);
                match clause.tag {
                    Some(tag) => items.push(ExceptionTableItem::Tag(
                        ExceptionTag::from_u32(tag.0),
                        landing,
                    )),
                    None => {
                        items.push(ExceptionTableItem::Default(landing));
                        break 'scopes;
                    }
                }
            }
        }
        let table = self
            .builder
            .func
            .dfg
            .exception_tables
            .push(ExceptionTableData::new(sig, normal_return, items));
        match callee {
            Callee::Direct(func) => self.builder.ins().try_call(func, args, table),
            Callee::Indirect(_, pointer) => {
                self.builder.ins().try_call_indirect(pointer, args, table)
            }
        };
        self.builder.switch_to_block(normal);
        self.builder.seal_block(normal);
        self.builder.block_params(normal).to_vec()
    }
}
