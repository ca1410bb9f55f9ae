;; Continuation objects are reused through the free list that generated code
;; keeps: by cont.new of small types without a call into the runtime, by
;; larger types through the runtime (their value buffers grow), and after a
;; trap abandoned a chain. Every reuse must start clean: the right function,
;; its own arguments, no stale results, and old references stay stale.
(module
  (type $small_f (func (param i32) (result i32)))
  (type $small_c (cont $small_f))
  ;; Six parameters and results: more than a free object's inline slots.
  (type $big_f (func (param i32 i32 i32 i32 i32 i32) (result i32 i32 i32 i32 i32 i32)))
  (type $big_c (cont $big_f))
  (type $unit_f (func))
  (type $unit_c (cont $unit_f))
  (tag $yield (param i32) (result i32))

  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $reverse (param i32 i32 i32 i32 i32 i32) (result i32 i32 i32 i32 i32 i32)
    (local.get 5) (local.get 4) (local.get 3) (local.get 2) (local.get 1) (local.get 0))
  ;; Yields its argument, then returns what the second resume gave plus one.
  (func $echo (param i32) (result i32)
    (i32.add (suspend $yield (local.get 0)) (i32.const 1)))
  (func $crash (unreachable))
  (elem declare func $double $reverse $echo $crash)

  (global $stale (mut (ref null $small_c)) (ref.null $small_c))

  ;; n rounds alternating small and big continuations: sums the results.
  (func (export "mixed") (param $n i32) (result i32)
    (local $sum i32) (local $i i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum)
        (resume $small_c (local.get $i) (cont.new $small_c (ref.func $double)))))
      (resume $big_c
        (local.get $i) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5)
        (cont.new $big_c (ref.func $reverse)))
      ;; results come back reversed: 5 4 3 2 1 i
      (local.set $sum (i32.add (local.get $sum)))
      (drop) (drop) (drop) (drop)
      (local.set $sum (i32.add (local.get $sum)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))

  ;; A suspended continuation resumed to its end, many times over: each
  ;; reuse of an object must see its own first argument.
  (func (export "echo") (param $n i32) (result i32)
    (local $sum i32) (local $i i32) (local $k (ref null $small_c))
    (loop $next
      (block $on_yield (result i32 (ref $small_c))
        (drop (resume $small_c (on $yield $on_yield) (local.get $i)
          (cont.new $small_c (ref.func $echo))))
        (unreachable))
      (local.set $k)
      (local.set $sum (i32.add (local.get $sum)))
      (local.set $sum (i32.add (local.get $sum)
        (resume $small_c (i32.const 100) (local.get $k))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))

  (func (export "crash")
    (resume $unit_c (cont.new $unit_c (ref.func $crash))))

  ;; Keeps a reference to a continuation that then runs to its end.
  (func (export "keep_stale") (result i32)
    (local $k (ref null $small_c))
    (local.set $k (cont.new $small_c (ref.func $double)))
    (global.set $stale (local.get $k))
    (resume $small_c (i32.const 21) (local.get $k)))

  (func (export "use_stale") (result i32)
    ;; Objects have been reused in between; the reference must not reach
    ;; whichever continuation holds its object now.
    (drop (call $fresh_round))
    (resume $small_c (i32.const 1) (global.get $stale)))

  (func $fresh_round (result i32)
    (resume $small_c (i32.const 3) (cont.new $small_c (ref.func $double)))))

;; sum over i < 1000 of (2 i) + (i + 5) = 999,000 + 499,500 + 5,000
(assert_return (invoke "mixed" (i32.const 1000)) (i32.const 1503500))
;; sum over i < 1000 of i + 101 = 499,500 + 101,000
(assert_return (invoke "echo" (i32.const 1000)) (i32.const 600500))
(assert_trap (invoke "crash") "unreachable")
;; The stacks the trap abandoned are reused, and everything still works.
(assert_return (invoke "echo" (i32.const 10)) (i32.const 1055))
(assert_return (invoke "mixed" (i32.const 10)) (i32.const 185))
(assert_return (invoke "keep_stale") (i32.const 42))
(assert_trap (invoke "use_stale") "continuation already consumed")
