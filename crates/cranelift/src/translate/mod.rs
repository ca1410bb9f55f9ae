//! WebAssembly function bodies to Cranelift IR.
//!
//! ```text
//!   operators (wasmparser) --validate--> FuncTranslator --CLIF--> ir::Function
//!                                         |- numeric    constants, arithmetic, conversions
//!                                         |- control    blocks, branches, return
//!                                         |- variables  locals and globals
//!                                         |- memory     loads, stores, bulk memory
//!                                         |- table      tables and references
//!                                         |- calls      direct and indirect calls
//!                                         |- exceptions try_table, throw
//!                                         |- gc         i31 references, ref.eq, extern conversions
//!                                         |- objects    allocation, structs
//!                                         |- arrays     arrays
//!                                         |- simd       v128 and relaxed SIMD
//!                                         `- stack_switching  continuations (CLIF from fxtime-wasmfx)
//! ```
//!
//! Each operator is validated right before it is translated, so the
//! translator can rely on a well-typed operand stack. Operands live on
//! `stack` as SSA values; locals are Cranelift variables.

mod arrays;
mod calls;
mod casts;
mod control;
mod env;
mod exceptions;
mod gc;
mod interrupts;
mod memory;
mod numeric;
mod objects;
mod simd;
mod stack_switching;
mod table;
mod trap_sites;
mod variables;

pub(crate) use interrupts::{is_call, is_resume_or_switch};
pub(crate) use stack_switching::traps;

use crate::abi::{enter_function, ir_type, wasm_signature};
use crate::{CodegenOptions, Host};
use control::ControlFrame;
use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::{self, InstBuilder, UserFuncName, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use fxtime_environ::vm::Builtin;
use fxtime_environ::{
    CompositeKind, DefinedFuncIndex, FuncIndex, FunctionBodyData, ModuleInfo, TypeIndex, VMOffsets,
    WasmError, WasmResult, WasmValType,
};
use std::collections::HashMap;
use wasmparser::Operator;

/// Translates the body of defined function `index` into a Cranelift function.
pub(crate) fn translate_function(
    module: &ModuleInfo,
    offsets: &VMOffsets,
    index: DefinedFuncIndex,
    body: FunctionBodyData<'_>,
    host: Host<'_>,
    options: CodegenOptions,
) -> WasmResult<ir::Function> {
    let func_index = module.func_index(index);
    let ty = module.func_type(func_index);
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(0, func_index.0), wasm_signature(ty));
    env::install_stack_limit(&mut func);
    let mut fctx = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut fctx);
    let params = enter_function(&mut builder);
    // The entry block only jumps to the body, so that code computed once
    // per call (`FuncTranslator::prologue`) can be added to it later.
    let body_block = builder.create_block();
    let prologue_end = builder.ins().jump(body_block, &[]);
    builder.switch_to_block(body_block);
    builder.seal_block(body_block);

    let mut t = FuncTranslator {
        builder,
        module,
        offsets,
        stack: Vec::new(),
        control: Vec::new(),
        locals: Vec::new(),
        func_index,
        reachable: true,
        unreachable_depth: 0,
        vmctx: params[0],
        sig_refs: HashMap::new(),
        func_refs: HashMap::new(),
        builtin_sigs: HashMap::new(),
        handler_scopes: Vec::new(),
        prologue_end,
        options,
        fuel_pending: 0,
        fuel_var: None,
        suspending_loops: Vec::new(),
        host,
        declared_stack: Vec::new(),
        fresh_continuation: None,
    };
    for (ty, value) in ty.params.iter().zip(&params[2..]) {
        let var = t.declare_local(*ty);
        t.builder.def_var(var, *value);
    }
    t.translate_body(body)?;
    t.builder.finalize(host.isa.frontend_config());
    trap_sites::attribute_merged_loads(&mut func);
    Ok(func)
}

/// Whether `op` leaves a fresh continuation unconsumed (see
/// `FuncTranslator::fresh_continuation`): it moves or makes values and
/// runs no code that could consume one. The consuming operators take the
/// fresh reference themselves, at most once.
fn keeps_fresh_continuation(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::LocalGet { .. }
            | Operator::LocalSet { .. }
            | Operator::LocalTee { .. }
            | Operator::I32Const { .. }
            | Operator::I64Const { .. }
            | Operator::F32Const { .. }
            | Operator::F64Const { .. }
            | Operator::RefFunc { .. }
            | Operator::ContNew { .. }
            | Operator::Resume { .. }
            | Operator::ResumeThrow { .. }
            | Operator::ResumeThrowRef { .. }
            | Operator::Switch { .. }
            | Operator::ContBind { .. }
    )
}

/// State of the translation of one function.
pub(crate) struct FuncTranslator<'a> {
    pub(crate) builder: FunctionBuilder<'a>,
    pub(crate) module: &'a ModuleInfo,
    pub(crate) offsets: &'a VMOffsets,
    /// The wasm operand stack.
    pub(crate) stack: Vec<Value>,
    /// Enclosing blocks, loops and ifs; the function body is the first.
    pub(crate) control: Vec<ControlFrame>,
    /// Parameters, then declared locals.
    pub(crate) locals: Vec<Variable>,
    /// The function being translated.
    func_index: FuncIndex,
    /// Whether the current position can be reached. Operators after a
    /// branch, `return` or `unreachable` are skipped until the enclosing
    /// block ends.
    pub(crate) reachable: bool,
    /// While unreachable: how many skipped blocks are open.
    unreachable_depth: u32,
    /// This function's `VMContext`.
    pub(crate) vmctx: Value,
    sig_refs: HashMap<TypeIndex, ir::SigRef>,
    func_refs: HashMap<FuncIndex, ir::FuncRef>,
    builtin_sigs: HashMap<Builtin, ir::SigRef>,
    /// Catch clauses of the open `try_table`s, outermost first.
    handler_scopes: Vec<exceptions::HandlerScope>,
    /// The entry block's jump to the body: instructions inserted before it
    /// run once per call.
    prologue_end: ir::Inst,
    /// Fuel and epoch checks to emit.
    options: CodegenOptions,
    /// The fuel cost of the straight-line code translated since fuel was
    /// last paid (see `interrupts`).
    fuel_pending: i64,
    /// The variable holding the fuel, in a function that keeps it out of
    /// memory (see `interrupts`).
    fuel_var: Option<Variable>,
    /// The offsets of the loops whose headers need no epoch check (see
    /// `interrupts`).
    suspending_loops: Vec<u32>,
    /// The target, for the operators whose best lowering depends on it.
    host: Host<'a>,
    /// The operand stack as `declare_gc_values` last saw it.
    declared_stack: Vec<Value>,
    /// The reference the last `cont.new` or `cont.bind` made, while only
    /// operators that run no other code (see `keeps_fresh_continuation`)
    /// have followed: its object's revision is still the one it holds.
    pub(crate) fresh_continuation: Option<Value>,
}

impl FuncTranslator<'_> {
    /// A cursor that inserts at the end of the function's entry block,
    /// for values that are the same throughout a call. What it inserts
    /// uses no wasm locals or operands, only the function's parameters.
    pub(crate) fn prologue(&mut self) -> FuncCursor<'_> {
        FuncCursor::new(self.builder.func).at_inst(self.prologue_end)
    }

    fn translate_body(&mut self, body: FunctionBodyData<'_>) -> WasmResult<()> {
        let mut validator = body.validator.into_validator(Default::default());
        let mut locals = body.body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, ty) = locals.read()?;
            validator.define_locals(offset, count, ty)?;
            let ty = self.module.convert_val_type(ty)?;
            let zero = self.zero(ty)?;
            for _ in 0..count {
                let var = self.declare_local(ty);
                self.builder.def_var(var, zero);
            }
        }
        self.begin_function_body();
        self.entry_interruption_point(&body.body);
        let mut reader = wasmparser::OperatorsReader::new(locals.get_binary_reader());
        while !reader.eof() {
            let offset = reader.original_position();
            let op = reader.read()?;
            validator.op(offset, &op)?;
            // Lets traps and backtraces name the instruction.
            self.builder.set_srcloc(ir::SourceLoc::new(
                u32::try_from(offset).unwrap_or(u32::MAX),
            ));
            if !keeps_fresh_continuation(&op) {
                self.fresh_continuation = None;
            }
            self.translate_operator(&op).map_err(|e| match e {
                WasmError::Unsupported(what) => {
                    WasmError::Unsupported(format!("{what} (at offset {offset:#x})"))
                }
                other => other,
            })?;
            self.declare_gc_values(&validator);
        }
        reader.finish()?;
        Ok(())
    }

    /// A new local of type `ty`; one holding GC or continuation references
    /// is declared to Cranelift as needing stack maps.
    fn declare_local(&mut self, ty: WasmValType) -> Variable {
        let var = self.builder.declare_var(ir_type(ty));
        if ty.is_traced() {
            self.builder.declare_var_needs_stack_map(var);
        }
        self.locals.push(var);
        var
    }

    /// Declares the operands pushed since the last operator that hold GC
    /// or continuation references as needing stack maps (their types come from the
    /// validator, which has just seen the operator). Operands the previous
    /// operator left in place were declared already.
    fn declare_gc_values<T: wasmparser::WasmModuleResources>(
        &mut self,
        validator: &wasmparser::FuncValidator<T>,
    ) {
        if !self.reachable {
            self.declared_stack.clear();
            return;
        }
        let height = self.stack.len();
        debug_assert_eq!(validator.operand_stack_height() as usize, height);
        let unchanged = self
            .declared_stack
            .iter()
            .zip(&self.stack)
            .take_while(|(a, b)| a == b)
            .count();
        for index in unchanged..height {
            let depth = height - 1 - index;
            let Some(Some(ty)) = validator.get_operand_type(depth) else {
                continue;
            };
            if self.is_traced_operand(validator, ty) {
                self.builder
                    .declare_value_needs_stack_map(self.stack[index]);
            }
        }
        self.declared_stack.clear();
        self.declared_stack.extend_from_slice(&self.stack);
    }

    /// Whether an operand of the validator's type `ty` holds a reference
    /// the collector traces (see `WasmValType::is_traced`). The validator
    /// names concrete types by its own ids, which its resources resolve.
    fn is_traced_operand<T: wasmparser::WasmModuleResources>(
        &self,
        validator: &wasmparser::FuncValidator<T>,
        ty: wasmparser::ValType,
    ) -> bool {
        use wasmparser::{AbstractHeapType as A, CompositeInnerType, HeapType as H, UnpackedIndex};
        let wasmparser::ValType::Ref(r) = ty else {
            return false;
        };
        match r.heap_type() {
            H::Abstract { ty, .. } => !matches!(ty, A::Func | A::NoFunc),
            H::Concrete(index) | H::Exact(index) => {
                let composite = match index {
                    UnpackedIndex::Id(id) => {
                        &validator.resources().sub_type_at_id(id).composite_type
                    }
                    UnpackedIndex::Module(i) => {
                        return matches!(
                            self.module.kind_of(i),
                            Some(
                                CompositeKind::Struct | CompositeKind::Array | CompositeKind::Cont
                            )
                        );
                    }
                    UnpackedIndex::RecGroup(_) => return false,
                };
                !matches!(composite.inner, CompositeInnerType::Func(_))
            }
        }
    }

    /// The function being translated.
    pub(crate) fn current_func(&self) -> FuncIndex {
        self.func_index
    }

    fn translate_operator(&mut self, op: &Operator<'_>) -> WasmResult<()> {
        if !self.reachable {
            return self.translate_unreachable_operator(op);
        }
        self.account_fuel(op);
        if numeric::translate(&mut self.builder, &mut self.stack, op)
            || self.translate_control(op)?
            || self.translate_variable(op)?
            || self.translate_memory(op)?
            || self.translate_table(op)?
            || self.translate_call(op)?
            || self.translate_exceptions(op)?
            || self.translate_cast(op)?
            || self.translate_gc(op)?
            || self.translate_struct(op)?
            || self.translate_array(op)?
            || self.translate_stack_switching(op)?
            || self.translate_simd(op)?
        {
            self.after_fuel_sync(op);
            return Ok(());
        }
        Err(WasmError::Unsupported(unsupported_operator(op)))
    }

    /// Skips dead code, keeping track of block nesting so that the `else`
    /// or `end` that makes code reachable again is found.
    fn translate_unreachable_operator(&mut self, op: &Operator<'_>) -> WasmResult<()> {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.translate_else(),
            Operator::End if self.unreachable_depth == 0 => self.translate_end(),
            Operator::End => self.unreachable_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    /// Pops one operand. Validation guarantees there is one.
    pub(crate) fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated operand stack underflow")
    }

    /// Pops `N` operands, the deepest first.
    pub(crate) fn popn<const N: usize>(&mut self) -> [Value; N] {
        let at = self.stack.len() - N;
        let out = std::array::from_fn(|i| self.stack[at + i]);
        self.stack.truncate(at);
        out
    }

    /// Pops `n` operands (a count known at run time), the deepest first.
    pub(crate) fn pop_values(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    /// The top `n` operands, without popping them.
    pub(crate) fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    pub(crate) fn zero(&mut self, ty: WasmValType) -> WasmResult<Value> {
        let ins = self.builder.ins();
        Ok(match ty {
            WasmValType::I32 => ins.iconst(ir::types::I32, 0),
            WasmValType::Ref(r) if r.is_cont() => {
                fxtime_wasmfx::emit::null_reference(&mut self.builder)
            }
            WasmValType::I64 | WasmValType::Ref(_) => ins.iconst(ir::types::I64, 0),
            WasmValType::F32 => ins.f32const(0.0),
            WasmValType::F64 => ins.f64const(0.0),
            WasmValType::V128 => simd::zero_v128(&mut self.builder),
        })
    }
}

/// Names the proposal an operator belongs to, for "unsupported feature".
fn unsupported_operator(op: &Operator<'_>) -> String {
    let name = operator_name(op);
    let proposal = operator_proposal(op).replace('_', "-");
    format!("{proposal} (operator {name})")
}

macro_rules! define_operator_proposal {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The proposal (as wasmparser groups operators) that defines `op`.
        fn operator_proposal(op: &Operator<'_>) -> &'static str {
            match op {
                $( Operator::$op { .. } => stringify!($proposal), )*
                _ => "unknown",
            }
        }

        /// The name of `op`'s variant (`I32Add`).
        fn operator_name(op: &Operator<'_>) -> &'static str {
            match op {
                $( Operator::$op { .. } => stringify!($op), )*
                _ => "unknown",
            }
        }
    };
}
wasmparser::for_each_operator!(define_operator_proposal);
