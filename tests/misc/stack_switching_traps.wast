;; Traps inside chains of continuations, and the traps of misused
;; continuation references. The proposal's scripts trap only one level deep
;; and never call the module again afterwards; here traps and stack
;; overflow happen 3 to 100 continuations deep, also after the chain was
;; suspended and resumed, also while the chain is suspended and its parent
;; traps, and every time the next call must work: stacks abandoned by a
;; trap must not break later resumes, and a continuation parked before the
;; trap must still be resumable. Then: every instruction that consumes a
;; reference (resume, resume_throw, resume_throw_ref, cont.bind, switch)
;; on a consumed one and on null, resume_throw on fresh continuations, and
;; suspensions nobody handles.

(module
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (type $f0 (func (result i32)))
  (type $c0 (cont $f0))

  ;; $y asks the top for a number; $z is for suspensions nobody handles.
  (tag $y (param i32) (result i32))
  (tag $z)

  ;; What the innermost code does:
  ;; 0 return 42, 1 unreachable, 2 divide by zero, 3 recurse forever,
  ;; 4 load out of bounds, 5 suspend $z (unhandled).
  (global $kind (mut i32) (i32.const 0))
  ;; When set, the innermost code first asks the top with $y and then does
  ;; the thing the answer says.
  (global $ask_first (mut i32) (i32.const 0))
  (global $parked (mut (ref null $ci)) (ref.null $ci))
  (global $levels (mut i32) (i32.const 0))
  (memory 1)

  (elem declare func $nest $count)

  (func $recurse (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))

  (func $act (param $kind i32) (result i32)
    (block $k5
      (block $k4
        (block $k3
          (block $k2
            (block $k1
              (block $k0
                (br_table $k0 $k1 $k2 $k3 $k4 $k5 (local.get $kind)))
              (return (i32.const 42)))
            (unreachable))
          (return (i32.div_s (i32.const 1) (global.get $levels))))
        (return (call $recurse (i32.const 0))))
      (return (i32.load (i32.const 65536))))
    (suspend $z)
    (i32.const -1))

  ;; Levels $n down to 0, each in a continuation resumed by the level
  ;; above (so "run" 3 makes 4 nested continuations); level 0 acts and
  ;; every other level adds 1 to the result. Each level counts itself in
  ;; $levels; level 0 resets it, so kind 2 divides by a zero that is only
  ;; known at run time.
  (func $nest (param $n i32) (result i32)
    (if (i32.eqz (local.get $n))
      (then
        (global.set $levels (i32.const 0))
        (if (global.get $ask_first)
          (then (return (call $act (suspend $y (global.get $kind))))))
        (return (call $act (global.get $kind)))))
    (global.set $levels (i32.add (global.get $levels) (i32.const 1)))
    (i32.add
      (resume $ci
        (i32.sub (local.get $n) (i32.const 1))
        (cont.new $ci (ref.func $nest)))
      (i32.const 1)))

  ;; Runs $n levels doing $kind, without handlers.
  (func (export "run") (param $n i32) (param $kind i32) (result i32)
    (global.set $kind (local.get $kind))
    (global.set $ask_first (i32.const 0))
    (resume $ci (local.get $n) (cont.new $ci (ref.func $nest))))

  ;; Runs $n levels until the innermost asks $y; parks the chain.
  (func (export "park") (param $n i32) (result i32)
    (global.set $ask_first (i32.const 1))
    (global.set $kind (i32.const 0))
    (block $on_y (result i32 (ref $ci))
      (return
        (resume $ci (on $y $on_y) (local.get $n) (cont.new $ci (ref.func $nest)))))
    (global.set $parked))
  ;; Resumes the parked chain with an answer: the innermost then acts on
  ;; it. The global keeps the reference, so a second call finds it consumed.
  (func (export "unpark") (param $kind i32) (result i32)
    (resume $ci (local.get $kind) (global.get $parked)))

  ;; The parent traps while it holds its suspended child chain (n + 1
  ;; stacks) on its operand stack.
  (func (export "trap_in_handler") (param $n i32) (result i32)
    (global.set $ask_first (i32.const 1))
    (block $on_y (result i32 (ref $ci))
      (return
        (resume $ci (on $y $on_y) (local.get $n) (cont.new $ci (ref.func $nest)))))
    (drop)
    (drop)
    (i32.div_u (i32.const 1) (i32.const 0)))

  ;; A second chain kept aside while "run" traps: a counter that suspends
  ;; $y with 1, 2, 3, ... and is resumed by "next".
  (func $count (param $start i32) (result i32)
    (loop $l
      (local.set $start (suspend $y (i32.add (local.get $start) (i32.const 1))))
      (br $l))
    (unreachable))
  (global $counter (mut (ref null $ci)) (ref.null $ci))
  (func (export "next") (param $v i32) (result i32)
    (local $k (ref null $ci))
    (local.set $k (global.get $counter))
    (if (ref.is_null (local.get $k))
      (then (local.set $k (cont.new $ci (ref.func $count)))))
    (block $on_y (result i32 (ref $ci))
      (drop (resume $ci (on $y $on_y) (local.get $v) (local.get $k)))
      (unreachable))
    (global.set $counter))
)

;; A chain of 3 that finishes: 42 + 3.
(assert_return (invoke "run" (i32.const 3) (i32.const 0)) (i32.const 45))
(assert_return (invoke "next" (i32.const 0)) (i32.const 1))
(assert_trap (invoke "run" (i32.const 3) (i32.const 1)) "unreachable")
(assert_return (invoke "next" (i32.const 10)) (i32.const 11))
(assert_trap (invoke "run" (i32.const 3) (i32.const 2)) "integer divide by zero")
(assert_trap (invoke "run" (i32.const 3) (i32.const 4)) "out of bounds memory access")
(assert_exhaustion (invoke "run" (i32.const 2) (i32.const 3)) "call stack exhausted")
(assert_exhaustion (invoke "run" (i32.const 100) (i32.const 3)) "call stack exhausted")
(assert_trap (invoke "run" (i32.const 100) (i32.const 1)) "unreachable")
(assert_suspension (invoke "run" (i32.const 3) (i32.const 5)) "unhandled")
;; The counter parked in a global before all that still runs.
(assert_return (invoke "next" (i32.const 20)) (i32.const 21))
(assert_return (invoke "run" (i32.const 100) (i32.const 0)) (i32.const 142))
;; Traps after the chain was suspended up to the top and resumed from
;; another export.
(assert_return (invoke "park" (i32.const 3)) (i32.const 0))
(assert_trap (invoke "unpark" (i32.const 2)) "integer divide by zero")
(assert_trap (invoke "unpark" (i32.const 0)) "continuation already consumed")
(assert_return (invoke "park" (i32.const 50)) (i32.const 0))
(assert_exhaustion (invoke "unpark" (i32.const 3)) "call stack exhausted")
(assert_return (invoke "park" (i32.const 4)) (i32.const 0))
(assert_return (invoke "unpark" (i32.const 0)) (i32.const 46))
(assert_trap (invoke "unpark" (i32.const 0)) "continuation already consumed")
;; The parent traps with a suspended chain of 5 in hand.
(assert_trap (invoke "trap_in_handler" (i32.const 5)) "integer divide by zero")
(assert_return (invoke "run" (i32.const 3) (i32.const 0)) (i32.const 45))
(assert_return (invoke "next" (i32.const 30)) (i32.const 31))

;; Misused references. Every consuming instruction, on a reference already
;; consumed in each way a reference gets consumed, and on null.
(module
  (type $f0 (func))
  (type $c0 (cont $f0))
  (type $fi (func (param i32)))
  (type $ci (cont $fi))
  (rec
    (type $sf (func (param (ref null $sc))))
    (type $sc (cont $sf)))
  (tag $t)
  (tag $sw)
  (tag $e (param i32))

  (global $runs (mut i32) (i32.const 0))
  (func $body (global.set $runs (i32.add (global.get $runs) (i32.const 1))))
  (func $body_i (param i32)
    (global.set $runs (i32.add (global.get $runs) (local.get 0))))
  (func $pause (suspend $t) (call $body))
  (func $target (type $sf) (call $body))
  (elem declare func $body $body_i $pause $target)

  (func (export "runs") (result i32) (global.get $runs))

  ;; Consumed by running to completion.
  (func $finished (result (ref $c0))
    (local $k (ref null $c0))
    (local.set $k (cont.new $c0 (ref.func $body)))
    (resume $c0 (local.get $k))
    (ref.as_non_null (local.get $k)))
  ;; Consumed by resuming it up to a suspension (the handler got a new one).
  (func $suspended (result (ref $c0))
    (local $k (ref null $c0))
    (local.set $k (cont.new $c0 (ref.func $pause)))
    (block $on_t (result (ref $c0))
      (resume $c0 (on $t $on_t) (local.get $k))
      (unreachable))
    (drop)
    (ref.as_non_null (local.get $k)))
  ;; Consumed by cont.bind (which made a new one).
  (func $bound (result (ref $ci))
    (local $k (ref null $ci))
    (local.set $k (cont.new $ci (ref.func $body_i)))
    (drop (cont.bind $ci $c0 (i32.const 5) (local.get $k)))
    (ref.as_non_null (local.get $k)))
  ;; Consumed by being a switch target (it then returned).
  (global $switch_target (mut (ref null $sc)) (ref.null $sc))
  (func $switcher (type $sf)
    (drop (switch $sc $sw (global.get $switch_target))))
  (elem declare func $switcher)
  (func $switched (result (ref null $sc))
    (global.set $switch_target (cont.new $sc (ref.func $target)))
    (resume $sc (on $sw switch)
      (ref.null $sc)
      (cont.new $sc (ref.func $switcher)))
    (global.get $switch_target))
  ;; Consumed by resume_throw (the exception came back out).
  (func $thrown (result (ref $c0))
    (local $k (ref null $c0))
    (local.set $k (cont.new $c0 (ref.func $body)))
    (block $caught
      (try_table (catch_all $caught)
        (resume_throw $c0 $e (i32.const 1) (local.get $k))))
    (ref.as_non_null (local.get $k)))

  (func (export "resume_finished") (resume $c0 (call $finished)))
  (func (export "resume_suspended") (resume $c0 (call $suspended)))
  (func (export "resume_suspended_via_handler")
    ;; The handler's own reference is fine; the old one is not.
    (local $old (ref null $c0))
    (local $new (ref null $c0))
    (local.set $old (cont.new $c0 (ref.func $pause)))
    (block $on_t (result (ref $c0))
      (resume $c0 (on $t $on_t) (local.get $old))
      (unreachable))
    (local.set $new)
    (resume $c0 (local.get $new))
    (resume $c0 (local.get $old)))
  (func (export "resume_bound") (resume $ci (i32.const 1) (call $bound)))
  (func (export "resume_switched") (resume $sc (ref.null $sc) (call $switched)))
  (func (export "resume_thrown") (resume $c0 (call $thrown)))

  (func (export "bind_finished") (drop (cont.bind $c0 $c0 (call $finished))))
  (func (export "bind_suspended") (drop (cont.bind $c0 $c0 (call $suspended))))
  (func (export "bind_bound") (drop (cont.bind $ci $c0 (i32.const 2) (call $bound))))
  (func (export "bind_twice")
    (local $k (ref null $ci))
    (local.set $k (cont.new $ci (ref.func $body_i)))
    (drop (cont.bind $ci $ci (local.get $k)))
    (drop (cont.bind $ci $c0 (i32.const 3) (local.get $k))))
  ;; The reference cont.bind returns does work (adds 7 to $runs).
  (func (export "bind_then_resume_new")
    (local $k (ref null $ci))
    (local.set $k (cont.new $ci (ref.func $body_i)))
    (resume $c0 (cont.bind $ci $c0 (i32.const 7) (local.get $k))))

  (func (export "throw_finished")
    (block $caught
      (try_table (catch_all $caught)
        (resume_throw $c0 $e (i32.const 1) (call $finished)))))
  (func (export "throw_suspended")
    (block $caught
      (try_table (catch_all $caught)
        (resume_throw $c0 $e (i32.const 1) (call $suspended)))))
  (func (export "throw_thrown")
    (block $caught
      (try_table (catch_all $caught)
        (resume_throw $c0 $e (i32.const 1) (call $thrown)))))
  (func (export "throw_ref_finished")
    (block $caught
      (try_table (catch_all $caught)
        (resume_throw_ref $c0 (call $an_exnref) (call $finished)))))
  (func $an_exnref (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (i32.const 9)))
      (unreachable)))

  (func (export "switch_to_finished")
    (resume $sc (on $sw switch) (ref.null $sc) (cont.new $sc (ref.func $switch_to_done))))
  (global $done_sc (mut (ref null $sc)) (ref.null $sc))
  (func $switch_to_done (type $sf)
    (drop (switch $sc $sw (global.get $done_sc))))
  (elem declare func $switch_to_done)
  (func (export "make_done_sc")
    (local $k (ref null $sc))
    (local.set $k (cont.new $sc (ref.func $target)))
    (resume $sc (ref.null $sc) (local.get $k))
    (global.set $done_sc (local.get $k)))

  (func (export "resume_null") (resume $c0 (ref.null $c0)))
  (func (export "resume_null_arg") (resume $ci (i32.const 1) (ref.null $ci)))
  (func (export "bind_null") (drop (cont.bind $ci $c0 (i32.const 1) (ref.null $ci))))
  (func (export "throw_null") (resume_throw $c0 $e (i32.const 1) (ref.null $c0)))
  (func (export "throw_ref_null")
    (resume_throw_ref $c0 (call $an_exnref) (ref.null $c0)))
  (func (export "switch_null")
    (resume $sc (on $sw switch) (ref.null $sc) (cont.new $sc (ref.func $switch_to_null))))
  (func $switch_to_null (type $sf)
    (drop (switch $sc $sw (ref.null $sc))))
  (elem declare func $switch_to_null)
  ;; A null reaching resume from a table slot nobody filled.
  (table $slots 2 (ref null $c0))
  (func (export "resume_empty_slot") (resume $c0 (table.get $slots (i32.const 1))))

  ;; resume_throw on fresh continuations: the function never runs, the
  ;; exception comes straight out to the try_table around resume_throw.
  (func (export "throw_fresh") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (resume_throw $c0 $e (i32.const 17) (cont.new $c0 (ref.func $body))))
      (i32.const -1)))
  (func (export "throw_fresh_bound") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (resume_throw $c0 $e (i32.const 18)
          (cont.bind $ci $c0 (i32.const 100) (cont.new $ci (ref.func $body_i)))))
      (i32.const -1)))
  (func (export "throw_ref_fresh") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (resume_throw_ref $c0 (call $an_exnref) (cont.new $c0 (ref.func $body))))
      (i32.const -1)))
  ;; After resume_throw the fresh continuation is consumed.
  (func (export "throw_fresh_then_resume")
    (local $k (ref null $c0))
    (local.set $k (cont.new $c0 (ref.func $body)))
    (block $h
      (try_table (catch_all $h)
        (resume_throw $c0 $e (i32.const 1) (local.get $k))))
    (resume $c0 (local.get $k)))

  ;; Unhandled suspensions: nobody handles $t three levels deep (the levels
  ;; handle $sw as a switch tag and $e is an exception tag, not handled).
  (func $deep_t (param $n i32)
    (if (i32.eqz (local.get $n)) (then (suspend $t) (return)))
    (resume $ci (on $sw switch)
      (i32.sub (local.get $n) (i32.const 1))
      (cont.new $ci (ref.func $deep_t))))
  (elem declare func $deep_t)
  (func (export "unhandled_deep") (call $deep_t (i32.const 3)))
  ;; Handled for the first suspension, not for the second: the handler
  ;; resumes without clauses.
  (func (export "unhandled_second")
    (block $on_t (result (ref $c0))
      (resume $c0 (on $t $on_t) (cont.new $c0 (ref.func $twice)))
      (return))
    (resume $c0))
  (func $twice (suspend $t) (suspend $t))
  (elem declare func $twice)
  ;; A suspension at the top level, outside any continuation.
  (func (export "unhandled_top") (suspend $t))
)

(assert_trap (invoke "resume_finished") "continuation already consumed")
(assert_trap (invoke "resume_suspended") "continuation already consumed")
(assert_trap (invoke "resume_suspended_via_handler") "continuation already consumed")
(assert_trap (invoke "resume_bound") "continuation already consumed")
(assert_trap (invoke "resume_switched") "continuation already consumed")
(assert_trap (invoke "resume_thrown") "continuation already consumed")
(assert_trap (invoke "bind_finished") "continuation already consumed")
(assert_trap (invoke "bind_suspended") "continuation already consumed")
(assert_trap (invoke "bind_bound") "continuation already consumed")
(assert_trap (invoke "bind_twice") "continuation already consumed")
(assert_trap (invoke "throw_finished") "continuation already consumed")
(assert_trap (invoke "throw_suspended") "continuation already consumed")
(assert_trap (invoke "throw_thrown") "continuation already consumed")
(assert_trap (invoke "throw_ref_finished") "continuation already consumed")
(assert_return (invoke "make_done_sc"))
(assert_trap (invoke "switch_to_finished") "continuation already consumed")

(assert_trap (invoke "resume_null") "null continuation reference")
(assert_trap (invoke "resume_null_arg") "null continuation reference")
(assert_trap (invoke "bind_null") "null continuation reference")
(assert_trap (invoke "throw_null") "null continuation reference")
(assert_trap (invoke "throw_ref_null") "null continuation reference")
(assert_trap (invoke "switch_null") "null continuation reference")
(assert_trap (invoke "resume_empty_slot") "null continuation reference")

(assert_return (invoke "throw_fresh") (i32.const 17))
(assert_return (invoke "throw_fresh_bound") (i32.const 18))
(assert_return (invoke "throw_ref_fresh") (i32.const 9))
(assert_trap (invoke "throw_fresh_then_resume") "continuation already consumed")

(assert_suspension (invoke "unhandled_deep") "unhandled")
(assert_suspension (invoke "unhandled_second") "unhandled")
(assert_suspension (invoke "unhandled_top") "unhandled")

;; None of the failing operations above ran a body. Those that did: the
;; helpers that finish a continuation before the trap (in resume_finished,
;; bind_finished, throw_finished, throw_ref_finished and make_done_sc),
;; the handler's own reference in resume_suspended_via_handler and the
;; switch target in resume_switched: 7, and 7 more from this one.
(assert_return (invoke "bind_then_resume_new"))
(assert_return (invoke "runs") (i32.const 14))
