//! The GC proposal's instructions that touch no object: `i31` references,
//! `ref.eq`, and the conversions between `anyref` and `externref`.
//!
//! A reference of the `any` hierarchy is one 64-bit word: 0 is null, a
//! word with its low bit set is an `i31`, the 31-bit value in bits 1 to 31
//! (`(x << 1) | 1`), and any other word is the address of a heap object
//! (8-aligned). `ref.eq` compares words: two `i31`s are equal exactly when
//! their values are, and objects by identity.

use super::FuncTranslator;
use cranelift_codegen::ir::{InstBuilder, condcodes::IntCC, types::*};
use fxtime_environ::{TrapKind, WasmResult};
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_gc(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::RefI31 => {
                let x = self.pop();
                let shifted = self.builder.ins().ishl_imm_u(x, 1);
                let tagged = self.builder.ins().bor_imm_u(shifted, 1);
                let word = self.builder.ins().uextend(I64, tagged);
                self.stack.push(word);
            }
            Operator::I31GetS | Operator::I31GetU => {
                let word = self.pop();
                let is_null = self.is_null(word);
                self.trap_if(is_null, TrapKind::NullReference);
                let low = self.builder.ins().ireduce(I32, word);
                let value = if matches!(op, Operator::I31GetS) {
                    self.builder.ins().sshr_imm_u(low, 1)
                } else {
                    self.builder.ins().ushr_imm_u(low, 1)
                };
                self.stack.push(value);
            }
            // An `externref` and an `anyref` are the same word: a host
            // value the program holds is an extern object of the GC heap,
            // and any other object or i31 can be held as an `externref`.
            Operator::AnyConvertExtern | Operator::ExternConvertAny => {}
            Operator::RefEq => {
                let [a, b] = self.popn();
                let equal = self.builder.ins().icmp(IntCC::Equal, a, b);
                let equal = self.builder.ins().uextend(I32, equal);
                self.stack.push(equal);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
