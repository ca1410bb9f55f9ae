//! Tables and references.
//!
//! A table element is 16 bytes: a `*const VMFuncRef` or an externref
//! handle in the low word (0 being null), or a continuation reference in
//! both. `table.get`, `table.set` and `table.size` are inline, the rest
//! are builtins.
//!
//! A null check looks at the low word: for a continuation reference, the
//! object address.
//!
//! Indices of 64-bit tables (table64) are compared with the length as they
//! are. The builtins take 32-bit indices: a 64-bit operand beyond that
//! range is clamped to `u32::MAX`, which is out of bounds of every table
//! (`MAX_TABLE_ELEMENTS` is far below it), so the builtin fails as the
//! unclamped operand would have.

use super::FuncTranslator;
use super::env::trusted;
use crate::abi::POINTER;
use crate::abi::ir_type;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, Value, types::*};
use fxtime_environ::vm::{Builtin, TABLE_ELEMENT_SIZE, offsets};
use fxtime_environ::{FuncIndex, TableIndex, TrapKind, WasmError, WasmResult, WasmValType};
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_table(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Operator as O;
        match op {
            O::TableGet { table } => {
                let index = self.pop();
                let ty = ir_type(WasmValType::Ref(
                    self.module.tables[*table as usize].element,
                ));
                let slot = self.table_slot(TableIndex(*table), index, TrapKind::TableOutOfBounds);
                let value = self.builder.ins().load(ty, trusted(), slot, 0);
                self.stack.push(value);
            }
            O::TableSet { table } => {
                let [index, value] = self.popn();
                let slot = self.table_slot(TableIndex(*table), index, TrapKind::TableOutOfBounds);
                self.builder.ins().store(trusted(), value, slot, 0);
            }
            O::TableSize { table } => {
                let length = self.table_length(TableIndex(*table));
                let length = if self.module.tables[*table as usize].is_64() {
                    length
                } else {
                    self.builder.ins().ireduce(I32, length)
                };
                self.stack.push(length);
            }
            O::TableGrow { table } => {
                let [init, delta] = self.popn();
                let is_64 = self.builder.func.dfg.value_type(delta) == I64;
                let delta = self.clamp_table_index(delta);
                let table = self.i32_const(*table);
                let (low, high) = self.value_words(init);
                let result = self
                    .call_builtin(Builtin::TableGrow, &[table, low, high, delta])
                    .expect("table.grow has a result");
                self.trap_if_grow_trapped(result);
                // -1 stays -1; sizes are below 2^31.
                let result = if is_64 {
                    self.builder.ins().sextend(I64, result)
                } else {
                    result
                };
                self.stack.push(result);
            }
            O::TableFill { table } => {
                let [dst, value, len] = self.popn();
                let [dst, len] = [dst, len].map(|v| self.clamp_table_index(v));
                let table = self.i32_const(*table);
                let (low, high) = self.value_words(value);
                self.call_checked(Builtin::TableFill, &[table, dst, low, high, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let [dst, src, len] = self.popn();
                let [dst, src, len] = [dst, src, len].map(|v| self.clamp_table_index(v));
                let dst_table = self.i32_const(*dst_table);
                let src_table = self.i32_const(*src_table);
                self.call_checked(Builtin::TableCopy, &[dst_table, src_table, dst, src, len]);
            }
            O::TableInit { elem_index, table } => {
                let [dst, src, len] = self.popn();
                let dst = self.clamp_table_index(dst);
                let table = self.i32_const(*table);
                let elem = self.i32_const(*elem_index);
                self.call_checked(Builtin::TableInit, &[table, elem, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let elem = self.i32_const(*elem_index);
                self.call_builtin(Builtin::ElemDrop, &[elem]);
            }
            O::RefNull { hty } => {
                let ty = wasmparser::RefType::new(true, *hty)
                    .ok_or_else(|| WasmError::Limit("type index too large".into()))?;
                let ty = WasmValType::Ref(self.module.convert_ref_type(ty)?);
                let null = self.zero(ty)?;
                self.stack.push(null);
            }
            O::RefIsNull => {
                let value = self.pop();
                let is_null = self.is_null(value);
                let is_null = self.builder.ins().uextend(I32, is_null);
                self.stack.push(is_null);
            }
            O::RefAsNonNull => {
                let value = *self.stack.last().expect("validated operand");
                let is_null = self.is_null(value);
                self.trap_if(is_null, TrapKind::NullReference);
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
        let index = self.widen_address(index);
        let in_bounds = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedLessThan, index, length);
        self.trap_if_zero(in_bounds, out_of_bounds);
        let base =
            self.builder
                .ins()
                .load(POINTER, trusted(), definition, offsets::TABLE_BASE as i32);
        let byte_offset = self
            .builder
            .ins()
            .imul_imm_u(index, i64::from(TABLE_ELEMENT_SIZE));
        self.builder.ins().iadd(base, byte_offset)
    }

    /// Whether reference `value` is null (an `i8`).
    pub(crate) fn is_null(&mut self, value: Value) -> Value {
        let value = if self.builder.func.dfg.value_type(value) == I128 {
            fxtime_wasmfx::emit::object(&mut self.builder, value)
        } else {
            value
        };
        self.builder.ins().icmp_imm_u(IntCC::Equal, value, 0)
    }

    /// A table index, size or length as the 32-bit operand of a builtin:
    /// 64-bit ones beyond `u32::MAX` become `u32::MAX` (see the module doc).
    fn clamp_table_index(&mut self, value: Value) -> Value {
        if self.builder.func.dfg.value_type(value) != I64 {
            return value;
        }
        let most = self.builder.ins().iconst(I64, i64::from(u32::MAX));
        let clamped = self.builder.ins().umin(value, most);
        self.builder.ins().ireduce(I32, clamped)
    }

    fn table_length(&mut self, table: TableIndex) -> Value {
        let definition = self.vmctx_field(self.offsets.table(table));
        self.builder
            .ins()
            .load(POINTER, trusted(), definition, offsets::TABLE_LENGTH as i32)
    }

    /// The `*const VMFuncRef` of function `f`.
    /// Whether `value` is what [`Self::func_ref`] gives for a defined
    /// function: an address in the vmctx, never null.
    pub(crate) fn is_defined_func_ref(&self, value: Value) -> bool {
        let dfg = &self.builder.func.dfg;
        let defining = |value: Value| match dfg.value_def(dfg.resolve_aliases(value)) {
            ir::ValueDef::Result(inst, _) => Some(&dfg.insts[inst]),
            _ => None,
        };
        let Some(ir::InstructionData::Binary {
            opcode: ir::Opcode::Iadd,
            args: [base, offset],
        }) = defining(value)
        else {
            return false;
        };
        *base == self.vmctx
            && matches!(
                defining(*offset),
                Some(ir::InstructionData::UnaryImm {
                    opcode: ir::Opcode::Iconst,
                    ..
                })
            )
    }

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
