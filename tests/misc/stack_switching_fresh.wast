;; A `resume`, `switch` or `cont.bind` of the reference that `cont.new` (or
;; `cont.bind`) just made skips the check that the reference is current
;; (fxtime-cranelift's `FuncTranslator::fresh_continuation`): copies of it
;; made in between are still stale once it is consumed, and a continuation
;; started through a linker-style export wrapper (a forwarder) runs.

(module
  (type $f (func (param i32) (result i32)))
  (type $k (cont $f))
  (type $g (func (result i32)))
  (type $kg (cont $g))
  (tag $yield (param i32) (result i32))

  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $empty)
  (func $double_wrapper (param i32) (result i32)
    (local $r i32)
    (local.set $r (call $double (local.get 0)))
    (call $empty)
    (local.get $r))
  (func $yield_twice (param i32) (result i32)
    (i32.add (suspend $yield (local.get 0)) (suspend $yield (i32.const 0))))
  (elem declare func $double $double_wrapper $yield_twice)

  (func (export "wrapper") (param i32) (result i32)
    (resume $k (local.get 0) (cont.new $k (ref.func $double_wrapper))))

  ;; Resumed once through the fresh reference, then through a copy.
  (func (export "copy_after_resume") (result i32)
    (local $copy (ref null $k))
    (drop (resume $k (i32.const 1)
      (local.tee $copy (cont.new $k (ref.func $double)))))
    (resume $k (i32.const 1) (local.get $copy)))

  ;; Bound (consumed), then resumed through the fresh reference's copy.
  (func (export "copy_after_bind") (result i32)
    (local $copy (ref null $k))
    (drop (cont.bind $k $kg (i32.const 3)
      (local.tee $copy (cont.new $k (ref.func $double)))))
    (resume $k (i32.const 1) (local.get $copy)))

  ;; Bound, then resumed through the fresh bound reference: runs.
  (func (export "bound") (result i32)
    (resume $kg (cont.bind $k $kg (i32.const 21) (cont.new $k (ref.func $double)))))

  ;; A fresh continuation that suspends, resumed through its handler's
  ;; references: 5 + (10 + 100).
  (func (export "suspends") (result i32)
    (local $k (ref null $k))
    (local $first i32)
    (block $on (result i32 (ref $k))
      (return (resume $k (on $yield $on) (i32.const 5)
        (cont.new $k (ref.func $yield_twice)))))
    (local.set $k)
    (local.set $first)
    (block $on2 (result i32 (ref $k))
      (return (resume $k (on $yield $on2) (i32.const 10) (local.get $k))))
    (local.set $k)
    (drop)
    (i32.add (local.get $first) (resume $k (i32.const 100) (local.get $k))))
)

(assert_return (invoke "wrapper" (i32.const 21)) (i32.const 42))
(assert_trap (invoke "copy_after_resume") "continuation already consumed")
(assert_trap (invoke "copy_after_bind") "continuation already consumed")
(assert_return (invoke "bound") (i32.const 42))
(assert_return (invoke "suspends") (i32.const 115))
