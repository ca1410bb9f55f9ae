//! Casts: `ref.test`, `ref.cast`, `br_on_cast` and `br_on_cast_fail`.
//!
//! A cast to a function type compares the function reference's canonical
//! type with the target (a subtype walk when the target is not final).
//! fxtime creates no GC heap objects yet, so every non-null reference of
//! the `any` hierarchy is an `i31` (a word with its low bit set, see
//! `gc`): `any`, `eq` and `i31` hold for it, and a cast to a struct or
//! array type succeeds only on null (when the target is nullable).

use super::FuncTranslator;
use super::env::trusted;
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, Value};
use fxtime_environ::vm::offsets;
use fxtime_environ::{HeapType, RefType, TrapKind, TypeRef, WasmError, WasmResult};
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
        let HeapType::ConcreteFunc(TypeRef::Module(ty)) = target.heap else {
            let non_null_result = if matches!(target.heap, HeapType::Eq | HeapType::I31) {
                // An i31: the low bit.
                let low = self.builder.ins().ireduce(i32, value);
                self.builder.ins().band_imm_u(low, 1)
            } else {
                // Every non-null value of a hierarchy is of its top type;
                // none is of a bottom type or (without heap objects) of a
                // struct or array type.
                let non_null = i64::from(target.heap == target.heap.top());
                self.builder.ins().iconst(i32, non_null)
            };
            return self
                .builder
                .ins()
                .select(is_null, null_result, non_null_result);
        };
        let check = self.builder.create_block();
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, i32);
        self.builder
            .ins()
            .brif(is_null, done, &[BlockArg::Value(null_result)], check, &[]);
        self.builder.seal_block(check);
        self.builder.switch_to_block(check);
        let actual = self.builder.ins().load(
            i32,
            trusted().with_readonly(),
            value,
            offsets::FUNC_REF_TYPE_ID as i32,
        );
        let expected = self.builder.ins().load(
            i32,
            trusted().with_readonly().with_can_move(),
            self.vmctx,
            self.offsets.type_id(ty) as i32,
        );
        let answer = self.is_subtype(actual, expected, ty);
        self.builder.ins().jump(done, &[BlockArg::Value(answer)]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        result
    }
}
