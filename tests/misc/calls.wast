;; Calls across instances and through tables of another instance, many
;; results, and recursion that exhausts the stack in the middle of a
;; multi-value computation.

(module $lib
  (func (export "swap") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    (local.get 3) (local.get 2) (local.get 1) (local.get 0))
  (func (export "many") (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5)
    (i32.const 6) (i32.const 7) (i32.const 8) (i32.const 9) (i32.const 10))
  (table (export "tab") 2 funcref)
  (elem (i32.const 0) $forty_two)
  (func $forty_two (result i32) (i32.const 42))
)
(register "lib" $lib)

(module
  (import "lib" "swap" (func $swap (param i32 i64 f32 f64) (result f64 f32 i64 i32)))
  (import "lib" "many" (func $many (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "lib" "tab" (table 2 funcref))
  (type $r (func (result i32)))
  (func (export "swap") (result f64 f32 i64 i32)
    (call $swap (i32.const 1) (i64.const 2) (f32.const 3) (f64.const 4)))
  (func (export "sum") (result i32)
    (call $many)
    (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)
    (i32.add) (i32.add) (i32.add) (i32.add))
  (func (export "via_table") (param i32) (result i32) (call_indirect (type $r) (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32 i32)
    (call $deep (local.get 0)) (i32.add) (i32.const 0))
)
(assert_return (invoke "swap") (f64.const 4) (f32.const 3) (i64.const 2) (i32.const 1))
(assert_return (invoke "sum") (i32.const 55))
(assert_return (invoke "via_table" (i32.const 0)) (i32.const 42))
(assert_trap (invoke "via_table" (i32.const 1)) "uninitialized element")
(assert_exhaustion (invoke "deep" (i32.const 0)) "call stack exhausted")
(assert_return (invoke "sum") (i32.const 55))
