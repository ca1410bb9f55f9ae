;; Functions that only call another with their own arguments and return
;; its results (fxtime-cranelift's `forwarding`) skip their own stack
;; check: what they compute is unchanged, and recursion through them,
;; around a cycle of them included, still exhausts the stack and traps.

(module
  (func $empty)
  (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  ;; A linker's export wrapper: the call, then (empty) destructors.
  (func $add_wrapper (param i32 i32) (result i32)
    (local $r i32)
    (local.set $r (call $add (local.get 0) (local.get 1)))
    (call $empty)
    (local.get $r))
  (func $add_wrapper_wrapper (param i32 i32) (result i32)
    (call $add_wrapper (local.get 0) (local.get 1)))
  (func $pair (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
  (func $pair_forwarder (param i64 f64) (result f64 i64)
    (call $pair (local.get 0) (local.get 1)))
  ;; Not forwarders: arguments swapped, a result dropped.
  (func $sub (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func $sub_swapped (param i32 i32) (result i32)
    (call $sub (local.get 1) (local.get 0)))
  (func $sub_dropped (param i32 i32)
    (drop (call $sub (local.get 0) (local.get 1))))

  ;; Recursion through a forwarder.
  (func $depth (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1)
        (call $depth_forwarder (i32.sub (local.get 0) (i32.const 1)))))))
  (func $depth_forwarder (param i32) (result i32) (call $depth (local.get 0)))
  ;; A cycle of forwarders, and a forwarder into it.
  (func $ping (param i32) (result i32) (call $pong (local.get 0)))
  (func $pong (param i32) (result i32) (call $ping (local.get 0)))
  (func $into_cycle (param i32) (result i32) (call $ping (local.get 0)))

  (table funcref (elem $add_wrapper $add_wrapper_wrapper))
  (type $binary (func (param i32 i32) (result i32)))

  (func (export "add") (param i32 i32) (result i32)
    (call $add_wrapper_wrapper (local.get 0) (local.get 1)))
  (func (export "add_indirect") (param i32 i32 i32) (result i32)
    (call_indirect (type $binary) (local.get 0) (local.get 1) (local.get 2)))
  (func (export "pair") (param i64 f64) (result f64 i64)
    (call $pair_forwarder (local.get 0) (local.get 1)))
  (func (export "sub_swapped") (param i32 i32) (result i32)
    (call $sub_swapped (local.get 0) (local.get 1)))
  (func (export "sub_dropped") (param i32 i32) (call $sub_dropped (local.get 0) (local.get 1)))
  (func (export "depth") (param i32) (result i32) (call $depth (local.get 0)))
  (func (export "ping") (param i32) (result i32) (call $ping (local.get 0)))
  (func (export "into_cycle") (param i32) (result i32) (call $into_cycle (local.get 0)))
)

(assert_return (invoke "add" (i32.const 40) (i32.const 2)) (i32.const 42))
(assert_return (invoke "add_indirect" (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 3))
(assert_return (invoke "add_indirect" (i32.const 5) (i32.const 6) (i32.const 1)) (i32.const 11))
(assert_return (invoke "pair" (i64.const -3) (f64.const 0.5)) (f64.const 0.5) (i64.const -3))
(assert_return (invoke "sub_swapped" (i32.const 10) (i32.const 3)) (i32.const -7))
(assert_return (invoke "sub_dropped" (i32.const 10) (i32.const 3)))
(assert_return (invoke "depth" (i32.const 10000)) (i32.const 10000))
(assert_exhaustion (invoke "depth" (i32.const 100000000)) "call stack exhausted")
(assert_exhaustion (invoke "ping" (i32.const 1)) "call stack exhausted")
(assert_exhaustion (invoke "into_cycle" (i32.const 1)) "call stack exhausted")
;; The store is still usable after each.
(assert_return (invoke "add" (i32.const 1) (i32.const 1)) (i32.const 2))
