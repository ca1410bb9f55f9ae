;; Deep chains of continuations. The proposal's scripts nest handlers two or
;; three levels deep; here a chain of 100 to 1000 continuations, each
;; resuming the next, checks that a suspension from the innermost one finds
;; the nearest handler for its tag at any depth (the first level, a level
;; chosen at run time, or the function at the very top), that the whole
;; chain can be parked in a global and resumed later from another export,
;; and that a handler may forward a suspension by hand through every level.

(module
  (type $ft (func (param i32) (result i32)))
  (type $ct (cont $ft))

  ;; $near: every level handles it, so level 1 (the closest) always does.
  ;; $probe: only the level whose number is in $target handles it.
  ;; $far: only the top function handles it.
  ;; Each handler answers payload + something that names its level, so the
  ;; final result says who handled what.
  (tag $near (param i32) (result i32))
  (tag $probe (param i32) (result i32))
  (tag $far (param i32) (result i32))

  (global $target (mut i32) (i32.const 0))
  ;; 0: the leaf suspends each tag once; 1: it suspends $far $loops times.
  (global $mode (mut i32) (i32.const 0))
  (global $loops (mut i32) (i32.const 0))
  ;; Counts handler activations below the top.
  (global $handled (mut i32) (i32.const 0))
  ;; A chain parked by "park".
  (global $parked (mut (ref null $ct)) (ref.null $ct))

  (elem declare func $level)

  ;; The innermost computation, run by level 0.
  (func $leaf (result i32)
    (local $i i32) (local $sum i32)
    (if (i32.eqz (global.get $mode))
      (then
        ;; 1 + 1 from level 1, 10 + 1000 * target, 100 * 2 from the top.
        (return
          (i32.add
            (suspend $near (i32.const 1))
            (i32.add
              (suspend $probe (i32.const 10))
              (suspend $far (i32.const 100)))))))
    ;; Mode 1: many round trips from the bottom of the chain to the top.
    (loop $l
      (local.set $sum
        (i32.add (local.get $sum) (suspend $far (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (global.get $loops))))
    (local.get $sum))

  ;; Level $n runs level $n - 1 in a new continuation and returns its
  ;; result + 1, handling $near always and $probe when $n = $target.
  (func $level (param $n i32) (result i32)
    (local $k (ref null $ct))
    (local $v i32)
    (if (i32.eqz (local.get $n)) (then (return (call $leaf))))
    (local.set $k (cont.new $ct (ref.func $level)))
    (local.set $v (i32.sub (local.get $n) (i32.const 1)))
    (loop $drive
      (block $on_near (result i32 (ref $ct))
        (block $on_probe (result i32 (ref $ct))
          (if (i32.eq (local.get $n) (global.get $target))
            (then
              (return
                (i32.add
                  (resume $ct (on $near $on_near) (on $probe $on_probe)
                    (local.get $v) (local.get $k))
                  (i32.const 1)))))
          (return
            (i32.add
              (resume $ct (on $near $on_near) (local.get $v) (local.get $k))
              (i32.const 1))))
        ;; $probe reached this level: answer payload + 1000 * n.
        (local.set $k)
        (local.set $v
          (i32.add (i32.mul (local.get $n) (i32.const 1000))))
        (global.set $handled (i32.add (global.get $handled) (i32.const 1)))
        (br $drive))
      ;; $near: answer payload + n.
      (local.set $k)
      (local.set $v (i32.add (local.get $n)))
      (global.set $handled (i32.add (global.get $handled) (i32.const 1)))
      (br $drive))
    (unreachable))

  ;; The top: runs level $n, handling $far by doubling the payload.
  (func $top (param $n i32) (result i32)
    (local $k (ref null $ct))
    (local $v i32)
    (local.set $k (cont.new $ct (ref.func $level)))
    (local.set $v (local.get $n))
    (loop $drive
      (block $on_far (result i32 (ref $ct))
        (return (resume $ct (on $far $on_far) (local.get $v) (local.get $k))))
      (local.set $k)
      (local.set $v (i32.mul (i32.const 2)))
      (br $drive))
    (unreachable))

  ;; Expected: 212 + 1000 * target + n (each of the n levels adds 1).
  (func (export "run") (param $n i32) (param $target i32) (result i32)
    (global.set $mode (i32.const 0))
    (global.set $target (local.get $target))
    (global.set $handled (i32.const 0))
    (call $top (local.get $n)))

  (func (export "handled") (result i32) (global.get $handled))

  ;; Mode 1: the leaf suspends $far $loops times through $n levels; the top
  ;; doubles each index, so the leaf sums 2 * (0 + ... + loops - 1).
  (func (export "round_trips") (param $n i32) (param $loops i32) (result i32)
    (global.set $mode (i32.const 1))
    (global.set $loops (local.get $loops))
    (global.set $target (i32.const -1))
    (call $top (local.get $n)))

  ;; Runs a chain of $n levels until its first $far, and keeps the whole
  ;; chain (all $n + 1 stacks) in a global instead of resuming it.
  (func (export "park") (param $n i32) (result i32)
    (global.set $mode (i32.const 0))
    (global.set $target (local.get $n))
    (block $on_far (result i32 (ref $ct))
      (drop
        (resume $ct (on $far $on_far)
          (local.get $n) (cont.new $ct (ref.func $level))))
      (return (i32.const -1)))
    (global.set $parked)
    ;; The payload of the suspension.
    )

  ;; Resumes the parked chain from a different function, with a different
  ;; answer for $far (payload + 5): 2 + (10 + 1000 n) + 105 + n.
  (func (export "unpark") (result i32)
    (local $k (ref null $ct))
    (local.set $k (global.get $parked))
    (global.set $parked (ref.null $ct))
    (resume $ct (i32.const 105) (local.get $k)))
)

;; 150 continuations; $probe handled at the top level, the middle, level 1.
(assert_return (invoke "run" (i32.const 150) (i32.const 150)) (i32.const 150362))
(assert_return (invoke "handled") (i32.const 2))
(assert_return (invoke "run" (i32.const 150) (i32.const 75)) (i32.const 75362))
(assert_return (invoke "run" (i32.const 150) (i32.const 1)) (i32.const 1362))
(assert_return (invoke "run" (i32.const 150) (i32.const 2)) (i32.const 2362))
;; 1000 continuations deep.
(assert_return (invoke "run" (i32.const 1000) (i32.const 999)) (i32.const 1000212))
(assert_return (invoke "run" (i32.const 1000) (i32.const 3)) (i32.const 4212))
;; Nobody handles $probe: level 0 runs the leaf without a continuation of
;; its own, and the top only knows $far. The suspension reaches the host.
(assert_suspension (invoke "run" (i32.const 150) (i32.const 0)) "unhandled")
(assert_suspension (invoke "run" (i32.const 150) (i32.const 151)) "unhandled")
;; The abandoned chains do not disturb the next run.
(assert_return (invoke "run" (i32.const 120) (i32.const 60)) (i32.const 60332))
;; 500 suspensions, each crossing 200 levels: 2 * (499 * 500 / 2) + 200.
(assert_return (invoke "round_trips" (i32.const 200) (i32.const 500)) (i32.const 249700))
(assert_return (invoke "round_trips" (i32.const 1) (i32.const 3)) (i32.const 7))
;; A parked chain of 130 levels resumed by another export.
(assert_return (invoke "park" (i32.const 130)) (i32.const 100))
(assert_return (invoke "unpark") (i32.const 130247))
;; It was resumed once; the global was cleared so this is a null reference.
(assert_trap (invoke "unpark") "null continuation reference")
(assert_return (invoke "run" (i32.const 100) (i32.const 50)) (i32.const 50312))

;; Manual forwarding through every level: each level handles $ask by
;; suspending $ask itself with payload + 1 (it runs inside the continuation
;; of the level above), then passes the answer + 1 back down. Only the top
;; answers. So a request from the leaf crosses n handlers on the way up
;; and n on the way down.
(module
  (type $ft (func (param i32) (result i32)))
  (type $ct (cont $ft))
  (tag $ask (param i32) (result i32))
  (global $hops (mut i32) (i32.const 0))
  (elem declare func $level)

  (func $level (param $n i32) (result i32)
    (local $k (ref null $ct))
    (local $v i32)
    (if (i32.eqz (local.get $n))
      (then
        ;; The leaf asks twice; the second question depends on the answer.
        (return (suspend $ask (suspend $ask (i32.const 0))))))
    (local.set $k (cont.new $ct (ref.func $level)))
    (local.set $v (i32.sub (local.get $n) (i32.const 1)))
    (loop $drive
      (block $on_ask (result i32 (ref $ct))
        (return (resume $ct (on $ask $on_ask) (local.get $v) (local.get $k))))
      (local.set $k)
      (global.set $hops (i32.add (global.get $hops) (i32.const 1)))
      ;; Forward up, then add 1 on the way down.
      (local.set $v
        (i32.add (suspend $ask (i32.add (i32.const 1))) (i32.const 1)))
      (br $drive))
    (unreachable))

  ;; The top answers with payload * 10.
  (func (export "ask") (param $n i32) (result i32)
    (local $k (ref null $ct))
    (local $v i32)
    (global.set $hops (i32.const 0))
    (local.set $k (cont.new $ct (ref.func $level)))
    (local.set $v (local.get $n))
    (loop $drive
      (block $on_ask (result i32 (ref $ct))
        (return (resume $ct (on $ask $on_ask) (local.get $v) (local.get $k))))
      (local.set $k)
      (local.set $v (i32.mul (i32.const 10)))
      (br $drive))
    (unreachable))

  (func (export "hops") (result i32) (global.get $hops))
)

;; Level n > 0 forwards; level 0 is the leaf run by level 1.
;; First question: 0 + n up, answer 10n + n down = 11n.
;; Second: 11n + n = 12n up, 120n + n down = 121n.
(assert_return (invoke "ask" (i32.const 1)) (i32.const 121))
(assert_return (invoke "hops") (i32.const 2))
(assert_return (invoke "ask" (i32.const 100)) (i32.const 12100))
(assert_return (invoke "hops") (i32.const 200))
(assert_return (invoke "ask" (i32.const 250)) (i32.const 30250))
(assert_return (invoke "hops") (i32.const 500))
;; With no level, the leaf's question goes straight to the top: 0 → 0.
(assert_return (invoke "ask" (i32.const 0)) (i32.const 0))
(assert_return (invoke "hops") (i32.const 0))
