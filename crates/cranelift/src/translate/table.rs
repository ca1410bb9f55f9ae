//! Tables and references.
//!
//! A table element is one machine word (a `*const VMFuncRef` or an
//! externref handle, 0 being null); `table.get`, `table.set` and
//! `table.size` are inline, the rest are builtins.

use super::FuncTranslator;
use super::env::trusted;
use crate::abi::POINTER;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value, types::*};
use fxtime_environ::vm::{Builtin, offsets};
use fxtime_environ::{FuncIndex, TableIndex, TrapKind, WasmResult};
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_table(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Operator as O;
        match op {
            O::TableGet { table } => {
                let index = self.pop();
                let slot = self.table_slot(TableIndex(*table), index, TrapKind::TableOutOfBounds);
                let value = self.builder.ins().load(POINTER, trusted(), slot, 0);
                self.stack.push(value);
            }
            O::TableSet { table } => {
                let [index, value] = self.popn();
                let slot = self.table_slot(TableIndex(*table), index, TrapKind::TableOutOfBounds);
                self.builder.ins().store(trusted(), value, slot, 0);
            }
            O::TableSize { table } => {
                let length = self.table_length(TableIndex(*table));
                let length = self.builder.ins().ireduce(I32, length);
                self.stack.push(length);
            }
            O::TableGrow { table } => {
                let [init, delta] = self.popn();
                let table = self.i32_const(*table);
                let result = self.call_builtin(Builtin::TableGrow, &[table, init, delta]);
                self.stack.extend(result);
            }
            O::TableFill { table } => {
                let [dst, value, len] = self.popn();
                let table = self.i32_const(*table);
                self.call_checked(Builtin::TableFill, &[table, dst, value, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let [dst, src, len] = self.popn();
                let dst_table = self.i32_const(*dst_table);
                let src_table = self.i32_const(*src_table);
                self.call_checked(Builtin::TableCopy, &[dst_table, src_table, dst, src, len]);
            }
            O::TableInit { elem_index, table } => {
                let [dst, src, len] = self.popn();
                let table = self.i32_const(*table);
                let elem = self.i32_const(*elem_index);
                self.call_checked(Builtin::TableInit, &[table, elem, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let elem = self.i32_const(*elem_index);
                self.call_builtin(Builtin::ElemDrop, &[elem]);
            }
            O::RefNull { .. } => {
                let null = self.builder.ins().iconst(POINTER, 0);
                self.stack.push(null);
            }
            O::RefIsNull => {
                let value = self.pop();
                let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, value, 0);
                let is_null = self.builder.ins().uextend(I32, is_null);
                self.stack.push(is_null);
            }
            O::RefAsNonNull => {
                let value = *self.stack.last().expect("validated operand");
                self.trap_if_zero(value, TrapKind::NullReference);
            }
            O::RefFunc { function_index } => {
                let func_ref = self.func_ref(FuncIndex(*function_index));
                self.stack.push(func_ref);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The address of element `index` of `table`, trapping with
    /// `out_of_bounds` when it is not below the table's length.
    pub(crate) fn table_slot(
        &mut self,
        table: TableIndex,
        index: Value,
        out_of_bounds: TrapKind,
    ) -> Value {
        let definition = self.vmctx_field(self.offsets.table(table));
        let length =
            self.builder
                .ins()
                .load(POINTER, trusted(), definition, offsets::TABLE_LENGTH as i32);
        let index = self.builder.ins().uextend(I64, index);
        let in_bounds = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedLessThan, index, length);
        self.trap_if_zero(in_bounds, out_of_bounds);
        let base =
            self.builder
                .ins()
                .load(POINTER, trusted(), definition, offsets::TABLE_BASE as i32);
        let byte_offset = self.builder.ins().ishl_imm_u(index, 3);
        self.builder.ins().iadd(base, byte_offset)
    }

    fn table_length(&mut self, table: TableIndex) -> Value {
        let definition = self.vmctx_field(self.offsets.table(table));
        self.builder
            .ins()
            .load(POINTER, trusted(), definition, offsets::TABLE_LENGTH as i32)
    }

    /// The `*const VMFuncRef` of function `f`.
    pub(crate) fn func_ref(&mut self, f: FuncIndex) -> Value {
        match self.module.defined_func_index(f) {
            Some(defined) => {
                let offset = self.offsets.func_ref(defined);
                self.builder.ins().iadd_imm_u(self.vmctx, i64::from(offset))
            }
            None => self.vmctx_field(self.offsets.imported_func(f)),
        }
    }
}
