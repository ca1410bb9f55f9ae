;; Tiny functions inlined into their callers (fxtime-cranelift's
;; `inlining`) compute what their calls did: arguments, several results,
;; locals, globals, branches and loops of the inlined body, wrappers of
;; wrappers, more calls than one function takes, and recursion, which is
;; never inlined and still exhausts the stack.

(module
  (global $count (mut i32) (i32.const 0))
  (func $empty)
  (func $two_empty (call $empty) (call $empty))
  (func $bump (global.set $count (i32.add (global.get $count) (i32.const 1))))
  (func $bump_twice (call $bump) (call $two_empty) (call $bump))
  (func $swap (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
  (func $max (param i32 i32) (result i32)
    (select (local.get 0) (local.get 1) (i32.gt_s (local.get 0) (local.get 1))))
  (func $clamp (param i32) (result i32)
    (call $max (i32.const 0) (call $min (local.get 0) (i32.const 100))))
  (func $min (param i32 i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (local.get 1))
      (then (local.get 0)) (else (local.get 1))))
  (func $popcount_loop (param i32) (result i32) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set 0 (i32.and (local.get 0) (i32.sub (local.get 0) (i32.const 1))))
        (br $next)))
    (local.get $n))
  (func $even (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (call $odd (i32.sub (local.get 0) (i32.const 1))))
      (else (i32.const 1))))
  (func $odd (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (call $even (i32.sub (local.get 0) (i32.const 1))))
      (else (i32.const 0))))
  (func $forever (param i32) (result i32) (call $forever (local.get 0)))

  (func (export "count") (param i32) (result i32)
    (global.set $count (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (call $bump_twice)
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (global.get $count))
  (func (export "swap") (param i64 f64) (result f64 i64)
    (call $swap (local.get 0) (local.get 1)))
  (func (export "clamp") (param i32) (result i32) (call $clamp (local.get 0)))
  (func (export "bits") (param i32) (result i32) (call $popcount_loop (local.get 0)))
  (func (export "even") (param i32) (result i32) (call $even (local.get 0)))
  (func (export "forever") (param i32) (result i32) (call $forever (local.get 0)))
  (func (export "sum_of_maxes") (param i32) (result i32)
    (local $sum i32)
    (local.set $sum (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $sum (i32.add (local.get $sum) (call $clamp (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (local.get $sum))
)

(assert_return (invoke "count" (i32.const 0)) (i32.const 0))
(assert_return (invoke "count" (i32.const 1000)) (i32.const 2000))
(assert_return (invoke "swap" (i64.const -7) (f64.const 2.5)) (f64.const 2.5) (i64.const -7))
(assert_return (invoke "clamp" (i32.const -5)) (i32.const 0))
(assert_return (invoke "clamp" (i32.const 55)) (i32.const 55))
(assert_return (invoke "clamp" (i32.const 500)) (i32.const 100))
(assert_return (invoke "bits" (i32.const 0)) (i32.const 0))
(assert_return (invoke "bits" (i32.const -1)) (i32.const 32))
(assert_return (invoke "bits" (i32.const 0x50505)) (i32.const 6))
(assert_return (invoke "even" (i32.const 10)) (i32.const 1))
(assert_return (invoke "even" (i32.const 7)) (i32.const 0))
(assert_exhaustion (invoke "forever" (i32.const 1)) "call stack exhausted")
(assert_return (invoke "sum_of_maxes" (i32.const 150)) (i32.const 10050))
