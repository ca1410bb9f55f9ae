;; `switch` beyond the proposal's two-coroutine examples: a ring of N
;; continuations (up to 100) passing control around M times with no help
;; from their scheduler, checked by an order-sensitive hash of who ran
;; when; the same ring also suspending to the scheduler between switches
;; (a switch handler and a suspend handler on one resume, and the
;; continuation a suspension captures is one of the ring's, not the one the
;; scheduler started); values carried by switch; a switch that skips a
;; suspend handler for the same tag, after which that suspend handler must
;; still be in place; a trap in the middle of a ring; and switch mixed with
;; the other instructions on one continuation (switch to a continuation
;; left by `suspend`, resume_throw into one left by `switch`, an exception
;; from a switch target).

(module
  (rec
    (type $ft (func (param (ref null $ct))))
    (type $ct (cont $ft)))
  ;; A task before its index is bound.
  (type $ft_i (func (param i32 (ref null $ct))))
  (type $ct_i (cont $ft_i))
  ;; What a $tick suspension leaves behind: it waits for an i32.
  (type $ft_t (func (param i32)))
  (type $ct_t (cont $ft_t))

  (tag $sw)
  (tag $tick (param i32) (result i32))

  ;; Slot i holds task i while it is not running.
  (table $ring 100 (ref null $ct))
  (global $n (mut i32) (i32.const 0))
  (global $m (mut i32) (i32.const 0))
  ;; 0: only switch; 1: also suspend $tick when (round + i) mod 3 = 0.
  (global $ticking (mut i32) (i32.const 0))
  (global $acc (mut i32) (i32.const 0))
  (global $switches (mut i32) (i32.const 0))
  (global $finished (mut i32) (i32.const 0))
  (global $ticks (mut i32) (i32.const 0))
  ;; A task traps when $switches reaches this.
  (global $trap_at (mut i32) (i32.const -1))

  (elem declare func $task)

  (func $mix (param $v i32)
    (global.set $acc
      (i32.add (i32.mul (global.get $acc) (i32.const 31)) (local.get $v))))

  ;; Takes slot $i's continuation out of the table.
  (func $take (param $i i32) (result (ref null $ct))
    (table.get $ring (local.get $i))
    (table.set $ring (local.get $i) (ref.null $ct)))

  (func $task (param $i i32) (param $prev (ref null $ct))
    (local $r i32) (local $next i32) (local $before i32)
    (local.set $next
      (i32.rem_u (i32.add (local.get $i) (i32.const 1)) (global.get $n)))
    (local.set $before
      (i32.rem_u
        (i32.add (local.get $i) (i32.sub (global.get $n) (i32.const 1)))
        (global.get $n)))
    (loop $round
      ;; Whoever switched to us was the task before us in the ring (or the
      ;; scheduler, which passes null): keep it where our predecessor will
      ;; look for it.
      (if (i32.eqz (ref.is_null (local.get $prev)))
        (then (table.set $ring (local.get $before) (local.get $prev))))
      (if (i32.ge_u (local.get $r) (global.get $m))
        (then
          (global.set $finished (i32.add (global.get $finished) (i32.const 1)))
          (return)))
      (call $mix (i32.add (local.get $i) (i32.const 1)))
      (if (global.get $ticking)
        (then
          (if (i32.eqz
                (i32.rem_u (i32.add (local.get $r) (local.get $i)) (i32.const 3)))
            (then (call $mix (suspend $tick (local.get $i)))))))
      (if (i32.eq (global.get $switches) (global.get $trap_at))
        (then (unreachable)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (global.set $switches (i32.add (global.get $switches) (i32.const 1)))
      (local.set $prev (switch $ct $sw (call $take (local.get $next))))
      (br $round)))

  (func $setup (param $n i32) (param $m i32) (param $ticking i32)
    (local $i i32)
    (global.set $n (local.get $n))
    (global.set $m (local.get $m))
    (global.set $ticking (local.get $ticking))
    (global.set $acc (i32.const 0))
    (global.set $switches (i32.const 0))
    (global.set $finished (i32.const 0))
    (global.set $ticks (i32.const 0))
    (loop $fill
      (table.set $ring (local.get $i)
        (cont.bind $ct_i $ct (local.get $i) (cont.new $ct_i (ref.func $task))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (local.get $n)))))

  ;; Task 0 returns first (after its last switch back); the others are
  ;; then parked in the table after their last switch: resume each once
  ;; more so that it returns too.
  (func $drain
    (local $i i32)
    (loop $l
      (if (i32.eqz (ref.is_null (table.get $ring (local.get $i))))
        (then
          (resume $ct (on $sw switch) (ref.null $ct) (call $take (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (global.get $n)))))

  (func (export "ring") (param $n i32) (param $m i32) (result i32)
    (call $setup (local.get $n) (local.get $m) (i32.const 0))
    (resume $ct (on $sw switch) (ref.null $ct) (call $take (i32.const 0)))
    (call $drain)
    (global.get $acc))

  ;; The scheduler answers a tick from task i with 7 * i + ticks so far.
  (func (export "ring_tick") (param $n i32) (param $m i32) (result i32)
    (local $k (ref null $ct_t))
    (local $answer i32)
    (call $setup (local.get $n) (local.get $m) (i32.const 1))
    (block $done
      (loop $l
        (block $on_tick (result i32 (ref $ct_t))
          (if (ref.is_null (local.get $k))
            (then
              (resume $ct (on $sw switch) (on $tick $on_tick)
                (ref.null $ct) (call $take (i32.const 0))))
            (else
              (resume $ct_t (on $sw switch) (on $tick $on_tick)
                (local.get $answer) (local.get $k))))
          (br $done))
        (local.set $k)
        (global.set $ticks (i32.add (global.get $ticks) (i32.const 1)))
        (local.set $answer
          (i32.add (i32.mul (i32.const 7)) (global.get $ticks)))
        (br $l)))
    (call $drain)
    (global.get $acc))

  (func (export "trap_at") (param i32) (global.set $trap_at (local.get 0)))

  (func (export "stats") (result i32 i32 i32)
    (global.get $switches) (global.get $finished) (global.get $ticks))
)

(assert_return (invoke "ring" (i32.const 10) (i32.const 10)) (i32.const 692349234))
(assert_return (invoke "stats") (i32.const 100) (i32.const 10) (i32.const 0))
(assert_return (invoke "ring" (i32.const 10) (i32.const 1)) (i32.const 820959397))
(assert_return (invoke "stats") (i32.const 10) (i32.const 10) (i32.const 0))
(assert_return (invoke "ring" (i32.const 2) (i32.const 5)) (i32.const -263096795))
(assert_return (invoke "ring" (i32.const 100) (i32.const 50)) (i32.const -1310453436))
(assert_return (invoke "stats") (i32.const 5000) (i32.const 100) (i32.const 0))
(assert_return (invoke "ring" (i32.const 3) (i32.const 1000)) (i32.const 1887090432))
(assert_return (invoke "stats") (i32.const 3000) (i32.const 3) (i32.const 0))
(assert_return (invoke "ring_tick" (i32.const 10) (i32.const 10)) (i32.const -1218402070))
(assert_return (invoke "stats") (i32.const 100) (i32.const 10) (i32.const 34))
(assert_return (invoke "ring_tick" (i32.const 4) (i32.const 7)) (i32.const -911545304))
(assert_return (invoke "stats") (i32.const 28) (i32.const 4) (i32.const 10))
;; Switching only again, after the mixed runs.
(assert_return (invoke "ring" (i32.const 10) (i32.const 10)) (i32.const 692349234))
;; A task traps in the middle of the ring (task 7 in its 6th round): the
;; other nine are abandoned, suspended, and the next ring is unaffected.
(assert_return (invoke "trap_at" (i32.const 57)))
(assert_trap (invoke "ring" (i32.const 10) (i32.const 10)) "unreachable")
(assert_return (invoke "stats") (i32.const 57) (i32.const 0) (i32.const 0))
(assert_trap (invoke "ring_tick" (i32.const 10) (i32.const 10)) "unreachable")
(assert_return (invoke "trap_at" (i32.const -1)))
(assert_return (invoke "ring" (i32.const 10) (i32.const 10)) (i32.const 692349234))
(assert_return (invoke "ring_tick" (i32.const 4) (i32.const 7)) (i32.const -911545304))

;; Two players pass a number back and forth with switch: A adds 1, B
;; doubles; the one that finds it at or above the limit returns it (B
;; adds 1000000 to say it was B). The other one is left suspended.
(module
  (rec
    (type $pf (func (param i32 (ref null $pc)) (result i32)))
    (type $pc (cont $pf)))
  (type $lf (func (param i32 i32 (ref null $pc)) (result i32)))
  (type $lc (cont $lf))
  (tag $pass (result i32))
  (global $limit (mut i32) (i32.const 0))
  (global $passes (mut i32) (i32.const 0))
  (elem declare func $player)

  (func $player (param $doubles i32) (param $v i32) (param $other (ref null $pc))
    (result i32)
    (loop $turn
      (if (i32.ge_u (local.get $v) (global.get $limit))
        (then
          (return
            (select
              (i32.add (local.get $v) (i32.const 1000000))
              (local.get $v)
              (local.get $doubles)))))
      (local.set $v
        (select
          (i32.mul (local.get $v) (i32.const 2))
          (i32.add (local.get $v) (i32.const 1))
          (local.get $doubles)))
      (global.set $passes (i32.add (global.get $passes) (i32.const 1)))
      (switch $pc $pass (local.get $v) (local.get $other))
      (local.set $other)
      (local.set $v)
      (br $turn))
    (unreachable))

  (func (export "play") (param $limit i32) (result i32)
    (global.set $limit (local.get $limit))
    (global.set $passes (i32.const 0))
    (resume $pc (on $pass switch)
      (i32.const 1)
      (cont.bind $lc $pc (i32.const 1) (cont.new $lc (ref.func $player)))
      (cont.bind $lc $pc (i32.const 0) (cont.new $lc (ref.func $player)))))
  (func (export "passes") (result i32) (global.get $passes))
)

(assert_return (invoke "play" (i32.const 1)) (i32.const 1))
(assert_return (invoke "passes") (i32.const 0))
(assert_return (invoke "play" (i32.const 2)) (i32.const 1000002))
(assert_return (invoke "passes") (i32.const 1))
(assert_return (invoke "play" (i32.const 100)) (i32.const 190))
(assert_return (invoke "play" (i32.const 1000000)) (i32.const 1572862))
(assert_return (invoke "passes") (i32.const 38))

;; A switch skips a suspend handler for its own tag: $t is both the switch
;; tag (handled by "run" with (on $t switch)) and a suspend tag (handled by
;; $mid with (on $t $label)). $inner runs under $mid; its switch to $x
;; goes past $mid's handler and captures $inner and $mid together. When
;; $x switches back, a `suspend $t` from $inner must reach $mid again.
;; Each step appends a digit to $log.
(module
  (rec
    (type $sf (func (param (ref null $sc))))
    (type $sc (cont $sf)))
  (type $f0 (func))
  (type $c0 (cont $f0))
  (tag $t)
  (global $log (mut i32) (i32.const 0))
  (global $x (mut (ref null $sc)) (ref.null $sc))
  (elem declare func $mid $inner $x)

  (func $log (param $d i32)
    (global.set $log
      (i32.add (i32.mul (global.get $log) (i32.const 10)) (local.get $d))))

  (func $inner
    (call $log (i32.const 1))
    ;; To $x; it switches back, handing over itself.
    (global.set $x (switch $sc $t (cont.new $sc (ref.func $x))))
    (call $log (i32.const 3))
    (suspend $t)                               ;; to $mid
    (call $log (i32.const 5))
    (global.set $x (switch $sc $t (global.get $x)))
    (call $log (i32.const 7)))

  ;; (type $sf), not an inline signature: an inline one would make a new
  ;; type outside the rec group, which cont.new $sc does not accept.
  (func $x (type $sf)
    ;; Parameter 0: the continuation that switched here.
    (call $log (i32.const 2))
    (local.set 0 (switch $sc $t (local.get 0)))
    (call $log (i32.const 6))
    (drop (switch $sc $t (local.get 0)))
    ;; Never resumed again.
    (unreachable))

  (func $mid (type $sf)
    (local $k (ref null $c0))
    (local.set $k (cont.new $c0 (ref.func $inner)))
    (loop $drive
      (block $on_t (result (ref $c0))
        (resume $c0 (on $t $on_t) (local.get $k))
        (call $log (i32.const 8))
        (return))
      (local.set $k)
      (call $log (i32.const 4))
      ;; Resumed under the same handler: the rest of $inner runs here.
      (br $drive)))

  (func (export "run") (result i32)
    (global.set $log (i32.const 0))
    (resume $sc (on $t switch) (ref.null $sc) (cont.new $sc (ref.func $mid)))
    (global.get $log))
)

(assert_return (invoke "run") (i32.const 12345678))
;; A second run, with the continuations of the first left suspended.
(assert_return (invoke "run") (i32.const 12345678))

;; Switch and the other instructions on the same continuations: a
;; continuation suspended by `suspend` (its tag returns a continuation
;; reference, so what it leaves is of the switch type) is the target of a
;; switch; resume_throw reaches a continuation suspended at a switch; an
;; exception from a switch target leaves through the resume that had the
;; switch handler, to its try_table.
(module
  (rec
    (type $sf (func (param (ref null $sc)) (result i32)))
    (type $sc (cont $sf)))
  (type $f0 (func (result i32)))
  (type $c0 (cont $f0))
  (tag $sw (result i32))
  (tag $park (result (ref null $sc)))
  (tag $e (param i32))
  (global $kept (mut (ref null $sc)) (ref.null $sc))
  (global $log (mut i32) (i32.const 0))
  (func $log (param $d i32)
    (global.set $log
      (i32.add (i32.mul (global.get $log) (i32.const 10)) (local.get $d))))
  (elem declare func $parker $visitor $waiter $leaver $raiser $to_raiser)

  ;; Parks itself with `suspend $park`; what `suspend` returns is the
  ;; continuation of whoever switches to it.
  (func $parker (result i32)
    (call $log (i32.const 1))
    (drop (switch $sc $sw (suspend $park)))
    (unreachable))
  (func $visitor (type $sf)
    (call $log (i32.const 2))
    (drop (switch $sc $sw (global.get $kept)))
    (call $log (i32.const 3))
    (i32.const 99))
  ;; log 1 2 3, result 99.
  (func (export "switch_to_suspended") (result i32)
    (local $r i32)
    (global.set $log (i32.const 0))
    (block $on_park (result (ref $sc))
      (drop (resume $c0 (on $park $on_park) (cont.new $c0 (ref.func $parker))))
      (unreachable))
    (global.set $kept)
    (local.set $r
      (resume $sc (on $sw switch) (ref.null $sc) (cont.new $sc (ref.func $visitor))))
    (i32.add (i32.mul (global.get $log) (i32.const 1000)) (local.get $r)))

  ;; $waiter switches to $leaver, which keeps the waiter's continuation and
  ;; returns 7; then the waiter gets $e at its switch and catches it.
  (func $waiter (type $sf)
    (block $h (result i32)
      (try_table (catch $e $h)
        (drop (switch $sc $sw (local.get 0)))
        (unreachable))
      (unreachable))
    (i32.add (i32.const 500)))
  (func $leaver (type $sf)
    (global.set $kept (local.get 0))
    (i32.const 7))
  ;; 7 * 10000 + (3 + 500).
  (func (export "throw_at_switch") (result i32)
    (i32.mul
      (resume $sc (on $sw switch)
        (cont.new $sc (ref.func $leaver)) (cont.new $sc (ref.func $waiter)))
      (i32.const 10000))
    (resume_throw $sc $e (i32.const 3) (global.get $kept))
    (i32.add))

  (func (export "throw_at_switch_again") (result i32)
    (resume_throw $sc $e (i32.const 3) (global.get $kept)))

  (func $raiser (type $sf) (throw $e (i32.const 42)))
  (func $to_raiser (type $sf)
    (drop (switch $sc $sw (cont.new $sc (ref.func $raiser))))
    (i32.const -1))
  (func (export "target_throws") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (return
          (resume $sc (on $sw switch) (ref.null $sc) (cont.new $sc (ref.func $to_raiser)))))
      (unreachable))
    (i32.add (i32.const 1000)))
)

(assert_return (invoke "switch_to_suspended") (i32.const 123099))
(assert_return (invoke "throw_at_switch") (i32.const 70503))
(assert_return (invoke "target_throws") (i32.const 1042))
;; $kept still holds the waiter, which resume_throw consumed.
(assert_trap (invoke "throw_at_switch_again") "continuation already consumed")
