//! Linear memory: loads, stores, size, grow and the bulk operations.
//!
//! Every 32-bit memory reserves its whole 4 GiB index range plus a guard
//! region up front (`MEMORY_GUARD_SIZE`), so an access `base + index + offset`
//! with `offset + size <= GUARD_SIZE` needs no bounds check: an access past
//! the accessible length faults, and the signal handler turns the fault into
//! "out of bounds memory access". Larger offsets get an explicit check.
//!
//! A 64-bit memory reserves `MEMORY64_RESERVATION` plus the same guard, so
//! the same holds once the index is known to be at most the reservation:
//! one compare of the index with that constant (no load) per access. What
//! lies between the accessible length and the reservation's end faults.
//!
//! Operands of the bulk operations and `memory.grow` reach the builtins as
//! 64-bit values; those of 32-bit memories are zero-extended (the type of
//! an operand's value tells which).

use super::FuncTranslator;
use super::env::trusted;
use crate::abi::{POINTER, trap_code};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types::*};
use fxtime_environ::vm::{Builtin, GROW_TRAP, MEMORY_GUARD_SIZE, MEMORY64_RESERVATION, offsets};
use fxtime_environ::{MemoryIndex, TrapKind, WasmResult};
use wasmparser::{MemArg, MemArgTarget, Operator};

/// How a load extends its value.
#[derive(Clone, Copy)]
enum Load {
    Full(ir::Type),
    Signed8(ir::Type),
    Unsigned8(ir::Type),
    Signed16(ir::Type),
    Unsigned16(ir::Type),
    Signed32,
    Unsigned32,
}

impl Load {
    fn access_size(self) -> u32 {
        match self {
            Load::Full(ty) => ty.bytes(),
            Load::Signed8(_) | Load::Unsigned8(_) => 1,
            Load::Signed16(_) | Load::Unsigned16(_) => 2,
            Load::Signed32 | Load::Unsigned32 => 4,
        }
    }
}

pub(crate) fn heap_flags() -> MemFlagsData {
    MemFlagsData::new().with_trap_code(Some(trap_code(TrapKind::MemoryOutOfBounds)))
}

impl FuncTranslator<'_> {
    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        use Operator as O;
        match op {
            O::I32Load { memarg } => self.load(memarg, Load::Full(I32)),
            O::I64Load { memarg } => self.load(memarg, Load::Full(I64)),
            O::F32Load { memarg } => self.load(memarg, Load::Full(F32)),
            O::F64Load { memarg } => self.load(memarg, Load::Full(F64)),
            O::I32Load8S { memarg } => self.load(memarg, Load::Signed8(I32)),
            O::I32Load8U { memarg } => self.load(memarg, Load::Unsigned8(I32)),
            O::I32Load16S { memarg } => self.load(memarg, Load::Signed16(I32)),
            O::I32Load16U { memarg } => self.load(memarg, Load::Unsigned16(I32)),
            O::I64Load8S { memarg } => self.load(memarg, Load::Signed8(I64)),
            O::I64Load8U { memarg } => self.load(memarg, Load::Unsigned8(I64)),
            O::I64Load16S { memarg } => self.load(memarg, Load::Signed16(I64)),
            O::I64Load16U { memarg } => self.load(memarg, Load::Unsigned16(I64)),
            O::I64Load32S { memarg } => self.load(memarg, Load::Signed32),
            O::I64Load32U { memarg } => self.load(memarg, Load::Unsigned32),
            O::V128Load { memarg } => self.load(memarg, Load::Full(I8X16)),
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg }
            | O::V128Store { memarg } => self.store(memarg, None),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(memarg, Some(1)),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(memarg, Some(2)),
            O::I64Store32 { memarg } => self.store(memarg, Some(4)),
            O::MemorySize { mem } => {
                let length = self.memory_length(MemoryIndex(*mem));
                let pages = self.builder.ins().ushr_imm_u(length, 16);
                let pages = if self.module.memories[*mem as usize].is_64() {
                    pages
                } else {
                    self.builder.ins().ireduce(I32, pages)
                };
                self.stack.push(pages);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let index_type = self.builder.func.dfg.value_type(delta);
                let delta = self.widen_address(delta);
                let mem = self.i32_const(*mem);
                let result = self
                    .call_builtin(Builtin::MemoryGrow, &[mem, delta])
                    .expect("memory.grow has a result");
                self.trap_if_grow_trapped(result);
                // -1 and the sizes of 32-bit memories survive narrowing.
                let result = if index_type == I64 {
                    result
                } else {
                    self.builder.ins().ireduce(I32, result)
                };
                self.stack.push(result);
            }
            O::MemoryFill { mem } => {
                let [dst, value, len] = self.popn();
                let (dst, len) = (self.widen_address(dst), self.widen_address(len));
                let mem = self.i32_const(*mem);
                self.call_checked(Builtin::MemoryFill, &[mem, dst, value, len]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let [dst, src, len] = self.popn();
                let [dst, src, len] = [dst, src, len].map(|v| self.widen_address(v));
                let dst_mem = self.i32_const(*dst_mem);
                let src_mem = self.i32_const(*src_mem);
                self.call_checked(Builtin::MemoryCopy, &[dst_mem, src_mem, dst, src, len]);
            }
            O::MemoryInit { data_index, mem } => {
                let [dst, src, len] = self.popn();
                let dst = self.widen_address(dst);
                let mem = self.i32_const(*mem);
                let data = self.i32_const(*data_index);
                self.call_checked(Builtin::MemoryInit, &[mem, data, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let data = self.i32_const(*data_index);
                self.call_builtin(Builtin::DataDrop, &[data]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn load(&mut self, memarg: &MemArg, kind: Load) {
        let index = self.pop();
        let (addr, offset) = self.heap_address(memarg, index, kind.access_size());
        let flags = heap_flags();
        let ins = self.builder.ins();
        let value = match kind {
            Load::Full(ty) => ins.load(ty, flags, addr, offset),
            Load::Signed8(ty) => ins.sload8(ty, flags, addr, offset),
            Load::Unsigned8(ty) => ins.uload8(ty, flags, addr, offset),
            Load::Signed16(ty) => ins.sload16(ty, flags, addr, offset),
            Load::Unsigned16(ty) => ins.uload16(ty, flags, addr, offset),
            Load::Signed32 => ins.sload32(flags, addr, offset),
            Load::Unsigned32 => ins.uload32(flags, addr, offset),
        };
        self.stack.push(value);
    }

    /// Stores the top operand, narrowed to `narrow` bytes if given.
    fn store(&mut self, memarg: &MemArg, narrow: Option<u32>) {
        let [index, value] = self.popn();
        let ty = self.builder.func.dfg.value_type(value);
        let size = narrow.unwrap_or(ty.bytes());
        let (addr, offset) = self.heap_address(memarg, index, size);
        let flags = heap_flags();
        let ins = self.builder.ins();
        match narrow {
            None => ins.store(flags, value, addr, offset),
            Some(1) => ins.istore8(flags, value, addr, offset),
            Some(2) => ins.istore16(flags, value, addr, offset),
            Some(_) => ins.istore32(flags, value, addr, offset),
        };
    }

    /// The address of an access of `size` bytes at `index + memarg.offset`,
    /// as a base and a small immediate offset.
    pub(crate) fn heap_address(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u32,
    ) -> (Value, i32) {
        let memory = MemoryIndex(match memarg.target {
            MemArgTarget::Memory(m) => m,
            // Array targets come with GC, which validation turned away.
            MemArgTarget::Array(_) => 0,
        });
        let is_64 = self.builder.func.dfg.value_type(index) == I64;
        let index = self.widen_address(index);
        let base_offset = self.offsets.memory_base(memory);
        let base = self.vmctx_field(base_offset);
        // With 64-bit offsets, `offset + size` itself may overflow: such an
        // access is out of bounds whatever the index.
        let reach = memarg.offset.checked_add(u64::from(size));
        match reach {
            Some(reach) if reach <= MEMORY_GUARD_SIZE => {
                if is_64 {
                    // Within the reservation, the guard does the rest.
                    let beyond = self.builder.ins().icmp_imm_u(
                        IntCC::UnsignedGreaterThan,
                        index,
                        MEMORY64_RESERVATION as i64,
                    );
                    self.trap_if(beyond, TrapKind::MemoryOutOfBounds);
                }
            }
            // The guard region cannot catch this access: check explicitly.
            Some(reach) => {
                let end = if is_64 {
                    let reach = self.builder.ins().iconst(I64, reach as i64);
                    self.builder.ins().uadd_overflow_trap(
                        index,
                        reach,
                        trap_code(TrapKind::MemoryOutOfBounds),
                    )
                } else {
                    self.builder.ins().iadd_imm_u(index, reach as i64)
                };
                let length = self.memory_length(memory);
                let out_of_bounds =
                    self.builder
                        .ins()
                        .icmp(IntCC::UnsignedGreaterThan, end, length);
                self.trap_if(out_of_bounds, TrapKind::MemoryOutOfBounds);
            }
            None => {
                let always = self.builder.ins().iconst(I8, 1);
                self.trap_if(always, TrapKind::MemoryOutOfBounds);
            }
        }
        let addr = self.builder.ins().iadd(base, index);
        match i32::try_from(memarg.offset) {
            Ok(offset) => (addr, offset),
            Err(_) => {
                let addr = self.builder.ins().iadd_imm_u(addr, memarg.offset as i64);
                (addr, 0)
            }
        }
    }

    /// Traps with the store's pending error when a grow builtin returned
    /// `GROW_TRAP` (a resource limiter's verdict).
    pub(crate) fn trap_if_grow_trapped(&mut self, result: Value) {
        let trapped = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::Equal, result, GROW_TRAP);
        self.trap_if(trapped, TrapKind::HostError);
    }

    /// An address, size or length operand as a 64-bit value: those of
    /// 32-bit memories and tables are zero-extended.
    pub(crate) fn widen_address(&mut self, value: Value) -> Value {
        if self.builder.func.dfg.value_type(value) == I64 {
            value
        } else {
            self.builder.ins().uextend(I64, value)
        }
    }

    /// The current length in bytes of `memory`.
    fn memory_length(&mut self, memory: MemoryIndex) -> Value {
        let definition = self.vmctx_field(self.offsets.memory(memory));
        self.builder.ins().load(
            POINTER,
            trusted(),
            definition,
            offsets::MEMORY_LENGTH as i32,
        )
    }
}
