;; Memory accesses the core suite does not reach: static offsets beyond the
;; guard region (explicitly bounds-checked), growth to the 4 GiB limit,
;; copies between memories.

(module
  (memory $a 1)
  (memory $b 1 2)
  (func (export "far") (param i32) (result i32) (i32.load offset=0x80000000 (local.get 0)))
  (func (export "far_store") (param i32) (i32.store8 offset=0xffffffff (local.get 0) (i32.const 1)))
  (func (export "near_end") (result i32) (i32.load offset=65532 (i32.const 0)))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "copy") (param i32 i32 i32) (memory.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "put_a") (param i32 i32) (i32.store8 $a (local.get 0) (local.get 1)))
  (func (export "get_b") (param i32) (result i32) (i32.load8_u $b (local.get 0)))
)

(assert_trap (invoke "far" (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "far" (i32.const 0x7fffffff)) "out of bounds memory access")
(assert_trap (invoke "far_store" (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "near_end") (i32.const 0))
(assert_return (invoke "grow_b" (i32.const 1)) (i32.const 1))
(assert_return (invoke "grow_b" (i32.const 1)) (i32.const -1))
(assert_return (invoke "put_a" (i32.const 10) (i32.const 77)))
(assert_return (invoke "copy" (i32.const 131000) (i32.const 10) (i32.const 1)))
(assert_return (invoke "get_b" (i32.const 131000)) (i32.const 77))
(assert_trap (invoke "copy" (i32.const 131071) (i32.const 10) (i32.const 2)) "out of bounds memory access")

(module
  (memory 0)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
)
(assert_return (invoke "grow" (i32.const 65537)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 65536)) (i32.const 0))
(assert_return (invoke "size") (i32.const 65536))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 0)) (i32.const 65536))
