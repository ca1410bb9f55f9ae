//! Calls: direct calls to defined functions (a relocated `call`), calls to
//! imports and through tables (an indirect call through a `VMFuncRef`), and
//! their tail-call forms (`return_call*`), which Cranelift's tail calling
//! convention turns into jumps that reuse the caller's frame.

use super::FuncTranslator;
use super::env::trusted;
use super::exceptions::Callee;
use crate::abi::{POINTER, wasm_signature};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, BlockArg, ExtFuncData, ExternalName, InstBuilder, UserExternalName, Value,
};
use fxtime_environ::vm::{Builtin, offsets};
use fxtime_environ::{FuncIndex, TableIndex, TrapKind, TypeIndex, WasmResult};
use wasmparser::Operator;

/// Whether a call returns to its caller or replaces it.
#[derive(Clone, Copy)]
enum Call {
    Normal,
    Tail,
}

impl FuncTranslator<'_> {
    pub(super) fn translate_call(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::Call { function_index } => {
                self.call(FuncIndex(*function_index), Call::Normal)
            }
            Operator::ReturnCall { function_index } => {
                self.call(FuncIndex(*function_index), Call::Tail)
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(
                TypeIndex(*type_index),
                TableIndex(*table_index),
                Call::Normal,
            ),
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(TypeIndex(*type_index), TableIndex(*table_index), Call::Tail),
            Operator::CallRef { type_index } => self.call_ref(TypeIndex(*type_index), Call::Normal),
            Operator::ReturnCallRef { type_index } => {
                self.call_ref(TypeIndex(*type_index), Call::Tail)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn call(&mut self, callee: FuncIndex, kind: Call) {
        let ty = self.module.functions[callee.index()];
        if self.module.defined_func_index(callee).is_some() {
            let func_ref = self.direct_callee(callee);
            let args = self.call_args(self.vmctx, ty);
            match kind {
                Call::Normal => {
                    let sig = self.builder.func.dfg.ext_funcs[func_ref].signature;
                    let results = self.emit_call(Callee::Direct(func_ref), sig, &args);
                    self.stack.extend(results);
                }
                Call::Tail => {
                    self.builder.ins().return_call(func_ref, &args);
                    self.reachable = false;
                }
            }
        } else {
            let func_ref = self.vmctx_field(self.offsets.imported_func(callee));
            self.call_func_ref(func_ref, ty, kind);
        }
    }

    fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex, kind: Call) {
        let index = self.pop();
        let slot = self.table_slot(table, index, TrapKind::UndefinedElement);
        let func_ref = self.builder.ins().load(POINTER, trusted(), slot, 0);
        self.trap_if_zero(func_ref, TrapKind::UninitializedElement);
        self.check_func_type(func_ref, ty);
        self.call_func_ref(func_ref, ty, kind);
    }

    /// `call_ref`: the reference is statically typed, so only null needs a
    /// check.
    fn call_ref(&mut self, ty: TypeIndex, kind: Call) {
        let func_ref = self.pop();
        self.trap_if_zero(func_ref, TrapKind::NullFunctionReference);
        self.call_func_ref(func_ref, ty, kind);
    }

    /// Traps unless the function behind `func_ref` has type `ty`.
    fn check_func_type(&mut self, func_ref: Value, ty: TypeIndex) {
        let actual = self.builder.ins().load(
            ir::types::I32,
            trusted().with_readonly(),
            func_ref,
            offsets::FUNC_REF_TYPE_ID as i32,
        );
        let ok = self.type_test(actual, ty);
        self.trap_if_zero(ok, TrapKind::IndirectCallTypeMismatch);
    }

    /// Whether canonical type id `actual` is module type `ty` (whose id the
    /// vmctx holds) or a subtype.
    pub(crate) fn type_test(&mut self, actual: Value, ty: TypeIndex) -> Value {
        let expected = self.builder.ins().load(
            ir::types::I32,
            trusted().with_readonly().with_can_move(),
            self.vmctx,
            self.offsets.type_id(ty) as i32,
        );
        self.is_subtype(actual, expected, ty)
    }

    /// 1 when the canonical type `actual` is `expected` (module type `ty`)
    /// or one of its subtypes. A final type has no other subtypes, so one
    /// comparison decides; otherwise unequal ids ask the `IsSubtype`
    /// builtin, which walks the declared supertypes.
    pub(crate) fn is_subtype(&mut self, actual: Value, expected: Value, ty: TypeIndex) -> Value {
        let same = self.builder.ins().icmp(IntCC::Equal, actual, expected);
        let same = self.builder.ins().uextend(ir::types::I32, same);
        if self.module.types[ty.index()].is_final {
            return same;
        }
        let slow = self.builder.create_block();
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, ir::types::I32);
        self.builder
            .ins()
            .brif(same, done, &[BlockArg::Value(same)], slow, &[]);
        self.builder.seal_block(slow);
        self.builder.switch_to_block(slow);
        let answer = self
            .call_builtin(Builtin::IsSubtype, &[actual, expected])
            .expect("IsSubtype returns a status");
        self.builder.ins().jump(done, &[BlockArg::Value(answer)]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        result
    }

    /// Calls the (non-null) `*const VMFuncRef` `func_ref` of type `ty`.
    fn call_func_ref(&mut self, func_ref: Value, ty: TypeIndex, kind: Call) {
        let flags = trusted().with_readonly();
        let code =
            self.builder
                .ins()
                .load(POINTER, flags, func_ref, offsets::FUNC_REF_WASM_CALL as i32);
        let callee_vmctx =
            self.builder
                .ins()
                .load(POINTER, flags, func_ref, offsets::FUNC_REF_VMCTX as i32);
        let sig = self.signature(ty);
        let args = self.call_args(callee_vmctx, ty);
        match kind {
            Call::Normal => {
                let results = self.emit_call(Callee::Indirect(sig, code), sig, &args);
                self.stack.extend(results);
            }
            Call::Tail => {
                self.builder.ins().return_call_indirect(sig, code, &args);
                self.reachable = false;
            }
        }
    }

    /// Pops the wasm arguments of a call of type `ty` and prepends the
    /// callee's and the caller's vmctx.
    fn call_args(&mut self, callee_vmctx: Value, ty: TypeIndex) -> Vec<Value> {
        let arity = self.module.func_type_at(ty).params.len();
        let mut args = Vec::with_capacity(arity + 2);
        args.push(callee_vmctx);
        args.push(self.vmctx);
        args.extend_from_slice(self.peekn(arity));
        let height = self.stack.len() - arity;
        self.stack.truncate(height);
        args
    }

    /// The imported signature of wasm type `ty`, created once per function.
    fn signature(&mut self, ty: TypeIndex) -> ir::SigRef {
        if let Some(sig) = self.sig_refs.get(&ty) {
            return *sig;
        }
        let sig = self
            .builder
            .import_signature(wasm_signature(self.module.func_type_at(ty)));
        self.sig_refs.insert(ty, sig);
        sig
    }

    /// A direct reference to defined function `f`, resolved at link time.
    fn direct_callee(&mut self, f: FuncIndex) -> ir::FuncRef {
        if let Some(func_ref) = self.func_refs.get(&f) {
            return *func_ref;
        }
        let signature = self.signature(self.module.functions[f.index()]);
        let name = self
            .builder
            .func
            .declare_imported_user_function(UserExternalName::new(0, f.0));
        let func_ref = self.builder.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.func_refs.insert(f, func_ref);
        func_ref
    }
}
