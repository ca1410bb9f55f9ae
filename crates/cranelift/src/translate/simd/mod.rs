//! The 128-bit SIMD proposal and relaxed SIMD.
//!
//! A `v128` has one Cranelift type wherever it is stored or crosses a
//! block, call or continuation boundary: `I8X16` (`abi::ir_type`). Each
//! operator views its operands with the lane shape it works on and hands
//! its result back as `I8X16`. Both are `bitcast`s between vector types,
//! which the x64 backend lowers to nothing, so a value never leaves its
//! register for them; what matters is that the operands an operator builds
//! are the exact CLIF shapes the backend's patterns recognise (`pmaddwd`
//! for a dot product, `minps` for `pmin`, `cvttpd2dq` for a saturating
//! narrow), which is why several operators below are spelled out as small
//! instruction trees.
//!
//! | file | operators |
//! |---|---|
//! | `mod.rs` | constants, splat, lanes, shuffles, bitwise, integer arithmetic, comparisons, widening and narrowing |
//! | `float.rs` | float arithmetic, rounding, comparisons, conversions |
//! | `memory.rs` | loads and stores, whole, extending, splatting, zeroing and per lane |
//! | `relaxed.rs` | relaxed SIMD, native or deterministic |

mod float;
mod memory;
mod relaxed;

use super::FuncTranslator;
use cranelift_codegen::ir::{
    self, ConstantData, Endianness, InstBuilder, MemFlagsData, Value, condcodes::IntCC, types::*,
};
use cranelift_frontend::FunctionBuilder;
use fxtime_environ::{WasmError, WasmResult};
use wasmparser::Operator;

/// The type every `v128` has outside the operator that computes it.
pub(crate) const V128: ir::Type = I8X16;

/// Flags of a bitcast between vector types: Cranelift wants the byte order
/// spelled out when the lane count changes (wasm's lanes are little-endian).
fn lanes_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// `value` viewed as a vector of type `ty`.
pub(crate) fn view(b: &mut FunctionBuilder<'_>, ty: ir::Type, value: Value) -> Value {
    if b.func.dfg.value_type(value) == ty {
        value
    } else {
        b.ins().bitcast(ty, lanes_flags(), value)
    }
}

/// An all-zero vector of type `ty`.
fn zeros(b: &mut FunctionBuilder<'_>, ty: ir::Type) -> Value {
    vector_const(b, ty, &[0; 16])
}

/// A vector constant of type `ty` from its 16 little-endian bytes.
fn vector_const(b: &mut FunctionBuilder<'_>, ty: ir::Type, bytes: &[u8; 16]) -> Value {
    let handle = b.func.dfg.constants.insert(ConstantData::from(&bytes[..]));
    b.ins().vconst(ty, handle)
}

/// The all-zero `v128`, the default of `v128` locals.
pub(crate) fn zero_v128(b: &mut FunctionBuilder<'_>) -> Value {
    zeros(b, V128)
}

/// The lane shape the name of a SIMD operator starts with (`I16x8Add` ->
/// `I16X8`), which for every operator but the conversions is the shape of
/// its operands and its result. `V128` for the shape-less ones.
fn shape(op: &Operator<'_>) -> ir::Type {
    let name = super::operator_name(op);
    [
        ("I8x16", I8X16),
        ("I16x8", I16X8),
        ("I32x4", I32X4),
        ("I64x2", I64X2),
        ("F32x4", F32X4),
        ("F64x2", F64X2),
    ]
    .into_iter()
    .find(|(prefix, _)| name.starts_with(prefix))
    .map_or(V128, |(_, ty)| ty)
}

impl FuncTranslator<'_> {
    /// Translates a SIMD or relaxed SIMD operator; false if `op` is neither.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        if !is_simd(op) {
            return Ok(false);
        }
        if !self.host.sse41 {
            return Err(WasmError::Unsupported(
                "simd on this host: its CPU lacks SSE4.1".into(),
            ));
        }
        let handled = self.translate_simd_memory(op)
            || self.translate_simd_lanes(op)
            || self.translate_simd_integer(op)
            || self.translate_simd_float(op)
            || self.translate_relaxed_simd(op);
        debug_assert!(handled, "SIMD operator {op:?} left untranslated");
        Ok(handled)
    }

    /// Pops a `v128`, viewed as `ty`.
    pub(crate) fn vpop(&mut self, ty: ir::Type) -> Value {
        let value = self.pop();
        view(&mut self.builder, ty, value)
    }

    /// Pushes a vector result as a `v128`.
    pub(crate) fn vpush(&mut self, value: Value) {
        let value = view(&mut self.builder, V128, value);
        self.stack.push(value);
    }

    /// `f` of one operand of type `ty`.
    pub(crate) fn vunary(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    ) {
        let x = self.vpop(ty);
        let result = f(&mut self.builder, x);
        self.vpush(result);
    }

    /// `f(x, y)` of two operands of type `ty`, `x` pushed first.
    pub(crate) fn vbinary(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let y = self.vpop(ty);
        let x = self.vpop(ty);
        let result = f(&mut self.builder, x, y);
        self.vpush(result);
    }

    /// `f(x, y, z)` of three operands of type `ty`, `x` pushed first.
    pub(crate) fn vternary(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value, Value) -> Value,
    ) {
        let z = self.vpop(ty);
        let y = self.vpop(ty);
        let x = self.vpop(ty);
        let result = f(&mut self.builder, x, y, z);
        self.vpush(result);
    }

    /// Pushes an `i32` computed from one operand of type `ty`.
    fn vreduce(&mut self, ty: ir::Type, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let x = self.vpop(ty);
        let result = f(&mut self.builder, x);
        let result = if self.builder.func.dfg.value_type(result) == I32 {
            result
        } else {
            self.builder.ins().uextend(I32, result)
        };
        self.stack.push(result);
    }

    /// Constants, splats, lane access, shuffles and the bitwise operators.
    fn translate_simd_lanes(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        let ty = shape(op);
        match op {
            O::V128Const { value } => {
                let v = vector_const(&mut self.builder, V128, value.bytes());
                self.stack.push(v);
            }
            O::I8x16Splat
            | O::I16x8Splat
            | O::I32x4Splat
            | O::I64x2Splat
            | O::F32x4Splat
            | O::F64x2Splat => {
                let x = self.pop();
                let x = narrow_to_lane(&mut self.builder, ty, x);
                let v = self.builder.ins().splat(ty, x);
                self.vpush(v);
            }
            O::I8x16ExtractLaneS { lane } | O::I16x8ExtractLaneS { lane } => {
                let v = self.vpop(ty);
                let x = self.builder.ins().extractlane(v, *lane);
                let x = self.builder.ins().sextend(I32, x);
                self.stack.push(x);
            }
            O::I8x16ExtractLaneU { lane } | O::I16x8ExtractLaneU { lane } => {
                let v = self.vpop(ty);
                let x = self.builder.ins().extractlane(v, *lane);
                let x = self.builder.ins().uextend(I32, x);
                self.stack.push(x);
            }
            O::I32x4ExtractLane { lane }
            | O::I64x2ExtractLane { lane }
            | O::F32x4ExtractLane { lane }
            | O::F64x2ExtractLane { lane } => {
                let v = self.vpop(ty);
                let x = self.builder.ins().extractlane(v, *lane);
                self.stack.push(x);
            }
            O::I8x16ReplaceLane { lane }
            | O::I16x8ReplaceLane { lane }
            | O::I32x4ReplaceLane { lane }
            | O::I64x2ReplaceLane { lane }
            | O::F32x4ReplaceLane { lane }
            | O::F64x2ReplaceLane { lane } => {
                let x = self.pop();
                let x = narrow_to_lane(&mut self.builder, ty, x);
                let v = self.vpop(ty);
                let v = self.builder.ins().insertlane(v, x, *lane);
                self.vpush(v);
            }
            O::I8x16Shuffle { lanes } => {
                let mask = self
                    .builder
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(&lanes[..]));
                self.vbinary(V128, |b, x, y| b.ins().shuffle(x, y, mask));
            }
            O::I8x16Swizzle => self.vbinary(I8X16, |b, x, y| b.ins().swizzle(x, y)),

            O::V128Not => self.vunary(V128, |b, x| b.ins().bnot(x)),
            O::V128And => self.vbinary(V128, |b, x, y| b.ins().band(x, y)),
            O::V128Or => self.vbinary(V128, |b, x, y| b.ins().bor(x, y)),
            O::V128Xor => self.vbinary(V128, |b, x, y| b.ins().bxor(x, y)),
            O::V128AndNot => self.vbinary(V128, |b, x, y| {
                let not_y = b.ins().bnot(y);
                b.ins().band(x, not_y)
            }),
            O::V128Bitselect => self.vternary(V128, |b, x, y, mask| b.ins().bitselect(mask, x, y)),
            O::V128AnyTrue => self.vreduce(V128, |b, x| b.ins().vany_true(x)),
            O::I8x16AllTrue | O::I16x8AllTrue | O::I32x4AllTrue | O::I64x2AllTrue => {
                self.vreduce(ty, |b, x| b.ins().vall_true(x))
            }
            O::I8x16Bitmask | O::I16x8Bitmask | O::I32x4Bitmask | O::I64x2Bitmask => {
                self.vreduce(ty, |b, x| b.ins().vhigh_bits(I32, x))
            }
            _ => return false,
        }
        true
    }

    /// Integer lane arithmetic, shifts, comparisons, widening and narrowing.
    fn translate_simd_integer(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        let ty = shape(op);
        match op {
            O::I8x16Add | O::I16x8Add | O::I32x4Add | O::I64x2Add => {
                self.vbinary(ty, |b, x, y| b.ins().iadd(x, y))
            }
            O::I8x16Sub | O::I16x8Sub | O::I32x4Sub | O::I64x2Sub => {
                self.vbinary(ty, |b, x, y| b.ins().isub(x, y))
            }
            O::I16x8Mul | O::I32x4Mul | O::I64x2Mul => {
                self.vbinary(ty, |b, x, y| b.ins().imul(x, y))
            }
            O::I8x16Neg | O::I16x8Neg | O::I32x4Neg | O::I64x2Neg => {
                self.vunary(ty, |b, x| b.ins().ineg(x))
            }
            O::I8x16Abs | O::I16x8Abs | O::I32x4Abs | O::I64x2Abs => {
                self.vunary(ty, |b, x| b.ins().iabs(x))
            }
            O::I8x16Popcnt => self.vunary(ty, |b, x| b.ins().popcnt(x)),
            O::I8x16AddSatS | O::I16x8AddSatS => self.vbinary(ty, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I8x16AddSatU | O::I16x8AddSatU => self.vbinary(ty, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I8x16SubSatS | O::I16x8SubSatS => self.vbinary(ty, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I8x16SubSatU | O::I16x8SubSatU => self.vbinary(ty, |b, x, y| b.ins().usub_sat(x, y)),
            O::I8x16MinS | O::I16x8MinS | O::I32x4MinS => {
                self.vbinary(ty, |b, x, y| b.ins().smin(x, y))
            }
            O::I8x16MinU | O::I16x8MinU | O::I32x4MinU => {
                self.vbinary(ty, |b, x, y| b.ins().umin(x, y))
            }
            O::I8x16MaxS | O::I16x8MaxS | O::I32x4MaxS => {
                self.vbinary(ty, |b, x, y| b.ins().smax(x, y))
            }
            O::I8x16MaxU | O::I16x8MaxU | O::I32x4MaxU => {
                self.vbinary(ty, |b, x, y| b.ins().umax(x, y))
            }
            O::I8x16AvgrU | O::I16x8AvgrU => self.vbinary(ty, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8Q15MulrSatS => self.vbinary(ty, |b, x, y| b.ins().sqmul_round_sat(x, y)),

            // Shift amounts are scalars; Cranelift takes them modulo the
            // lane width, as wasm does.
            O::I8x16Shl | O::I16x8Shl | O::I32x4Shl | O::I64x2Shl => {
                self.vshift(ty, |b, x, n| b.ins().ishl(x, n))
            }
            O::I8x16ShrS | O::I16x8ShrS | O::I32x4ShrS | O::I64x2ShrS => {
                self.vshift(ty, |b, x, n| b.ins().sshr(x, n))
            }
            O::I8x16ShrU | O::I16x8ShrU | O::I32x4ShrU | O::I64x2ShrU => {
                self.vshift(ty, |b, x, n| b.ins().ushr(x, n))
            }

            O::I8x16Eq | O::I16x8Eq | O::I32x4Eq | O::I64x2Eq => self.vicmp(ty, IntCC::Equal),
            O::I8x16Ne | O::I16x8Ne | O::I32x4Ne | O::I64x2Ne => self.vicmp(ty, IntCC::NotEqual),
            O::I8x16LtS | O::I16x8LtS | O::I32x4LtS | O::I64x2LtS => {
                self.vicmp(ty, IntCC::SignedLessThan)
            }
            O::I8x16LtU | O::I16x8LtU | O::I32x4LtU => self.vicmp(ty, IntCC::UnsignedLessThan),
            O::I8x16GtS | O::I16x8GtS | O::I32x4GtS | O::I64x2GtS => {
                self.vicmp(ty, IntCC::SignedGreaterThan)
            }
            O::I8x16GtU | O::I16x8GtU | O::I32x4GtU => self.vicmp(ty, IntCC::UnsignedGreaterThan),
            O::I8x16LeS | O::I16x8LeS | O::I32x4LeS | O::I64x2LeS => {
                self.vicmp(ty, IntCC::SignedLessThanOrEqual)
            }
            O::I8x16LeU | O::I16x8LeU | O::I32x4LeU => {
                self.vicmp(ty, IntCC::UnsignedLessThanOrEqual)
            }
            O::I8x16GeS | O::I16x8GeS | O::I32x4GeS | O::I64x2GeS => {
                self.vicmp(ty, IntCC::SignedGreaterThanOrEqual)
            }
            O::I8x16GeU | O::I16x8GeU | O::I32x4GeU => {
                self.vicmp(ty, IntCC::UnsignedGreaterThanOrEqual)
            }

            O::I8x16NarrowI16x8S | O::I16x8NarrowI32x4S => {
                self.vbinary(ty.merge_lanes().unwrap(), |b, x, y| b.ins().snarrow(x, y))
            }
            O::I8x16NarrowI16x8U | O::I16x8NarrowI32x4U => {
                self.vbinary(ty.merge_lanes().unwrap(), |b, x, y| b.ins().unarrow(x, y))
            }
            O::I16x8ExtendLowI8x16S | O::I32x4ExtendLowI16x8S | O::I64x2ExtendLowI32x4S => {
                self.vunary(narrower(ty), |b, x| b.ins().swiden_low(x))
            }
            O::I16x8ExtendHighI8x16S | O::I32x4ExtendHighI16x8S | O::I64x2ExtendHighI32x4S => {
                self.vunary(narrower(ty), |b, x| b.ins().swiden_high(x))
            }
            O::I16x8ExtendLowI8x16U | O::I32x4ExtendLowI16x8U | O::I64x2ExtendLowI32x4U => {
                self.vunary(narrower(ty), |b, x| b.ins().uwiden_low(x))
            }
            O::I16x8ExtendHighI8x16U | O::I32x4ExtendHighI16x8U | O::I64x2ExtendHighI32x4U => {
                self.vunary(narrower(ty), |b, x| b.ins().uwiden_high(x))
            }

            // Widening multiplies and pairwise additions, in the shapes
            // the backend turns into `pmull*`/`pmuldq` and `pmadd*`.
            O::I16x8ExtMulLowI8x16S | O::I32x4ExtMulLowI16x8S | O::I64x2ExtMulLowI32x4S => {
                self.extmul(ty, |b, x| b.ins().swiden_low(x))
            }
            O::I16x8ExtMulHighI8x16S | O::I32x4ExtMulHighI16x8S | O::I64x2ExtMulHighI32x4S => {
                self.extmul(ty, |b, x| b.ins().swiden_high(x))
            }
            O::I16x8ExtMulLowI8x16U | O::I32x4ExtMulLowI16x8U | O::I64x2ExtMulLowI32x4U => {
                self.extmul(ty, |b, x| b.ins().uwiden_low(x))
            }
            O::I16x8ExtMulHighI8x16U | O::I32x4ExtMulHighI16x8U | O::I64x2ExtMulHighI32x4U => {
                self.extmul(ty, |b, x| b.ins().uwiden_high(x))
            }
            O::I16x8ExtAddPairwiseI8x16S | O::I32x4ExtAddPairwiseI16x8S => {
                self.vunary(narrower(ty), |b, x| {
                    let (low, high) = (b.ins().swiden_low(x), b.ins().swiden_high(x));
                    b.ins().iadd_pairwise(low, high)
                })
            }
            O::I16x8ExtAddPairwiseI8x16U | O::I32x4ExtAddPairwiseI16x8U => {
                self.vunary(narrower(ty), |b, x| {
                    let (low, high) = (b.ins().uwiden_low(x), b.ins().uwiden_high(x));
                    b.ins().iadd_pairwise(low, high)
                })
            }
            O::I32x4DotI16x8S => self.vbinary(I16X8, signed_dot),
            _ => return false,
        }
        true
    }

    /// A vector shifted by a scalar `i32` amount.
    fn vshift(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let amount = self.pop();
        let x = self.vpop(ty);
        let result = f(&mut self.builder, x, amount);
        self.vpush(result);
    }

    /// A lane-wise integer comparison: all ones where it holds.
    fn vicmp(&mut self, ty: ir::Type, cc: IntCC) {
        self.vbinary(ty, |b, x, y| b.ins().icmp(cc, x, y));
    }

    /// The product of the halves `widen` picks of both operands, in lanes
    /// twice as wide (`ty`).
    fn extmul(&mut self, ty: ir::Type, widen: impl Fn(&mut FunctionBuilder<'_>, Value) -> Value) {
        self.vbinary(narrower(ty), |b, x, y| {
            let (x, y) = (widen(b, x), widen(b, y));
            b.ins().imul(x, y)
        });
    }
}

/// `i32x4.dot_i16x8_s`: adjacent products of signed 16-bit lanes, summed
/// into 32-bit lanes (one `pmaddwd`).
fn signed_dot(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
    let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
    let low = b.ins().imul(xl, yl);
    let high = b.ins().imul(xh, yh);
    b.ins().iadd_pairwise(low, high)
}

/// The shape with lanes half as wide and twice as many as `ty`'s.
fn narrower(ty: ir::Type) -> ir::Type {
    ty.split_lanes()
        .expect("a shape with lanes wider than 8 bits")
}

/// A scalar operand as a lane of `ty`: wasm passes 8- and 16-bit lanes as
/// `i32`s.
fn narrow_to_lane(b: &mut FunctionBuilder<'_>, ty: ir::Type, x: Value) -> Value {
    let lane = ty.lane_type();
    if b.func.dfg.value_type(x) == lane {
        x
    } else {
        b.ins().ireduce(lane, x)
    }
}

/// Whether `op` belongs to the SIMD or relaxed SIMD proposals.
fn is_simd(op: &Operator<'_>) -> bool {
    matches!(super::operator_proposal(op), "simd" | "relaxed_simd")
}
