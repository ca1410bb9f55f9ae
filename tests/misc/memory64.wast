;; 64-bit memories and tables beyond what the core suite reaches: growth
;; past 4 GiB, accesses at its last bytes and one past them, addresses at
;; and beyond the reservation fxtime checks against, static offsets beyond
;; the guard region (and offsets that overflow), bulk operations above
;; 4 GiB, copies between 32- and 64-bit memories, 64-bit table indices
;; beyond 32 bits.

(module
  (memory $m i64 0)
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "store8") (param i64 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load64") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load_at_4g") (param i64) (result i32)
    (i32.load8_u offset=0x100000000 (local.get 0)))
  (func (export "load_far_offset") (param i64) (result i32)
    (i32.load offset=0xfffffffffffffff0 (local.get 0)))
  (func (export "load_last_offset") (param i64) (result i32)
    (i32.load offset=0xffffffffffffffff (local.get 0)))
  (func (export "load_guard_offset") (param i64) (result i32)
    (i32.load8_u offset=0x7fffffff (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
)

;; 65,537 pages: one page past 4 GiB.
(assert_return (invoke "grow" (i64.const 65537)) (i64.const 0))
(assert_return (invoke "size") (i64.const 65537))
(assert_return (invoke "store8" (i64.const 0x10000ffff) (i32.const 0xa5)))
(assert_return (invoke "load8" (i64.const 0x10000ffff)) (i32.const 0xa5))
(assert_trap (invoke "load8" (i64.const 0x100010000)) "out of bounds memory access")
(assert_trap (invoke "store8" (i64.const 0x100010000) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "load64" (i64.const 0x10000fff8)) (i64.const 0xa500000000000000))
(assert_trap (invoke "load64" (i64.const 0x10000fff9)) "out of bounds memory access")
;; The reservation (32 GiB), around it, the end of the guard region after
;; it, and the top of the address space.
(assert_trap (invoke "load8" (i64.const 0x800000000)) "out of bounds memory access")
(assert_trap (invoke "load8" (i64.const 0x7ffffffff)) "out of bounds memory access")
(assert_trap (invoke "load8" (i64.const 0x800000001)) "out of bounds memory access")
(assert_trap (invoke "load8" (i64.const 0x87fffffff)) "out of bounds memory access")
(assert_trap (invoke "load8" (i64.const 0x880000000)) "out of bounds memory access")
(assert_trap (invoke "load8" (i64.const -1)) "out of bounds memory access")
(assert_trap (invoke "load64" (i64.const -8)) "out of bounds memory access")
;; A static offset of 4 GiB is beyond the guard: checked explicitly.
(assert_return (invoke "load_at_4g" (i64.const 0xffff)) (i32.const 0xa5))
(assert_trap (invoke "load_at_4g" (i64.const 0x10000)) "out of bounds memory access")
(assert_trap (invoke "load_at_4g" (i64.const -1)) "out of bounds memory access")
;; index + offset wraps around: out of bounds, not address 0; so does
;; offset + size alone.
(assert_trap (invoke "load_far_offset" (i64.const 0x10)) "out of bounds memory access")
(assert_trap (invoke "load_far_offset" (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "load_last_offset" (i64.const 0)) "out of bounds memory access")
;; The largest offset the guard covers, from an index near the reservation.
(assert_return (invoke "load_guard_offset" (i64.const 0)) (i32.const 0))
(assert_trap (invoke "load_guard_offset" (i64.const 0x7ffffffff)) "out of bounds memory access")
(assert_trap (invoke "load_guard_offset" (i64.const 0x800000000)) "out of bounds memory access")
;; Bulk operations above 4 GiB.
(assert_return (invoke "fill" (i64.const 0x100000000) (i32.const 7) (i64.const 16)))
(assert_return (invoke "load8" (i64.const 0x10000000f)) (i32.const 7))
(assert_return (invoke "copy" (i64.const 0x10000fff0) (i64.const 0x100000000) (i64.const 16)))
(assert_return (invoke "load8" (i64.const 0x10000fff0)) (i32.const 7))
(assert_trap (invoke "fill" (i64.const 0x10000fff0) (i32.const 7) (i64.const 17)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const 0x10) (i32.const 7) (i64.const -1)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const -1) (i64.const 0) (i64.const 2)) "out of bounds memory access")
;; Growing beyond the 32 GiB reservation fails; beyond 2^48 pages is -1 too.
(assert_return (invoke "grow" (i64.const 0x80000)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 0x70000)) (i64.const -1))
(assert_return (invoke "grow" (i64.const -1)) (i64.const -1))
(assert_return (invoke "size") (i64.const 65537))

;; Copies and initialisation between a 32-bit and a 64-bit memory: the
;; length is 32-bit unless both are 64-bit.
(module
  (memory $small 1)
  (memory $big i64 1)
  (data $d "\01\02\03\04")
  (func (export "init_big") (param i64 i32 i32) (memory.init $big $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "to_small") (param i32 i64 i32) (memory.copy $small $big (local.get 0) (local.get 1) (local.get 2)))
  (func (export "to_big") (param i64 i32 i32) (memory.copy $big $small (local.get 0) (local.get 1) (local.get 2)))
  (func (export "small") (param i32) (result i32) (i32.load8_u $small (local.get 0)))
  (func (export "big") (param i64) (result i32) (i32.load8_u $big (local.get 0)))
)
(assert_return (invoke "init_big" (i64.const 65532) (i32.const 0) (i32.const 4)))
(assert_trap (invoke "init_big" (i64.const 65533) (i32.const 0) (i32.const 4)) "out of bounds memory access")
(assert_trap (invoke "init_big" (i64.const 0x100000000) (i32.const 0) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "to_small" (i32.const 100) (i64.const 65532) (i32.const 4)))
(assert_return (invoke "small" (i32.const 103)) (i32.const 4))
(assert_trap (invoke "to_small" (i32.const 0) (i64.const 0x100000000) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "to_big" (i64.const 7) (i32.const 100) (i32.const 4)))
(assert_return (invoke "big" (i64.const 8)) (i32.const 2))
(assert_trap (invoke "to_big" (i64.const 0xffffffffffffffff) (i32.const 0) (i32.const 1)) "out of bounds memory access")

;; A data segment at a 64-bit offset beyond the memory fails instantiation.
(assert_trap
  (module (memory i64 1) (data (i64.const 0x100000000) "x"))
  "out of bounds memory access")

;; 64-bit tables: indices at and beyond 2^32 are out of bounds, not wrapped.
(module
  (type $f (func (result i32)))
  (table $t i64 2 funcref)
  (elem (table $t) (i64.const 1) func $seven)
  (func $seven (result i32) (i32.const 7))
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $f) (local.get 0)))
  (func (export "tail") (param i64) (result i32) (return_call_indirect $t (type $f) (local.get 0)))
  (func (export "get_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "fill") (param i64 i64) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
)
(assert_return (invoke "call" (i64.const 1)) (i32.const 7))
(assert_trap (invoke "call" (i64.const 0x100000001)) "undefined element")
(assert_trap (invoke "call" (i64.const -1)) "undefined element")
(assert_return (invoke "tail" (i64.const 1)) (i32.const 7))
(assert_trap (invoke "tail" (i64.const 0x100000001)) "undefined element")
(assert_return (invoke "get_null" (i64.const 0)) (i32.const 1))
(assert_trap (invoke "get_null" (i64.const 0x100000000)) "out of bounds table access")
(assert_return (invoke "grow" (i64.const 0x100000000)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 3)) (i64.const 2))
(assert_return (invoke "size") (i64.const 5))
(assert_trap (invoke "fill" (i64.const 0x100000000) (i64.const 0)) "out of bounds table access")
(assert_trap (invoke "fill" (i64.const 0) (i64.const 0x100000001)) "out of bounds table access")
(assert_return (invoke "fill" (i64.const 0) (i64.const 5)))
(assert_trap (invoke "call" (i64.const 1)) "uninitialized element")

;; A 64-bit memory or table does not satisfy a 32-bit import, nor the
;; reverse.
(module (memory (export "m64") i64 1) (table (export "t64") i64 1 funcref))
(register "wide")
(assert_unlinkable (module (import "wide" "m64" (memory 1))) "incompatible import type")
(assert_unlinkable (module (import "wide" "t64" (table 1 funcref))) "incompatible import type")
(assert_unlinkable (module (import "spectest" "memory" (memory i64 1))) "incompatible import type")
(module (import "wide" "m64" (memory i64 1)) (import "spectest" "table64" (table i64 10 funcref)))
