//! Casts: `ref.test`, `ref.cast`, `br_on_cast` and `br_on_cast_fail`.
//!
//! A cast to a function type compares the function reference's canonical
//! type with the target (a subtype walk when the target is not final). A
//! reference of the `any` hierarchy is tested for null, then for an `i31`
//! (its low bit, see `gc`), then by its object's header: the kind byte
//! for `struct`, `array` and `eq` (extern objects are only `any`), the
//! canonical type id for a concrete struct or array type (extern objects
//! have none that matches).

use super::FuncTranslator;
use super::env::trusted;
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlagsData, Value, condcodes::IntCC};
use fxtime_environ::gc::{GC_KIND_OFFSET, GC_TYPE_ID_OFFSET, GcKind};
use fxtime_environ::vm::offsets;
use fxtime_environ::{HeapType, RefType, TrapKind, TypeIndex, TypeRef, WasmError, WasmResult};
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_cast(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::RefTestNonNull { hty } | Operator::RefTestNullable { hty } => {
                let nullable = matches!(op, Operator::RefTestNullable { .. });
                let target = self.heap_target(nullable, *hty)?;
                let value = self.pop();
                let result = self.ref_test(value, target);
                self.stack.push(result);
            }
            Operator::RefCastNonNull { hty } | Operator::RefCastNullable { hty } => {
                let nullable = matches!(op, Operator::RefCastNullable { .. });
                let target = self.heap_target(nullable, *hty)?;
                let value = *self.stack.last().expect("validated operand");
                let ok = self.ref_test(value, target);
                self.trap_if_zero(ok, TrapKind::CastFailure);
            }
            Operator::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | Operator::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let target = self.module.convert_ref_type(*to_ref_type)?;
                let value = *self.stack.last().expect("validated operand");
                let ok = self.ref_test(value, target);
                let (label, arity) = self.branch_target(*relative_depth);
                let args: Vec<BlockArg> = self
                    .peekn(arity)
                    .iter()
                    .map(|v| BlockArg::Value(*v))
                    .collect();
                let next = self.builder.create_block();
                if matches!(op, Operator::BrOnCast { .. }) {
                    self.builder.ins().brif(ok, label, &args, next, &[]);
                } else {
                    self.builder.ins().brif(ok, next, &[], label, &args);
                }
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn heap_target(&self, nullable: bool, heap: wasmparser::HeapType) -> WasmResult<RefType> {
        let ty = wasmparser::RefType::new(nullable, heap)
            .ok_or_else(|| WasmError::Limit("type index too large".into()))?;
        self.module.convert_ref_type(ty)
    }

    /// 1 when the reference `value` is of type `target`.
    fn ref_test(&mut self, value: Value, target: RefType) -> Value {
        let i32 = ir::types::I32;
        let is_null = self.is_null(value);
        let null_result = self.builder.ins().iconst(i32, i64::from(target.nullable));
        let object_test = match target.heap {
            HeapType::ConcreteFunc(TypeRef::Module(ty)) => ObjectTest::FuncType(ty),
            HeapType::ConcreteStruct(TypeRef::Module(ty))
            | HeapType::ConcreteArray(TypeRef::Module(ty)) => ObjectTest::Type(ty),
            HeapType::Struct => ObjectTest::Kind(GcKind::Struct),
            HeapType::Array => ObjectTest::Kind(GcKind::Array),
            HeapType::Eq => ObjectTest::Eq,
            HeapType::I31 => {
                let low = self.builder.ins().ireduce(i32, value);
                let is_i31 = self.builder.ins().band_imm_u(low, 1);
                return self.builder.ins().select(is_null, null_result, is_i31);
            }
            // Every non-null value of a hierarchy is of its top type; none
            // is of a bottom type.
            heap => {
                let non_null = i64::from(heap == heap.top());
                let non_null = self.builder.ins().iconst(i32, non_null);
                return self.builder.ins().select(is_null, null_result, non_null);
            }
        };
        let check = self.builder.create_block();
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, i32);
        self.builder
            .ins()
            .brif(is_null, done, &[BlockArg::Value(null_result)], check, &[]);
        self.builder.seal_block(check);
        self.builder.switch_to_block(check);
        let answer = match object_test {
            ObjectTest::FuncType(ty) => {
                let actual = self.builder.ins().load(
                    i32,
                    trusted().with_readonly(),
                    value,
                    offsets::FUNC_REF_TYPE_ID as i32,
                );
                self.type_test(actual, ty)
            }
            test => {
                // An i31 is of `eq`, and of nothing else tested here.
                let low = self.builder.ins().ireduce(i32, value);
                let is_i31 = self.builder.ins().band_imm_u(low, 1);
                let object = self.builder.create_block();
                let i31_result = self
                    .builder
                    .ins()
                    .iconst(i32, i64::from(matches!(test, ObjectTest::Eq)));
                self.builder
                    .ins()
                    .brif(is_i31, done, &[BlockArg::Value(i31_result)], object, &[]);
                self.builder.seal_block(object);
                self.builder.switch_to_block(object);
                self.object_test(value, test)
            }
        };
        self.builder.ins().jump(done, &[BlockArg::Value(answer)]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        result
    }

    /// Whether the heap object `object` passes `test` (an `i32`).
    fn object_test(&mut self, object: Value, test: ObjectTest) -> Value {
        let i32 = ir::types::I32;
        let flags = MemFlagsData::new().with_notrap().with_readonly();
        if let ObjectTest::Type(ty) = test {
            let actual = self
                .builder
                .ins()
                .load(i32, flags, object, GC_TYPE_ID_OFFSET as i32);
            return self.type_test(actual, ty);
        }
        let kind = self
            .builder
            .ins()
            .uload8(i32, flags, object, GC_KIND_OFFSET as i32);
        let yes = match test {
            // Structs and arrays: kind 1 or 2.
            ObjectTest::Eq => {
                let less = self
                    .builder
                    .ins()
                    .iadd_imm_u(kind, -(GcKind::Struct as i64));
                self.builder
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, less, 1)
            }
            ObjectTest::Kind(k) => self.builder.ins().icmp_imm_u(IntCC::Equal, kind, k as i64),
            ObjectTest::Type(_) | ObjectTest::FuncType(_) => unreachable!("handled above"),
        };
        self.builder.ins().uextend(i32, yes)
    }
}

/// What a cast checks of a non-null reference.
#[derive(Clone, Copy)]
enum ObjectTest {
    /// A function reference's type: the type or a subtype.
    FuncType(TypeIndex),
    /// An object's type: a struct or array type, or a subtype (i31s fail).
    Type(TypeIndex),
    /// An object's kind (i31s fail).
    Kind(GcKind),
    /// `eq`: an i31, a struct or an array (externs fail).
    Eq,
}
