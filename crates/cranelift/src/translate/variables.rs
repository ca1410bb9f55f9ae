//! Locals (Cranelift variables) and globals (memory in or behind the
//! `VMContext`).

use super::FuncTranslator;
use crate::abi::{ir_type, value_flags};
use cranelift_codegen::ir::{InstBuilder, Value};
use fxtime_environ::{GlobalIndex, WasmResult};
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
                let global = GlobalIndex(*global_index);
                let ty = ir_type(self.module.globals[global.index()].ty.content);
                let (base, offset) = self.global_address(global);
                let value = self.builder.ins().load(ty, value_flags(), base, offset);
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
