//! Float lanes: arithmetic, rounding, comparisons, and the conversions
//! between float and integer lanes.

use super::{FuncTranslator, shape, view, zeros};
use cranelift_codegen::ir::{self, InstBuilder, Value, condcodes::FloatCC, types::*};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_simd_float(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        let ty = shape(op);
        match op {
            O::F32x4Add | O::F64x2Add => self.vbinary(ty, |b, x, y| b.ins().fadd(x, y)),
            O::F32x4Sub | O::F64x2Sub => self.vbinary(ty, |b, x, y| b.ins().fsub(x, y)),
            O::F32x4Mul | O::F64x2Mul => self.vbinary(ty, |b, x, y| b.ins().fmul(x, y)),
            O::F32x4Div | O::F64x2Div => self.vbinary(ty, |b, x, y| b.ins().fdiv(x, y)),
            // Cranelift's `fmin`/`fmax` are wasm's: NaN wins, -0 < +0.
            O::F32x4Min | O::F64x2Min => self.vbinary(ty, |b, x, y| b.ins().fmin(x, y)),
            O::F32x4Max | O::F64x2Max => self.vbinary(ty, |b, x, y| b.ins().fmax(x, y)),
            O::F32x4PMin | O::F64x2PMin => self.vbinary(ty, |b, x, y| pseudo_min(b, y, x)),
            O::F32x4PMax | O::F64x2PMax => self.vbinary(ty, |b, x, y| pseudo_max(b, y, x)),
            O::F32x4Abs | O::F64x2Abs => self.vunary(ty, |b, x| b.ins().fabs(x)),
            O::F32x4Neg | O::F64x2Neg => self.vunary(ty, |b, x| b.ins().fneg(x)),
            O::F32x4Sqrt | O::F64x2Sqrt => self.vunary(ty, |b, x| b.ins().sqrt(x)),
            O::F32x4Ceil | O::F64x2Ceil => self.vunary(ty, |b, x| b.ins().ceil(x)),
            O::F32x4Floor | O::F64x2Floor => self.vunary(ty, |b, x| b.ins().floor(x)),
            O::F32x4Trunc | O::F64x2Trunc => self.vunary(ty, |b, x| b.ins().trunc(x)),
            O::F32x4Nearest | O::F64x2Nearest => self.vunary(ty, |b, x| b.ins().nearest(x)),

            // Ordered comparisons but `ne`, which holds on NaN.
            O::F32x4Eq | O::F64x2Eq => self.vfcmp(ty, FloatCC::Equal),
            O::F32x4Ne | O::F64x2Ne => self.vfcmp(ty, FloatCC::NotEqual),
            O::F32x4Lt | O::F64x2Lt => self.vfcmp(ty, FloatCC::LessThan),
            O::F32x4Gt | O::F64x2Gt => self.vfcmp(ty, FloatCC::GreaterThan),
            O::F32x4Le | O::F64x2Le => self.vfcmp(ty, FloatCC::LessThanOrEqual),
            O::F32x4Ge | O::F64x2Ge => self.vfcmp(ty, FloatCC::GreaterThanOrEqual),

            O::F32x4ConvertI32x4S => self.vunary(I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x)),
            O::F32x4ConvertI32x4U => self.vunary(I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x)),
            // The low two lanes, widened first: the backend matches the
            // pair as one `cvtdq2pd` (signed) or a short sequence.
            O::F64x2ConvertLowI32x4S => self.vunary(I32X4, |b, x| {
                let low = b.ins().swiden_low(x);
                b.ins().fcvt_from_sint(F64X2, low)
            }),
            O::F64x2ConvertLowI32x4U => self.vunary(I32X4, |b, x| {
                let low = b.ins().uwiden_low(x);
                b.ins().fcvt_from_uint(F64X2, low)
            }),
            O::I32x4TruncSatF32x4S => self.vunary(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x)),
            O::I32x4TruncSatF32x4U => self.vunary(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x)),
            O::I32x4TruncSatF64x2SZero => self.vunary(F64X2, trunc_sat_f64x2_s_zero),
            O::I32x4TruncSatF64x2UZero => self.vunary(F64X2, trunc_sat_f64x2_u_zero),
            O::F32x4DemoteF64x2Zero => self.vunary(F64X2, |b, x| b.ins().fvdemote(x)),
            O::F64x2PromoteLowF32x4 => self.vunary(F32X4, |b, x| b.ins().fvpromote_low(x)),
            _ => return false,
        }
        true
    }

    /// A lane-wise float comparison: all ones where it holds.
    fn vfcmp(&mut self, ty: ir::Type, cc: FloatCC) {
        self.vbinary(ty, |b, x, y| b.ins().fcmp(cc, x, y));
    }
}

/// `x < y ? x : y` lane by lane; wasm's `pmin(a, b)` is
/// `pseudo_min(b, a)`. Written as the backend's `minps` pattern wants it:
/// a bitselect on the bitcast comparison.
pub(super) fn pseudo_min(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let less = b.ins().fcmp(FloatCC::LessThan, x, y);
    let mask = view(b, ty, less);
    b.ins().bitselect(mask, x, y)
}

/// `y < x ? x : y` lane by lane (`maxps`); wasm's `pmax(a, b)` is
/// `pseudo_max(b, a)`.
pub(super) fn pseudo_max(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let less = b.ins().fcmp(FloatCC::LessThan, y, x);
    let mask = view(b, ty, less);
    b.ins().bitselect(mask, x, y)
}

/// Saturating truncation of two f64 lanes into the low two i32 lanes, the
/// high two zero (the backend's pattern for this pair of instructions).
pub(super) fn trunc_sat_f64x2_s_zero(b: &mut FunctionBuilder<'_>, x: Value) -> Value {
    let wide = b.ins().fcvt_to_sint_sat(I64X2, x);
    let zero = zeros(b, I64X2);
    b.ins().snarrow(wide, zero)
}

/// The unsigned form of [`trunc_sat_f64x2_s_zero`].
pub(super) fn trunc_sat_f64x2_u_zero(b: &mut FunctionBuilder<'_>, x: Value) -> Value {
    let wide = b.ins().fcvt_to_uint_sat(I64X2, x);
    let zero = zeros(b, I64X2);
    b.ins().uunarrow(wide, zero)
}
