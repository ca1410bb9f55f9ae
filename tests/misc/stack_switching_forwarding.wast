;; Suspensions that pass through a handler which does not handle their tag.
;; The proposal's scripts check that such a tag reaches an outer handler;
;; they do not check what the outer handler gets back: a continuation that
;; holds the whole chain, inner handlers included, so that after it is
;; resumed (from anywhere) the inner handler is still in place for the
;; innermost code. Also checked: handlers are found by tag identity (an
;; outer handler for the same tag never sees what an inner one takes), a
;; captured chain resumed under a new handler sends later suspensions to
;; the new one, and a handler that forwards by suspending again itself.

(module
  (type $ft (func (param i32) (result i32)))
  (type $ct (cont $ft))

  (tag $a (param i32) (result i32))
  (tag $b (param i32) (result i32))

  ;; Who handled what, as decimal digits appended in order:
  ;; 1 = inner handler got $a, 2 = outer got $a, 3 = outer got $b,
  ;; 4 = second outer (in "resume_elsewhere") got $b.
  (global $log (mut i32) (i32.const 0))
  (func $log (param $d i32)
    (global.set $log
      (i32.add (i32.mul (global.get $log) (i32.const 10)) (local.get $d))))
  (global $parked (mut (ref null $ct)) (ref.null $ct))

  (elem declare func $innermost $middle $innermost2)

  ;; b up, then a (for the inner handler), then b again, then a again.
  (func $innermost (param $x i32) (result i32)
    (local.set $x (suspend $b (local.get $x)))       ;; outer: x * 10
    (local.set $x (suspend $a (local.get $x)))       ;; inner: x + 1
    (local.set $x (suspend $b (local.get $x)))       ;; outer: x * 10
    (suspend $a (local.get $x)))                     ;; inner: x + 1

  ;; Runs $innermost handling $a only (answers payload + 1).
  (func $middle (param $x i32) (result i32)
    (local $k (ref null $ct))
    (local.set $k (cont.new $ct (ref.func $innermost)))
    (loop $drive
      (block $on_a (result i32 (ref $ct))
        (return
          (i32.add
            (resume $ct (on $a $on_a) (local.get $x) (local.get $k))
            (i32.const 1000))))
      (local.set $k)
      (local.set $x (i32.add (i32.const 1)))
      (call $log (i32.const 1))
      (br $drive))
    (unreachable))

  ;; Runs $middle handling both $a (answers payload + 500, must not be
  ;; used) and $b (answers payload * 10).
  (func $outer (param $k (ref null $ct)) (param $x i32) (result i32)
    (loop $drive
      (block $on_b (result i32 (ref $ct))
        (block $on_a (result i32 (ref $ct))
          (return
            (resume $ct (on $a $on_a) (on $b $on_b) (local.get $x) (local.get $k))))
        (local.set $k)
        (local.set $x (i32.add (i32.const 500)))
        (call $log (i32.const 2))
        (br $drive))
      (local.set $k)
      (local.set $x (i32.mul (i32.const 10)))
      (call $log (i32.const 3))
      (br $drive))
    (unreachable))

  ;; 3 → 30 → 31 → 310 → 311, + 1000 in middle.
  (func (export "through") (result i32)
    (global.set $log (i32.const 0))
    (call $outer (cont.new $ct (ref.func $middle)) (i32.const 3)))
  (func (export "log") (result i32) (global.get $log))

  ;; Catches the first $b and parks the chain; "resume_elsewhere" resumes it
  ;; under a handler of its own that answers $b with payload * 100.
  (func (export "park") (param $x i32) (result i32)
    (global.set $log (i32.const 0))
    (block $on_b (result i32 (ref $ct))
      (return
        (resume $ct (on $b $on_b) (local.get $x) (cont.new $ct (ref.func $middle)))))
    (global.set $parked)
    (call $log (i32.const 3)))

  (func (export "resume_elsewhere") (param $x i32) (result i32)
    (local $k (ref null $ct))
    (local.set $k (global.get $parked))
    (global.set $parked (ref.null $ct))
    (loop $drive
      (block $on_b (result i32 (ref $ct))
        (return (resume $ct (on $b $on_b) (local.get $x) (local.get $k))))
      (local.set $k)
      (local.set $x (i32.mul (i32.const 100)))
      (call $log (i32.const 4))
      (br $drive))
    (unreachable))

  ;; A chain where the inner handler is for $b and the outer for $a, the
  ;; other way round, and the innermost suspends $a first.
  (func $innermost2 (param $x i32) (result i32)
    (i32.add
      (suspend $a (local.get $x))        ;; outer: x + 500
      (suspend $b (local.get $x))))      ;; inner: x * 10 (in $swapped_mid)
  (func $swapped_mid (param $x i32) (result i32)
    (local $k (ref null $ct))
    (local.set $k (cont.new $ct (ref.func $innermost2)))
    (loop $drive
      (block $on_b (result i32 (ref $ct))
        (return (resume $ct (on $b $on_b) (local.get $x) (local.get $k))))
      (local.set $k)
      (local.set $x (i32.mul (i32.const 10)))
      (call $log (i32.const 5))
      (br $drive))
    (unreachable))
  (elem declare func $swapped_mid)
  (func (export "swapped") (param $x i32) (result i32)
    (global.set $log (i32.const 0))
    (call $outer (cont.new $ct (ref.func $swapped_mid)) (local.get $x)))
)

(assert_return (invoke "through") (i32.const 1311))
;; b to the outer, a to the inner, b to the outer, a to the inner; the
;; outer $a handler was never used.
(assert_return (invoke "log") (i32.const 3131))
;; 7 → [outer b: park] ... resumed with 70 → 71 → [b: 7100] → 7101 + 1000.
(assert_return (invoke "park" (i32.const 7)) (i32.const 7))
(assert_return (invoke "log") (i32.const 3))
(assert_return (invoke "resume_elsewhere" (i32.const 70)) (i32.const 8101))
(assert_return (invoke "log") (i32.const 3141))
;; The parked chain was taken out of the global.
(assert_trap (invoke "resume_elsewhere" (i32.const 0)) "null continuation reference")
;; (4 + 500) + (4 * 10): $a went past the inner $b handler to the outer one.
(assert_return (invoke "swapped" (i32.const 4)) (i32.const 544))
(assert_return (invoke "log") (i32.const 25))

;; Manual forwarding: the middle handler takes $req, asks the outer one by
;; suspending $req itself, and passes the answer down; the outer answers
;; $req with payload * 3, the middle adds 1 on the way up and 100 on the
;; way down. $own is handled by the middle alone. A second middle level
;; in "twice" forwards what the first one forwards.
(module
  (type $ft (func (param i32) (result i32)))
  (type $ct (cont $ft))
  (tag $req (param i32) (result i32))
  (tag $own (param i32) (result i32))
  (global $outer_count (mut i32) (i32.const 0))
  (global $middle_count (mut i32) (i32.const 0))
  (elem declare func $worker $forwarder $forwarder2)

  ;; ((x req) own) req, each answer feeding the next question.
  (func $worker (param $x i32) (result i32)
    (suspend $req (suspend $own (suspend $req (local.get $x)))))

  (func $forward_loop (param $k (ref null $ct)) (param $x i32) (result i32)
    (loop $drive
      (block $on_own (result i32 (ref $ct))
        (block $on_req (result i32 (ref $ct))
          (return
            (resume $ct (on $req $on_req) (on $own $on_own)
              (local.get $x) (local.get $k))))
        (local.set $k)
        (global.set $middle_count (i32.add (global.get $middle_count) (i32.const 1)))
        ;; Forward by hand: this code runs inside the continuation that the
        ;; outer function resumed, so its suspension goes there.
        (local.set $x
          (i32.add (suspend $req (i32.add (i32.const 1))) (i32.const 100)))
        (br $drive))
      ;; $own: answered here with payload - 5.
      (local.set $k)
      (local.set $x (i32.sub (i32.const 5)))
      (br $drive))
    (unreachable))

  (func $forwarder (param $x i32) (result i32)
    (call $forward_loop (cont.new $ct (ref.func $worker)) (local.get $x)))
  (func $forwarder2 (param $x i32) (result i32)
    (call $forward_loop (cont.new $ct (ref.func $forwarder)) (local.get $x)))

  (func $outer (param $k (ref null $ct)) (param $x i32) (result i32)
    (loop $drive
      (block $on_req (result i32 (ref $ct))
        (return (resume $ct (on $req $on_req) (local.get $x) (local.get $k))))
      (local.set $k)
      (global.set $outer_count (i32.add (global.get $outer_count) (i32.const 1)))
      (local.set $x (i32.mul (i32.const 3)))
      (br $drive))
    (unreachable))

  (func (export "once") (param $x i32) (result i32)
    (global.set $outer_count (i32.const 0))
    (global.set $middle_count (i32.const 0))
    (call $outer (cont.new $ct (ref.func $forwarder)) (local.get $x)))
  (func (export "twice") (param $x i32) (result i32)
    (global.set $outer_count (i32.const 0))
    (global.set $middle_count (i32.const 0))
    (call $outer (cont.new $ct (ref.func $forwarder2)) (local.get $x)))
  (func (export "counts") (result i32 i32)
    (global.get $middle_count) (global.get $outer_count))
)

;; once 2: req 2 → up 3 → 9 → down 109; own 109 → 104; req 104 → up 105
;; → 315 → down 415.
(assert_return (invoke "once" (i32.const 2)) (i32.const 415))
(assert_return (invoke "counts") (i32.const 2) (i32.const 2))
;; twice 2: req 2 → 3 → 4 → 12 → 112 → 212; own: the inner middle answers:
;; 207; req 207 → 208 → 209 → 627 → 727 → 827.
(assert_return (invoke "twice" (i32.const 2)) (i32.const 827))
(assert_return (invoke "counts") (i32.const 4) (i32.const 2))
