;; Exceptions the core suite does not reach: across instances, through
;; many frames and nested handlers, rethrown with throw_ref, and traps that
;; no handler may catch.

(module $thrower
  (tag $error (export "error") (param i32 i64))
  (func $deep (export "deep") (param $n i32)
    (if (i32.eqz (local.get $n))
      (then (throw $error (i32.const 7) (i64.const 11))))
    (call $deep (i32.sub (local.get $n) (i32.const 1))))
  (func (export "trap") (drop (i32.div_u (i32.const 1) (i32.const 0))))
  (func (export "overflow") (call $overflow_rec))
  (func $overflow_rec (call $overflow_rec))
)
(register "thrower" $thrower)

(module $catcher
  (import "thrower" "error" (tag $error (param i32 i64)))
  (import "thrower" "deep" (func $deep (param i32)))
  (import "thrower" "trap" (func $trap))
  (import "thrower" "overflow" (func $overflow))
  (tag $other)

  ;; Caught in another instance, 1000 frames up.
  (func (export "catch_deep") (result i64) (local $b i64)
    (block $h (result i32 i64)
      (try_table (catch $error $h) (call $deep (i32.const 1000)))
      (return (i64.const -1)))
    (local.set $b)
    (i64.add (i64.extend_i32_u) (local.get $b)))

  ;; An inner handler for another tag lets it pass; the outer one takes it.
  (func (export "nested") (result i32)
    (block $outer (result i32 i64)
      (block $inner
        (try_table (catch $other $inner)
          (try_table (catch $error $outer) (call $deep (i32.const 3)))))
      (return (i32.const -1)))
    (drop))

  ;; catch_ref then throw_ref: the same exception reaches the next handler.
  (func (export "rethrow") (result i32)
    (block $h (result i32 i64)
      (try_table (catch $error $h)
        (block $first (result exnref)
          (try_table (catch_all_ref $first) (call $deep (i32.const 2)))
          (unreachable))
        (throw_ref))
      (unreachable))
    (drop))

  ;; Traps are not exceptions: catch_all does not see them.
  (func (export "catch_all_trap") (result i32)
    (block $h (try_table (catch_all $h) (call $trap)) (return (i32.const 0)))
    (i32.const 1))
  (func (export "catch_all_overflow") (result i32)
    (block $h (try_table (catch_all $h) (call $overflow)) (return (i32.const 0)))
    (i32.const 1))

  ;; A throw inside a try_table of the same function.
  (func (export "local") (param i32) (result i32)
    (block $h (result i32 i64)
      (try_table (catch $error $h)
        (throw $error (local.get 0) (i64.const 0)))
      (unreachable))
    (drop))
)

(assert_return (invoke "catch_deep") (i64.const 18))
(assert_return (invoke "nested") (i32.const 7))
(assert_return (invoke "rethrow") (i32.const 7))
(assert_trap (invoke "catch_all_trap") "integer divide by zero")
(assert_exhaustion (invoke "catch_all_overflow") "call stack exhausted")
(assert_return (invoke "local" (i32.const 42)) (i32.const 42))
(assert_exception (invoke $thrower "deep" (i32.const 5)))
(assert_return (invoke "catch_deep") (i64.const 18))
