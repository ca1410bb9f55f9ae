//! Translation of WebAssembly's scalar numeric instructions (constants,
//! integer and floating-point arithmetic, comparisons, conversions, sign
//! extension, saturating truncation and reinterpretation) into Cranelift IR.
//! Every operator here is a pure function of its operands (apart from the
//! traps Cranelift itself raises for division and trapping float-to-int
//! conversion), so translation is a simple pop-operands / push-result affair.

use cranelift_codegen::ir::{
    self, InstBuilder, Value,
    condcodes::{FloatCC, IntCC},
    types::*,
};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// Translates a numeric operator (constants, integer and float arithmetic,
/// comparisons, conversions, sign extension, saturating truncation,
/// reinterpretation). Operands are popped from `stack` and the result pushed.
/// Returns false, touching nothing, when `op` is not a numeric operator.
///
/// Notes on Cranelift vs. WebAssembly semantics (checked against the x64
/// backend of Cranelift 0.135):
/// - `sdiv` traps with `INTEGER_DIVISION_BY_ZERO` on a zero divisor and with
///   `INTEGER_OVERFLOW` on `MIN / -1`; `srem` of `MIN % -1` yields 0 and traps
///   only on a zero divisor; `udiv`/`urem` trap on a zero divisor. That is
///   exactly Wasm's behaviour, so no explicit checks are emitted.
/// - Shift and rotate amounts are taken modulo the bit width, as in Wasm.
/// - `fmin`/`fmax` propagate NaN and order -0 below +0, as in Wasm.
/// - `fcvt_to_sint`/`fcvt_to_uint` trap with `BAD_CONVERSION_TO_INTEGER` on
///   NaN and `INTEGER_OVERFLOW` when out of range, as Wasm's trapping
///   truncations require; the `_sat` forms saturate and map NaN to 0.
/// - Comparisons yield an `i8` in Cranelift; they are zero-extended to the
///   `i32` 0/1 that Wasm expects.
pub(super) fn translate(
    builder: &mut FunctionBuilder<'_>,
    stack: &mut Vec<Value>,
    op: &Operator<'_>,
) -> bool {
    use Operator as O;
    match op {
        // Constants. `iconst.i32` wants its immediate zero-extended.
        O::I32Const { value } => {
            let v = builder.ins().iconst(I32, i64::from(*value as u32));
            stack.push(v);
        }
        O::I64Const { value } => {
            let v = builder.ins().iconst(I64, *value);
            stack.push(v);
        }
        O::F32Const { value } => {
            let v = builder
                .ins()
                .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
            stack.push(v);
        }
        O::F64Const { value } => {
            let v = builder
                .ins()
                .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
            stack.push(v);
        }

        // Integer comparisons.
        O::I32Eqz | O::I64Eqz => unary(builder, stack, |b, x| {
            let c = b.ins().icmp_imm_u(IntCC::Equal, x, 0);
            b.ins().uextend(I32, c)
        }),
        O::I32Eq | O::I64Eq => int_compare(builder, stack, IntCC::Equal),
        O::I32Ne | O::I64Ne => int_compare(builder, stack, IntCC::NotEqual),
        O::I32LtS | O::I64LtS => int_compare(builder, stack, IntCC::SignedLessThan),
        O::I32LtU | O::I64LtU => int_compare(builder, stack, IntCC::UnsignedLessThan),
        O::I32GtS | O::I64GtS => int_compare(builder, stack, IntCC::SignedGreaterThan),
        O::I32GtU | O::I64GtU => int_compare(builder, stack, IntCC::UnsignedGreaterThan),
        O::I32LeS | O::I64LeS => int_compare(builder, stack, IntCC::SignedLessThanOrEqual),
        O::I32LeU | O::I64LeU => int_compare(builder, stack, IntCC::UnsignedLessThanOrEqual),
        O::I32GeS | O::I64GeS => int_compare(builder, stack, IntCC::SignedGreaterThanOrEqual),
        O::I32GeU | O::I64GeU => int_compare(builder, stack, IntCC::UnsignedGreaterThanOrEqual),

        // Float comparisons: all ordered except `ne`, which is true on NaN.
        O::F32Eq | O::F64Eq => float_compare(builder, stack, FloatCC::Equal),
        O::F32Ne | O::F64Ne => float_compare(builder, stack, FloatCC::NotEqual),
        O::F32Lt | O::F64Lt => float_compare(builder, stack, FloatCC::LessThan),
        O::F32Gt | O::F64Gt => float_compare(builder, stack, FloatCC::GreaterThan),
        O::F32Le | O::F64Le => float_compare(builder, stack, FloatCC::LessThanOrEqual),
        O::F32Ge | O::F64Ge => float_compare(builder, stack, FloatCC::GreaterThanOrEqual),

        // Integer arithmetic; the CLIF type follows the operands' type.
        O::I32Clz | O::I64Clz => unary(builder, stack, |b, x| b.ins().clz(x)),
        O::I32Ctz | O::I64Ctz => unary(builder, stack, |b, x| b.ins().ctz(x)),
        O::I32Popcnt | O::I64Popcnt => unary(builder, stack, |b, x| b.ins().popcnt(x)),
        O::I32Add | O::I64Add => binary(builder, stack, |b, x, y| b.ins().iadd(x, y)),
        O::I32Sub | O::I64Sub => binary(builder, stack, |b, x, y| b.ins().isub(x, y)),
        O::I32Mul | O::I64Mul => binary(builder, stack, |b, x, y| b.ins().imul(x, y)),
        O::I32DivS | O::I64DivS => binary(builder, stack, |b, x, y| b.ins().sdiv(x, y)),
        O::I32DivU | O::I64DivU => binary(builder, stack, |b, x, y| b.ins().udiv(x, y)),
        O::I32RemS | O::I64RemS => binary(builder, stack, |b, x, y| b.ins().srem(x, y)),
        O::I32RemU | O::I64RemU => binary(builder, stack, |b, x, y| b.ins().urem(x, y)),
        O::I32And | O::I64And => binary(builder, stack, |b, x, y| b.ins().band(x, y)),
        O::I32Or | O::I64Or => binary(builder, stack, |b, x, y| b.ins().bor(x, y)),
        O::I32Xor | O::I64Xor => binary(builder, stack, |b, x, y| b.ins().bxor(x, y)),
        O::I32Shl | O::I64Shl => binary(builder, stack, |b, x, y| b.ins().ishl(x, y)),
        O::I32ShrS | O::I64ShrS => binary(builder, stack, |b, x, y| b.ins().sshr(x, y)),
        O::I32ShrU | O::I64ShrU => binary(builder, stack, |b, x, y| b.ins().ushr(x, y)),
        O::I32Rotl | O::I64Rotl => binary(builder, stack, |b, x, y| b.ins().rotl(x, y)),
        O::I32Rotr | O::I64Rotr => binary(builder, stack, |b, x, y| b.ins().rotr(x, y)),

        // Float arithmetic.
        O::F32Abs | O::F64Abs => unary(builder, stack, |b, x| b.ins().fabs(x)),
        O::F32Neg | O::F64Neg => unary(builder, stack, |b, x| b.ins().fneg(x)),
        O::F32Ceil | O::F64Ceil => unary(builder, stack, |b, x| b.ins().ceil(x)),
        O::F32Floor | O::F64Floor => unary(builder, stack, |b, x| b.ins().floor(x)),
        O::F32Trunc | O::F64Trunc => unary(builder, stack, |b, x| b.ins().trunc(x)),
        O::F32Nearest | O::F64Nearest => unary(builder, stack, |b, x| b.ins().nearest(x)),
        O::F32Sqrt | O::F64Sqrt => unary(builder, stack, |b, x| b.ins().sqrt(x)),
        O::F32Add | O::F64Add => binary(builder, stack, |b, x, y| b.ins().fadd(x, y)),
        O::F32Sub | O::F64Sub => binary(builder, stack, |b, x, y| b.ins().fsub(x, y)),
        O::F32Mul | O::F64Mul => binary(builder, stack, |b, x, y| b.ins().fmul(x, y)),
        O::F32Div | O::F64Div => binary(builder, stack, |b, x, y| b.ins().fdiv(x, y)),
        O::F32Min | O::F64Min => binary(builder, stack, |b, x, y| b.ins().fmin(x, y)),
        O::F32Max | O::F64Max => binary(builder, stack, |b, x, y| b.ins().fmax(x, y)),
        O::F32Copysign | O::F64Copysign => {
            binary(builder, stack, |b, x, y| b.ins().fcopysign(x, y))
        }

        // Integer width changes and sign extension.
        O::I32WrapI64 => unary(builder, stack, |b, x| b.ins().ireduce(I32, x)),
        O::I64ExtendI32S => unary(builder, stack, |b, x| b.ins().sextend(I64, x)),
        O::I64ExtendI32U => unary(builder, stack, |b, x| b.ins().uextend(I64, x)),
        O::I32Extend8S => sign_extend_low(builder, stack, I8, I32),
        O::I32Extend16S => sign_extend_low(builder, stack, I16, I32),
        O::I64Extend8S => sign_extend_low(builder, stack, I8, I64),
        O::I64Extend16S => sign_extend_low(builder, stack, I16, I64),
        O::I64Extend32S => sign_extend_low(builder, stack, I32, I64),

        // Float -> int, trapping.
        O::I32TruncF32S | O::I32TruncF64S => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_sint(I32, x))
        }
        O::I32TruncF32U | O::I32TruncF64U => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_uint(I32, x))
        }
        O::I64TruncF32S | O::I64TruncF64S => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_sint(I64, x))
        }
        O::I64TruncF32U | O::I64TruncF64U => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_uint(I64, x))
        }

        // Float -> int, saturating.
        O::I32TruncSatF32S | O::I32TruncSatF64S => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_sint_sat(I32, x))
        }
        O::I32TruncSatF32U | O::I32TruncSatF64U => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_uint_sat(I32, x))
        }
        O::I64TruncSatF32S | O::I64TruncSatF64S => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_sint_sat(I64, x))
        }
        O::I64TruncSatF32U | O::I64TruncSatF64U => {
            unary(builder, stack, |b, x| b.ins().fcvt_to_uint_sat(I64, x))
        }

        // Int -> float and float <-> float.
        O::F32ConvertI32S | O::F32ConvertI64S => {
            unary(builder, stack, |b, x| b.ins().fcvt_from_sint(F32, x))
        }
        O::F32ConvertI32U | O::F32ConvertI64U => {
            unary(builder, stack, |b, x| b.ins().fcvt_from_uint(F32, x))
        }
        O::F64ConvertI32S | O::F64ConvertI64S => {
            unary(builder, stack, |b, x| b.ins().fcvt_from_sint(F64, x))
        }
        O::F64ConvertI32U | O::F64ConvertI64U => {
            unary(builder, stack, |b, x| b.ins().fcvt_from_uint(F64, x))
        }
        O::F32DemoteF64 => unary(builder, stack, |b, x| b.ins().fdemote(F32, x)),
        O::F64PromoteF32 => unary(builder, stack, |b, x| b.ins().fpromote(F64, x)),

        // Bit-preserving reinterpretation.
        O::I32ReinterpretF32 => reinterpret(builder, stack, I32),
        O::I64ReinterpretF64 => reinterpret(builder, stack, I64),
        O::F32ReinterpretI32 => reinterpret(builder, stack, F32),
        O::F64ReinterpretI64 => reinterpret(builder, stack, F64),

        _ => return false,
    }
    true
}

/// Pops one operand; validation guarantees it is there.
fn pop(stack: &mut Vec<Value>) -> Value {
    stack
        .pop()
        .expect("validated wasm: operand stack underflow")
}

/// Pops one operand, applies `f`, pushes the result.
fn unary(
    builder: &mut FunctionBuilder<'_>,
    stack: &mut Vec<Value>,
    f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
) {
    let x = pop(stack);
    let v = f(builder, x);
    stack.push(v);
}

/// Pops two operands (`x` was pushed first), applies `f(x, y)`, pushes the result.
fn binary(
    builder: &mut FunctionBuilder<'_>,
    stack: &mut Vec<Value>,
    f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
) {
    let y = pop(stack);
    let x = pop(stack);
    let v = f(builder, x, y);
    stack.push(v);
}

/// Integer comparison producing Wasm's `i32` 0/1.
fn int_compare(builder: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, cc: IntCC) {
    binary(builder, stack, |b, x, y| {
        let c = b.ins().icmp(cc, x, y);
        b.ins().uextend(I32, c)
    });
}

/// Float comparison producing Wasm's `i32` 0/1.
fn float_compare(builder: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, cc: FloatCC) {
    binary(builder, stack, |b, x, y| {
        let c = b.ins().fcmp(cc, x, y);
        b.ins().uextend(I32, c)
    });
}

/// Sign-extends the low `from` bits of the operand to the full `to` width.
fn sign_extend_low(
    builder: &mut FunctionBuilder<'_>,
    stack: &mut Vec<Value>,
    from: ir::Type,
    to: ir::Type,
) {
    unary(builder, stack, |b, x| {
        let low = b.ins().ireduce(from, x);
        b.ins().sextend(to, low)
    });
}

/// Reinterprets the operand's bits as type `to`.
fn reinterpret(builder: &mut FunctionBuilder<'_>, stack: &mut Vec<Value>, to: ir::Type) {
    unary(builder, stack, |b, x| {
        b.ins().bitcast(to, ir::MemFlagsData::new(), x)
    });
}
