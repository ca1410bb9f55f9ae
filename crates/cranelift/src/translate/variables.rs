//! Locals (Cranelift variables) and globals (memory in or behind the
//! `VMContext`).

use super::FuncTranslator;
use crate::abi::{ir_type, value_flags};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{InstBuilder, Value, types::*};
use fxtime_environ::{ConstOp, GlobalIndex, WasmResult, WasmValType};
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_variable(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::LocalGet { local_index } => {
                let value = self.builder.use_var(self.locals[*local_index as usize]);
                self.stack.push(value);
            }
            Operator::LocalSet { local_index } => {
                let value = self.pop();
                self.builder
                    .def_var(self.locals[*local_index as usize], value);
            }
            Operator::LocalTee { local_index } => {
                let value = *self.stack.last().expect("validated operand");
                self.builder
                    .def_var(self.locals[*local_index as usize], value);
            }
            Operator::GlobalGet { global_index } => {
                let value = self.global_get(GlobalIndex(*global_index));
                self.stack.push(value);
            }
            Operator::GlobalSet { global_index } => {
                let value = self.pop();
                let (base, offset) = self.global_address(GlobalIndex(*global_index));
                self.builder.ins().store(value_flags(), value, base, offset);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The value of a global. An immutable one defined by a numeric
    /// constant is that constant; other immutable numbers are loads that
    /// may move out of loops (written only at instantiation). References
    /// are always loaded where they are read.
    fn global_get(&mut self, global: GlobalIndex) -> Value {
        let info = &self.module.globals[global.index()];
        let ty = info.ty;
        let immutable_number = !ty.mutable && !matches!(ty.content, WasmValType::Ref(_));
        if immutable_number && let Some([op]) = info.init.as_ref().map(|init| init.ops.as_slice()) {
            let ins = self.builder.ins();
            match *op {
                ConstOp::I32Const(value) => return ins.iconst(I32, i64::from(value)),
                ConstOp::I64Const(value) => return ins.iconst(I64, value),
                ConstOp::F32Const(bits) => return ins.f32const(Ieee32::with_bits(bits)),
                ConstOp::F64Const(bits) => return ins.f64const(Ieee64::with_bits(bits)),
                _ => {}
            }
        }
        let flags = if immutable_number {
            value_flags().with_readonly().with_can_move()
        } else {
            value_flags()
        };
        let ir_ty = ir_type(ty.content);
        let (base, offset) = self.global_address(global);
        self.builder.ins().load(ir_ty, flags, base, offset)
    }

    /// Base and offset of a global's storage: inline in the `VMContext` for
    /// defined globals, behind a pointer for imported ones.
    fn global_address(&mut self, global: GlobalIndex) -> (Value, i32) {
        if self.module.is_imported_global(global) {
            let pointer = self.vmctx_field(self.offsets.imported_global(global));
            (pointer, 0)
        } else {
            (self.vmctx, self.offsets.defined_global(global) as i32)
        }
    }
}
