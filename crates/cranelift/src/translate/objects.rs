//! GC objects: allocation, and struct fields.
//!
//! An object is allocated by bumping the cursor of its size class's run of
//! free cells in the store context (`VMStoreContext::gc_bump`): two loads,
//! an add, a compare and a store. Only a used-up run calls `GcAlloc`, from
//! a cold block. Objects bigger than the largest
//! cell always call it. Fields are read and written at offsets fixed at
//! compile time (`StructLayout`); an access through a null reference
//! faults on the unmapped first page, and the load or store's trap code
//! names the trap.

use super::FuncTranslator;
use super::env::trusted;
use crate::abi::{POINTER, ir_type};
use cranelift_codegen::ir::{
    BlockArg, InstBuilder, MemFlagsData, Value, condcodes::IntCC, types::*,
};
use fxtime_environ::gc::{
    GC_KIND_OFFSET, GC_MARK_BIT, GC_REMEMBERED_BIT, GcKind, SIZE_CLASSES, size_class,
};
use fxtime_environ::vm::{Builtin, offsets};
use fxtime_environ::{StorageType, TrapKind, TypeIndex, WasmResult};
use wasmparser::Operator;

/// Offsets below this from a null reference fault (the first page is
/// never mapped), so an access there needs no explicit null check.
const NULL_GUARD: u32 = 4096;

impl FuncTranslator<'_> {
    pub(super) fn translate_struct(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::StructNew { struct_type_index } => {
                let ty = TypeIndex(*struct_type_index);
                let module = self.module;
                let fields = module.struct_fields(ty);
                let layout = module.struct_layout(ty);
                let values = self.pop_values(fields.len());
                let object = self.alloc_object(ty, GcKind::Struct, layout.size);
                for ((field, offset), value) in fields.iter().zip(&layout.offsets).zip(values) {
                    self.store_field(object, *offset, field.storage, value, None);
                }
                self.stack.push(object);
            }
            Operator::StructNewDefault { struct_type_index } => {
                let ty = TypeIndex(*struct_type_index);
                let size = self.module.struct_layout(ty).size;
                let object = self.alloc_object(ty, GcKind::Struct, size);
                self.zero_words(object, fxtime_environ::gc::STRUCT_DATA_OFFSET, size);
                self.stack.push(object);
            }
            Operator::StructGet {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetS {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetU {
                struct_type_index,
                field_index,
            } => {
                let signed = matches!(op, Operator::StructGetS { .. });
                let (storage, offset) = self.field(*struct_type_index, *field_index);
                let object = self.pop();
                let trap = self.null_checked(object, offset, TrapKind::NullStructReference);
                let value = self.load_field(object, offset, storage, signed, trap);
                self.stack.push(value);
            }
            Operator::StructSet {
                struct_type_index,
                field_index,
            } => {
                let (storage, offset) = self.field(*struct_type_index, *field_index);
                let [object, value] = self.popn();
                let trap = if storage.is_gc_reference() {
                    // The barrier's header load is the null check.
                    self.write_barrier(object, Some(TrapKind::NullStructReference));
                    None
                } else {
                    self.null_checked(object, offset, TrapKind::NullStructReference)
                };
                self.store_field(object, offset, storage, value, trap);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Field `field` of struct type `ty`: how it is stored, and where.
    fn field(&self, ty: u32, field: u32) -> (StorageType, u32) {
        let ty = TypeIndex(ty);
        (
            self.module.struct_fields(ty)[field as usize].storage,
            self.module.struct_layout(ty).offsets[field as usize],
        )
    }

    /// The trap an access at `offset` from `object` reports when the
    /// access itself faults on null, or `None` after an explicit check
    /// when the offset is beyond the unmapped page.
    pub(crate) fn null_checked(
        &mut self,
        object: Value,
        offset: u32,
        trap: TrapKind,
    ) -> Option<TrapKind> {
        if offset < NULL_GUARD {
            return Some(trap);
        }
        let is_null = self.is_null(object);
        self.trap_if(is_null, trap);
        None
    }

    /// The write barrier, before a reference is stored into `object`: an
    /// old object (marked by the last collection) not yet remembered is
    /// remembered, so the next minor collection traces it again. A load,
    /// a test and a branch; the header load faults on null with `trap`.
    pub(crate) fn write_barrier(&mut self, object: Value, trap: Option<TrapKind>) {
        let bits =
            self.builder
                .ins()
                .load(I32, Self::object_flags(trap), object, GC_KIND_OFFSET as i32);
        let state = self
            .builder
            .ins()
            .band_imm_u(bits, i64::from(GC_MARK_BIT | GC_REMEMBERED_BIT));
        let unremembered_old =
            self.builder
                .ins()
                .icmp_imm_u(IntCC::Equal, state, i64::from(GC_MARK_BIT));
        let remember = self.builder.create_block();
        let done = self.builder.create_block();
        self.builder
            .ins()
            .brif(unremembered_old, remember, &[], done, &[]);
        self.builder.seal_block(remember);
        self.builder.switch_to_block(remember);
        self.builder.set_cold_block(remember);
        self.call_builtin_cold(Builtin::GcRemember, &[object]);
        self.builder.ins().jump(done, &[]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
    }

    /// Flags for an access to an object: faulting with `trap` on null, or
    /// known not to trap.
    fn object_flags(trap: Option<TrapKind>) -> MemFlagsData {
        match trap {
            Some(kind) => MemFlagsData::new().with_trap_code(Some(crate::abi::trap_code(kind))),
            None => MemFlagsData::new().with_notrap(),
        }
    }

    /// Loads a field or element stored as `storage` (packed ones extended
    /// to `i32`, with sign when `signed`).
    pub(crate) fn load_field(
        &mut self,
        address: Value,
        offset: u32,
        storage: StorageType,
        signed: bool,
        trap: Option<TrapKind>,
    ) -> Value {
        let flags = Self::object_flags(trap);
        let offset = offset as i32;
        let ins = self.builder.ins();
        match (storage, signed) {
            (StorageType::I8, true) => ins.sload8(I32, flags, address, offset),
            (StorageType::I8, false) => ins.uload8(I32, flags, address, offset),
            (StorageType::I16, true) => ins.sload16(I32, flags, address, offset),
            (StorageType::I16, false) => ins.uload16(I32, flags, address, offset),
            (StorageType::Val(ty), _) => ins.load(ir_type(ty), flags, address, offset),
        }
    }

    /// Stores a field or element stored as `storage` (packed ones take the
    /// low bits of an `i32`).
    pub(crate) fn store_field(
        &mut self,
        address: Value,
        offset: u32,
        storage: StorageType,
        value: Value,
        trap: Option<TrapKind>,
    ) {
        let flags = Self::object_flags(trap);
        let offset = offset as i32;
        let ins = self.builder.ins();
        match storage {
            StorageType::I8 => ins.istore8(flags, value, address, offset),
            StorageType::I16 => ins.istore16(flags, value, address, offset),
            StorageType::Val(_) => ins.store(flags, value, address, offset),
        };
    }

    /// Writes zero to the 8-byte words of `object` from `start` to `end`.
    pub(crate) fn zero_words(&mut self, object: Value, start: u32, end: u32) {
        let zero = self.builder.ins().iconst(I64, 0);
        for offset in (start..end).step_by(8) {
            self.builder.ins().store(
                MemFlagsData::new().with_notrap(),
                zero,
                object,
                offset as i32,
            );
        }
    }

    /// Allocates an object of `size` bytes and kind `kind` with the
    /// canonical id of type `ty` in its header; traps when the heap is
    /// full. Everything after the header is for the caller to write.
    pub(crate) fn alloc_object(&mut self, ty: TypeIndex, kind: GcKind, size: u32) -> Value {
        let type_id = self.builder.ins().load(
            I32,
            trusted().with_readonly().with_can_move(),
            self.vmctx,
            self.offsets.type_id(ty) as i32,
        );
        let type_id = self.builder.ins().uextend(I64, type_id);
        let header = self.builder.ins().bor_imm_u(type_id, (kind as i64) << 32);
        let size_value = self.i32_const(size);
        let Some(class) = size_class(size) else {
            return self.call_gc_alloc(header, size_value, false);
        };
        let store = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
        let region = offsets::STORE_GC_BUMP + offsets::GC_BUMP_SIZE * class as u32;
        let cursor_at = (region + offsets::GC_BUMP_CURSOR) as i32;
        let limit_at = (region + offsets::GC_BUMP_LIMIT) as i32;
        let cursor = self
            .builder
            .ins()
            .load(POINTER, trusted(), store, cursor_at);
        let limit = self.builder.ins().load(POINTER, trusted(), store, limit_at);
        let next = self
            .builder
            .ins()
            .iadd_imm_u(cursor, i64::from(SIZE_CLASSES[class]));
        let fits = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, next, limit);
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        let done = self.builder.create_block();
        let object = self.builder.append_block_param(done, POINTER);
        self.builder.ins().brif(fits, fast, &[], slow, &[]);
        self.builder.seal_block(fast);
        self.builder.seal_block(slow);

        self.builder.switch_to_block(fast);
        self.builder.ins().store(trusted(), next, store, cursor_at);
        self.builder.ins().jump(done, &[BlockArg::Value(cursor)]);

        self.builder.switch_to_block(slow);
        self.builder.set_cold_block(slow);
        let allocated = self.call_gc_alloc(header, size_value, true);
        self.builder.ins().jump(done, &[BlockArg::Value(allocated)]);

        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        self.builder.ins().store(trusted(), header, object, 0);
        object
    }

    /// Calls `GcAlloc`, trapping when the heap is full.
    fn call_gc_alloc(&mut self, header: Value, size: Value, cold: bool) -> Value {
        let args = [header, size];
        let object = if cold {
            self.call_builtin_cold(Builtin::GcAlloc, &args)
        } else {
            self.call_builtin(Builtin::GcAlloc, &args)
        }
        .expect("GcAlloc returns the object");
        self.trap_if_zero(object, TrapKind::GcHeapOutOfMemory);
        object
    }

    /// A value's low and high 64-bit words, as builtins take values of
    /// any type (the high word is 0 unless it is 128 bits wide).
    pub(crate) fn value_words(&mut self, value: Value) -> (Value, Value) {
        let ty = self.builder.func.dfg.value_type(value);
        let ins = self.builder.ins();
        let wide = match ty {
            I128 => value,
            ty if ty.is_vector() => {
                let lanes = super::simd::view(&mut self.builder, I64X2, value);
                let low = self.builder.ins().extractlane(lanes, 0);
                let high = self.builder.ins().extractlane(lanes, 1);
                return (low, high);
            }
            I64 => return (value, self.builder.ins().iconst(I64, 0)),
            F64 => {
                let bits = ins.bitcast(I64, MemFlagsData::new(), value);
                return (bits, self.builder.ins().iconst(I64, 0));
            }
            F32 => {
                let bits = ins.bitcast(I32, MemFlagsData::new(), value);
                let bits = self.builder.ins().uextend(I64, bits);
                return (bits, self.builder.ins().iconst(I64, 0));
            }
            _ => {
                let bits = ins.uextend(I64, value);
                return (bits, self.builder.ins().iconst(I64, 0));
            }
        };
        self.builder.ins().isplit(wide)
    }
}
