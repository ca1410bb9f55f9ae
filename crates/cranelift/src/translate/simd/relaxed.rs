//! Relaxed SIMD. Each operator may give any of a small set of results; by
//! default fxtime picks the one the host computes fastest (`pshufb`,
//! `cvttps2dq`, `blendv*`, `pmulhrsw`, `pmaddubsw`, `vfmadd*`, `minps`),
//! and with `Config::relaxed_simd_deterministic` the one the spec calls
//! deterministic, which is the same on every host and equals the
//! corresponding non-relaxed operator where there is one.

use super::float::{pseudo_max, pseudo_min, trunc_sat_f64x2_s_zero, trunc_sat_f64x2_u_zero};
use super::{FuncTranslator, shape, zeros};
use cranelift_codegen::ir::{InstBuilder, Value, types::*};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl FuncTranslator<'_> {
    pub(super) fn translate_relaxed_simd(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        let ty = shape(op);
        let native = !self.options.relaxed_simd_deterministic;
        let isa = self.host.isa;
        match op {
            O::I8x16RelaxedSwizzle if native && isa.has_x86_pshufb_lowering() => {
                self.vbinary(I8X16, |b, x, y| b.ins().x86_pshufb(x, y))
            }
            O::I8x16RelaxedSwizzle => self.vbinary(I8X16, |b, x, y| b.ins().swizzle(x, y)),

            O::I32x4RelaxedTruncF32x4S if native => {
                self.vunary(F32X4, |b, x| b.ins().x86_cvtt2dq(I32X4, x))
            }
            O::I32x4RelaxedTruncF32x4S => {
                self.vunary(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
            }
            O::I32x4RelaxedTruncF32x4U => {
                self.vunary(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
            }
            // `cvttpd2dq`, in the shape the backend matches.
            O::I32x4RelaxedTruncF64x2SZero if native => self.vunary(F64X2, |b, x| {
                let wide = b.ins().x86_cvtt2dq(I64X2, x);
                let zero = zeros(b, I64X2);
                b.ins().snarrow(wide, zero)
            }),
            O::I32x4RelaxedTruncF64x2SZero => self.vunary(F64X2, trunc_sat_f64x2_s_zero),
            O::I32x4RelaxedTruncF64x2UZero => self.vunary(F64X2, trunc_sat_f64x2_u_zero),

            // Fused where the deterministic result asks for it or the host
            // fuses for free; a multiply and an add otherwise.
            O::F32x4RelaxedMadd | O::F64x2RelaxedMadd => {
                let fused = !native || isa.has_native_fma();
                self.vternary(ty, |b, x, y, z| multiply_add(b, fused, x, y, z))
            }
            O::F32x4RelaxedNmadd | O::F64x2RelaxedNmadd => {
                let fused = !native || isa.has_native_fma();
                self.vternary(ty, |b, x, y, z| {
                    let minus_x = b.ins().fneg(x);
                    multiply_add(b, fused, minus_x, y, z)
                })
            }

            O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => {
                let blend = native && isa.has_blendv_lowering(ty);
                self.vternary(ty, |b, x, y, mask| {
                    if blend {
                        b.ins().blendv(mask, x, y)
                    } else {
                        b.ins().bitselect(mask, x, y)
                    }
                })
            }

            O::F32x4RelaxedMin | O::F64x2RelaxedMin if native => self.vbinary(ty, pseudo_min),
            O::F32x4RelaxedMin | O::F64x2RelaxedMin => {
                self.vbinary(ty, |b, x, y| b.ins().fmin(x, y))
            }
            O::F32x4RelaxedMax | O::F64x2RelaxedMax if native => self.vbinary(ty, pseudo_max),
            O::F32x4RelaxedMax | O::F64x2RelaxedMax => {
                self.vbinary(ty, |b, x, y| b.ins().fmax(x, y))
            }

            O::I16x8RelaxedQ15mulrS if native && isa.has_x86_pmulhrsw_lowering() => {
                self.vbinary(I16X8, |b, x, y| b.ins().x86_pmulhrsw(x, y))
            }
            O::I16x8RelaxedQ15mulrS => self.vbinary(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y)),

            O::I16x8RelaxedDotI8x16I7x16S => {
                let pmaddubsw = native && isa.has_x86_pmaddubsw_lowering();
                self.vbinary(I8X16, |b, x, y| dot_i8x16_i7x16(b, pmaddubsw, x, y))
            }
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let pmaddubsw = native && isa.has_x86_pmaddubsw_lowering();
                let acc = self.vpop(I32X4);
                self.vbinary(I8X16, |b, x, y| {
                    let pairs = dot_i8x16_i7x16(b, pmaddubsw, x, y);
                    let low = b.ins().swiden_low(pairs);
                    let high = b.ins().swiden_high(pairs);
                    let quads = b.ins().iadd_pairwise(low, high);
                    b.ins().iadd(quads, acc)
                });
            }
            _ => return false,
        }
        true
    }
}

/// `x * y + z`, rounded once if `fused`.
fn multiply_add(b: &mut FunctionBuilder<'_>, fused: bool, x: Value, y: Value, z: Value) -> Value {
    if fused {
        b.ins().fma(x, y, z)
    } else {
        let product = b.ins().fmul(x, y);
        b.ins().fadd(product, z)
    }
}

/// Sums of adjacent products of the 8-bit lanes of `x` (signed) and `y`
/// (7-bit, so signed or unsigned alike) in 16-bit lanes. `pmaddubsw`
/// treats `y` as unsigned and saturates, both allowed results; the
/// deterministic result treats it as signed and wraps.
fn dot_i8x16_i7x16(b: &mut FunctionBuilder<'_>, pmaddubsw: bool, x: Value, y: Value) -> Value {
    if pmaddubsw {
        return b.ins().x86_pmaddubsw(x, y);
    }
    let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
    let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
    let low = b.ins().imul(xl, yl);
    let high = b.ins().imul(xh, yh);
    b.ins().iadd_pairwise(low, high)
}
