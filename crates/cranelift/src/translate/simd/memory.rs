//! The `v128` loads and stores beyond a whole vector's (which
//! `translate::memory` handles with the scalar ones). Addresses are formed
//! and checked as for the scalar accesses, with the access's real size.

use super::{FuncTranslator, view};
use crate::translate::memory::heap_flags;
use cranelift_codegen::ir::{self, InstBuilder, types::*};
use wasmparser::{MemArg, Operator};

impl FuncTranslator<'_> {
    pub(super) fn translate_simd_memory(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        match op {
            O::V128Load8x8S { memarg } => self.vload(memarg, 8, |b, addr, offset| {
                b.ins().sload8x8(heap_flags(), addr, offset)
            }),
            O::V128Load8x8U { memarg } => self.vload(memarg, 8, |b, addr, offset| {
                b.ins().uload8x8(heap_flags(), addr, offset)
            }),
            O::V128Load16x4S { memarg } => self.vload(memarg, 8, |b, addr, offset| {
                b.ins().sload16x4(heap_flags(), addr, offset)
            }),
            O::V128Load16x4U { memarg } => self.vload(memarg, 8, |b, addr, offset| {
                b.ins().uload16x4(heap_flags(), addr, offset)
            }),
            O::V128Load32x2S { memarg } => self.vload(memarg, 8, |b, addr, offset| {
                b.ins().sload32x2(heap_flags(), addr, offset)
            }),
            O::V128Load32x2U { memarg } => self.vload(memarg, 8, |b, addr, offset| {
                b.ins().uload32x2(heap_flags(), addr, offset)
            }),
            O::V128Load8Splat { memarg } => self.load_splat(memarg, I8X16),
            O::V128Load16Splat { memarg } => self.load_splat(memarg, I16X8),
            O::V128Load32Splat { memarg } => self.load_splat(memarg, I32X4),
            O::V128Load64Splat { memarg } => self.load_splat(memarg, I64X2),
            O::V128Load32Zero { memarg } => self.load_zero(memarg, I32X4),
            O::V128Load64Zero { memarg } => self.load_zero(memarg, I64X2),
            O::V128Load8Lane { memarg, lane }
            | O::V128Load16Lane { memarg, lane }
            | O::V128Load32Lane { memarg, lane }
            | O::V128Load64Lane { memarg, lane } => {
                self.load_lane(memarg, shape_of_lane_op(op), *lane)
            }
            O::V128Store8Lane { memarg, lane }
            | O::V128Store16Lane { memarg, lane }
            | O::V128Store32Lane { memarg, lane }
            | O::V128Store64Lane { memarg, lane } => {
                let ty = shape_of_lane_op(op);
                let vector = self.vpop(ty);
                let index = self.pop();
                let value = self.builder.ins().extractlane(vector, *lane);
                let (addr, offset) = self.heap_address(memarg, index, ty.lane_bits() / 8);
                self.builder.ins().store(heap_flags(), value, addr, offset);
            }
            _ => return false,
        }
        true
    }

    /// Loads `size` bytes at the popped address with `load`.
    fn vload(
        &mut self,
        memarg: &MemArg,
        size: u32,
        load: impl FnOnce(&mut cranelift_frontend::FunctionBuilder<'_>, ir::Value, i32) -> ir::Value,
    ) {
        let index = self.pop();
        let (addr, offset) = self.heap_address(memarg, index, size);
        let value = load(&mut self.builder, addr, offset);
        self.vpush(value);
    }

    /// One lane's worth of memory, loaded as a scalar.
    fn load_lane_value(&mut self, memarg: &MemArg, ty: ir::Type) -> ir::Value {
        let index = self.pop();
        let lane = ty.lane_type();
        let (addr, offset) = self.heap_address(memarg, index, lane.bytes());
        self.builder.ins().load(lane, heap_flags(), addr, offset)
    }

    /// A scalar load copied to every lane of `ty`.
    fn load_splat(&mut self, memarg: &MemArg, ty: ir::Type) {
        let value = self.load_lane_value(memarg, ty);
        let vector = self.builder.ins().splat(ty, value);
        self.vpush(vector);
    }

    /// A scalar load into lane 0 of `ty`, the other lanes zero.
    fn load_zero(&mut self, memarg: &MemArg, ty: ir::Type) {
        let value = self.load_lane_value(memarg, ty);
        let vector = self.builder.ins().scalar_to_vector(ty, value);
        self.vpush(vector);
    }

    /// A scalar load replacing lane `lane` of the popped vector.
    fn load_lane(&mut self, memarg: &MemArg, ty: ir::Type, lane: u8) {
        let vector = self.pop();
        let value = self.load_lane_value(memarg, ty);
        let vector = view(&mut self.builder, ty, vector);
        let vector = self.builder.ins().insertlane(vector, value, lane);
        self.vpush(vector);
    }
}

/// The shape whose lanes a `v128.loadN_lane`/`storeN_lane` moves.
fn shape_of_lane_op(op: &Operator<'_>) -> ir::Type {
    use Operator as O;
    match op {
        O::V128Load8Lane { .. } | O::V128Store8Lane { .. } => I8X16,
        O::V128Load16Lane { .. } | O::V128Store16Lane { .. } => I16X8,
        O::V128Load32Lane { .. } | O::V128Store32Lane { .. } => I32X4,
        _ => I64X2,
    }
}
