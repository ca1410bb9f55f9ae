;; Continuations made while many are live (1,024 or more) are pending: they
;; take a stack only when they first run (fxtime-environ's
;; `PENDING_REVISION`). With 1,100 continuations parked, every `cont.new`
;; below makes a pending one, and each way into a continuation moves it to
;; a stack with what it holds: `resume` with its arguments, after
;; `cont.bind` with the bound ones too, `resume_throw`, `switch` to it, and
;; the host's resume (tests/all/stack_switching.rs, which also runs
;; `abandon`: too many allocations for the GC stress mode this script runs
;; in too). The first to run finds no free stack (all are parked), later
;; ones the stack the last one left.

(module
  (type $idle (func))
  (type $idle-k (cont $idle))
  (type $f (func (param i32 i32 i32) (result i32)))
  (type $fk (cont $f))
  (type $g (func (param i32) (result i32)))
  (type $gk (cont $g))
  (type $a (func (result i32)))
  (type $ak (cont $a))
  (type $b (func (param i32 (ref $ak)) (result i32)))
  (type $bk (cont $b))
  (type $box (struct (field i32)))
  (type $r (func (param (ref $box)) (result i32)))
  (type $rk (cont $r))
  (tag $yield (export "yield"))
  (tag $got (param i32))
  (tag $boom (param i32))
  (tag $sw (result i32))
  (table $parked 2000 (ref null $idle-k))
  (table $fresh 30000 (ref null $fk))
  (global $parked (mut i32) (i32.const 0))
  (global $stop (mut i32) (i32.const 0))
  (global $target (mut (ref null $bk)) (ref.null $bk))

  ;; Suspends until told to stop.
  (func $idle
    (loop $wait
      (suspend $yield)
      (br_if $wait (i32.eqz (global.get $stop)))))

  ;; 4a + 2b + c, suspending once on the way.
  (func $sum3 (param $a i32) (param $b i32) (param $c i32) (result i32)
    (suspend $yield)
    (i32.add
      (i32.add (i32.shl (local.get $a) (i32.const 2))
               (i32.shl (local.get $b) (i32.const 1)))
      (local.get $c)))

  ;; The switcher: hands the pending target 5 and its own continuation,
  ;; which no one switches back to.
  (func $switcher (result i32)
    (switch $bk $sw (i32.const 5) (ref.as_non_null (global.get $target)))
    (unreachable))

  ;; The target: 3 times what it was handed.
  (func $tripler (param $x i32) (param $k (ref $ak)) (result i32)
    (i32.mul (local.get $x) (i32.const 3)))

  (elem declare func $idle $sum3 $switcher $tripler $read)

  ;; Parks n continuations, each suspended in $idle.
  (func (export "park") (param $n i32)
    (local $i i32) (local $k (ref null $idle-k))
    (loop $more
      (block $parked (result (ref $idle-k))
        (resume $idle-k (on $yield $parked) (cont.new $idle-k (ref.func $idle)))
        (unreachable))
      (local.set $k)
      (table.set $parked (global.get $parked) (local.get $k))
      (global.set $parked (i32.add (global.get $parked) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (local.get $n)))))

  ;; Lets every parked continuation return.
  (func (export "unpark")
    (global.set $stop (i32.const 1))
    (loop $more
      (if (i32.eqz (global.get $parked)) (then (return)))
      (global.set $parked (i32.sub (global.get $parked) (i32.const 1)))
      (block $again (result (ref $idle-k))
        (resume $idle-k (on $yield $again) (table.get $parked (global.get $parked)))
        (br $more))
      (unreachable)))

  ;; Runs a $sum3 continuation of type $fk to its end.
  (func $finish3 (param $a i32) (param $b i32) (param $c i32) (param $k (ref $fk)) (result i32)
    (block $yielded (result (ref $ak))
      (return (resume $fk (on $yield $yielded)
        (local.get $a) (local.get $b) (local.get $c) (local.get $k))))
    (resume $ak))

  ;; Fills $fresh[0..n) with new continuations.
  (func (export "make") (param $n i32)
    (local $i i32)
    (loop $more
      (table.set $fresh (local.get $i) (cont.new $fk (ref.func $sum3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (local.get $n)))))

  ;; Runs $fresh[n-1] down to $fresh[0], the i-th with (i, 1, 1), each to
  ;; its end through its suspension; the sum of their results.
  (func (export "run") (param $n i32) (result i32)
    (local $sum i32)
    (loop $more
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (local.set $sum (i32.add (local.get $sum)
        (call $finish3 (local.get $n) (i32.const 1) (i32.const 1)
          (ref.as_non_null (table.get $fresh (local.get $n))))))
      (table.set $fresh (local.get $n) (ref.null $fk))
      (br_if $more (local.get $n)))
    (local.get $sum))

  ;; $sum3 with x and 7 bound, then resumed with 5: 4x + 19.
  (func (export "bound") (param $x i32) (result i32)
    (block $yielded (result (ref $ak))
      (return (resume $gk (on $yield $yielded) (i32.const 5)
        (cont.bind $fk $gk (local.get $x) (i32.const 7)
          (cont.new $fk (ref.func $sum3))))))
    (resume $ak))

  ;; A pending continuation run to its end, then resumed again: traps.
  (func (export "twice") (result i32)
    (local $k (ref null $fk))
    (local.set $k (cont.new $fk (ref.func $sum3)))
    (drop (call $finish3 (i32.const 1) (i32.const 2) (i32.const 3)
      (ref.as_non_null (local.get $k))))
    (call $finish3 (i32.const 1) (i32.const 2) (i32.const 3)
      (ref.as_non_null (local.get $k))))

  ;; resume_throw into a pending continuation: it never runs, the
  ;; exception comes out to the handler here.
  (func (export "throw-in") (result i32)
    (block $caught (result i32)
      (try_table (catch $boom $caught)
        (drop (resume_throw $fk $boom (i32.const 42)
          (cont.new $fk (ref.func $sum3)))))
      (i32.const -1)))

  ;; Drops n new boxes of 0: cells a collection freed get reused.
  (func $churn (param $n i32)
    (loop $more
      (drop (struct.new $box (i32.const 0)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $more (local.get $n))))

  ;; Churns, then suspends with what its box holds.
  (func $read (param $b (ref $box)) (result i32)
    (call $churn (i32.const 300))
    (suspend $got (struct.get $box 0 (local.get $b)))
    (i32.const 0))

  ;; n continuations of $read, box i bound to the i-th, each dropped at
  ;; its suspension (abandoned with the stack it took) once it showed
  ;; its box intact.
  (func (export "abandon") (param $n i32)
    (local $i i32)
    (loop $more
      (block $suspended (result i32 (ref $ak))
        (drop (resume $ak (on $got $suspended)
          (cont.bind $rk $ak (struct.new $box (local.get $i))
            (cont.new $rk (ref.func $read)))))
        (unreachable))
      (drop)
      (if (i32.ne (local.get $i)) (then (unreachable)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (local.get $n)))))

  ;; A new $sum3 continuation, for the host.
  (func (export "fresh") (result (ref $fk))
    (cont.new $fk (ref.func $sum3)))

  ;; A switch whose target is pending: the target's result is the result
  ;; of the resume that ran the switcher.
  (func (export "switch-to-pending") (result i32)
    (global.set $target (cont.new $bk (ref.func $tripler)))
    (resume $ak (on $sw switch) (cont.new $ak (ref.func $switcher))))
)

(invoke "park" (i32.const 1100))
;; The first finds no free stack (ContTakeStack), the second the first's.
(assert_return (invoke "bound" (i32.const 3)) (i32.const 31))
(assert_return (invoke "bound" (i32.const 4)) (i32.const 35))
(assert_trap (invoke "twice") "continuation already consumed")
(assert_return (invoke "throw-in") (i32.const 42))
(assert_return (invoke "switch-to-pending") (i32.const 15))
(invoke "make" (i32.const 20000))
;; the sum over i < 20,000 of 4i + 3
(assert_return (invoke "run" (i32.const 20000)) (i32.const 800020000))
(invoke "unpark")
;; Again with few live: continuations take their stacks at once.
(assert_return (invoke "bound" (i32.const 3)) (i32.const 31))
(assert_return (invoke "throw-in") (i32.const 42))
(assert_return (invoke "switch-to-pending") (i32.const 15))
(invoke "make" (i32.const 100))
(assert_return (invoke "run" (i32.const 100)) (i32.const 20100))
