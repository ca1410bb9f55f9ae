//! Arrays: `array.new_fixed`, element access and the length inline; the
//! operators on many elements (`array.new`, `fill`, `copy`, `init_*`,
//! `new_data`, `new_elem`) through builtins (`runtime/src/gc/arrays.rs`).
//!
//! An access loads the length first: that load is the null check (it
//! faults on the unmapped first page) and feeds the bounds check.

use super::FuncTranslator;
use cranelift_codegen::ir::{InstBuilder, Value, condcodes::IntCC, types::*};
use fxtime_environ::gc::{
    ARRAY_DATA_OFFSET, ARRAY_LENGTH_OFFSET, GcKind, array_size, storage_size,
};
use fxtime_environ::vm::{Builtin, GC_OUT_OF_BOUNDS};
use fxtime_environ::{StorageType, TrapKind, TypeIndex, WasmError, WasmResult};
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_array(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::ArrayNewFixed {
                array_type_index,
                array_size: len,
            } => {
                let ty = TypeIndex(*array_type_index);
                let storage = self.module.array_element(ty).storage;
                let element_size = storage_size(storage);
                let size = array_size(element_size, *len)
                    .ok_or_else(|| WasmError::Limit("array.new_fixed too large".into()))?;
                let values = self.pop_values(*len as usize);
                let array = self.alloc_object(ty, GcKind::Array, size);
                let len = self.i32_const(*len);
                self.store_field(
                    array,
                    ARRAY_LENGTH_OFFSET,
                    StorageType::Val(fxtime_environ::WasmValType::I32),
                    len,
                    None,
                );
                for (i, value) in values.into_iter().enumerate() {
                    let offset = ARRAY_DATA_OFFSET + i as u32 * element_size;
                    self.store_field(array, offset, storage, value, None);
                }
                self.stack.push(array);
            }
            Operator::ArrayNew { array_type_index } => {
                let [value, len] = self.popn();
                let (low, high) = self.value_words(value);
                self.array_new(*array_type_index, len, low, high);
            }
            Operator::ArrayNewDefault { array_type_index } => {
                let len = self.pop();
                let zero = self.builder.ins().iconst(I64, 0);
                self.array_new(*array_type_index, len, zero, zero);
            }
            Operator::ArrayNewData {
                array_type_index,
                array_data_index: segment,
            }
            | Operator::ArrayNewElem {
                array_type_index,
                array_elem_index: segment,
            } => {
                let (builtin, segment_trap) = match op {
                    Operator::ArrayNewData { .. } => {
                        (Builtin::ArrayNewData, TrapKind::MemoryOutOfBounds)
                    }
                    _ => (Builtin::ArrayNewElem, TrapKind::TableOutOfBounds),
                };
                let [offset, len] = self.popn();
                let ty = self.i32_const(*array_type_index);
                let segment = self.i32_const(*segment);
                let array = self
                    .call_builtin(builtin, &[ty, segment, offset, len])
                    .expect("returns the array");
                self.trap_if_zero(array, TrapKind::GcHeapOutOfMemory);
                self.trap_if_status(array, GC_OUT_OF_BOUNDS as i64, segment_trap);
                self.stack.push(array);
            }
            Operator::ArrayGet { array_type_index }
            | Operator::ArrayGetS { array_type_index }
            | Operator::ArrayGetU { array_type_index } => {
                let signed = matches!(op, Operator::ArrayGetS { .. });
                let storage = self
                    .module
                    .array_element(TypeIndex(*array_type_index))
                    .storage;
                let [array, index] = self.popn();
                let address = self.element_address(array, index, storage);
                let value = self.load_field(address, ARRAY_DATA_OFFSET, storage, signed, None);
                self.stack.push(value);
            }
            Operator::ArraySet { array_type_index } => {
                let storage = self
                    .module
                    .array_element(TypeIndex(*array_type_index))
                    .storage;
                let [array, index, value] = self.popn();
                let address = self.element_address(array, index, storage);
                if storage.is_gc_reference() {
                    // The array is known not to be null by now.
                    self.write_barrier(array, None);
                }
                self.store_field(address, ARRAY_DATA_OFFSET, storage, value, None);
            }
            Operator::ArrayLen => {
                let array = self.pop();
                let len = self.array_length(array);
                self.stack.push(len);
            }
            Operator::ArrayFill { array_type_index } => {
                let [array, index, value, len] = self.popn();
                self.null_check_array(array);
                let (low, high) = self.value_words(value);
                let ty = self.i32_const(*array_type_index);
                let ok = self
                    .call_builtin(Builtin::ArrayFill, &[array, ty, index, low, high, len])
                    .expect("returns a status");
                self.trap_if_zero(ok, TrapKind::ArrayOutOfBounds);
            }
            Operator::ArrayCopy {
                array_type_index_dst,
                ..
            } => {
                let [dst, dst_index, src, src_index, len] = self.popn();
                self.null_check_array(dst);
                self.null_check_array(src);
                let ty = self.i32_const(*array_type_index_dst);
                let ok = self
                    .call_builtin(
                        Builtin::ArrayCopy,
                        &[dst, ty, dst_index, src, src_index, len],
                    )
                    .expect("returns a status");
                self.trap_if_zero(ok, TrapKind::ArrayOutOfBounds);
            }
            Operator::ArrayInitData {
                array_type_index,
                array_data_index: segment,
            }
            | Operator::ArrayInitElem {
                array_type_index,
                array_elem_index: segment,
            } => {
                let (builtin, segment_trap) = match op {
                    Operator::ArrayInitData { .. } => {
                        (Builtin::ArrayInitData, TrapKind::MemoryOutOfBounds)
                    }
                    _ => (Builtin::ArrayInitElem, TrapKind::TableOutOfBounds),
                };
                let [array, dst, src, len] = self.popn();
                self.null_check_array(array);
                let ty = self.i32_const(*array_type_index);
                let segment = self.i32_const(*segment);
                let status = self
                    .call_builtin(builtin, &[array, ty, segment, dst, src, len])
                    .expect("returns a status");
                self.trap_if_zero(status, TrapKind::ArrayOutOfBounds);
                self.trap_if_status(status, GC_OUT_OF_BOUNDS as i64, segment_trap);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `array.new` and `array.new_default` through `ArrayNew`.
    fn array_new(&mut self, ty: u32, len: Value, low: Value, high: Value) {
        let ty = self.i32_const(ty);
        let array = self
            .call_builtin(Builtin::ArrayNew, &[ty, len, low, high])
            .expect("returns the array");
        self.trap_if_zero(array, TrapKind::GcHeapOutOfMemory);
        self.stack.push(array);
    }

    /// Traps with `kind` when `status` equals `code`.
    fn trap_if_status(&mut self, status: Value, code: i64, kind: TrapKind) {
        let hit = self.builder.ins().icmp_imm_u(IntCC::Equal, status, code);
        self.trap_if(hit, kind);
    }

    /// The length of `array`, trapping on null.
    fn array_length(&mut self, array: Value) -> Value {
        self.load_field(
            array,
            ARRAY_LENGTH_OFFSET,
            StorageType::Val(fxtime_environ::WasmValType::I32),
            false,
            Some(TrapKind::NullArrayReference),
        )
    }

    fn null_check_array(&mut self, array: Value) {
        let is_null = self.is_null(array);
        self.trap_if(is_null, TrapKind::NullArrayReference);
    }

    /// `array + index * element size`, after checking that `array` is not
    /// null and `index` is in bounds; the element lies
    /// `ARRAY_DATA_OFFSET` bytes on.
    fn element_address(&mut self, array: Value, index: Value, storage: StorageType) -> Value {
        let len = self.array_length(array);
        let in_bounds = self.builder.ins().icmp(IntCC::UnsignedLessThan, index, len);
        self.trap_if_zero(in_bounds, TrapKind::ArrayOutOfBounds);
        let index = self.builder.ins().uextend(I64, index);
        let scaled = self
            .builder
            .ins()
            .imul_imm_u(index, i64::from(storage_size(storage)));
        self.builder.ins().iadd(array, scaled)
    }
}
