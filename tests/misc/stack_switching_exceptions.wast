;; Exceptions and continuations together, beyond the proposal's
;; resume_throw tests: an exception thrown in a continuation and not caught
;; there leaves through `resume` into the resumer's try_table, through one,
;; two or 100 levels, and stops at the first level that catches it; the
;; try_table that counts is the one around the resume running the
;; continuation now, not the one around an earlier resume of it; a
;; suspension inside a try_table is not an exception and leaves the
;; try_table in place, and that try_table catches nothing its parent
;; throws; a suspension to a handler label outside a try_table leaves that
;; try_table; exnrefs travel across continuations in both
;; directions (as a suspension payload and as a resume argument) and
;; throw_ref rethrows them there; resume_throw and resume_throw_ref reach
;; the innermost continuation of a chain suspended through an inner
;; handler, which is still installed after the exception was caught; and
;; traps stay traps.

(module
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (type $fx (func (param exnref) (result i32)))
  (type $cx (cont $fx))

  (tag $e (param i32))
  (tag $e2 (param i32))
  (tag $y (param i32) (result i32))
  (tag $a (param i32) (result i32))
  (tag $carry (param exnref) (result i32))

  (global $mid_done (mut i32) (i32.const 0))

  (elem declare func
    $throw_e $mid_plain $mid_other $mid_catch $after_y $catch_all_around
    $carry_mid $rethrow_arg $rethrow_mid $deep $catch_then_a $mid_a
    $mid_throws)

  ;; Throws $e with the argument.
  (func $throw_e (param $x i32) (result i32) (throw $e (local.get $x)))

  ;; Runs $throw_e without any try_table: only its parent can catch.
  (func $mid_plain (param $x i32) (result i32)
    (i32.add
      (resume $ci (local.get $x) (cont.new $ci (ref.func $throw_e)))
      (i32.const 1)))
  ;; With a try_table for another tag: still only its parent.
  (func $mid_other (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e2 $h)
        (resume $ci (local.get $x) (cont.new $ci (ref.func $throw_e))))
      (return))
    (drop)
    (global.set $mid_done (i32.const 1))
    (i32.const -1))
  ;; Catches it: payload + 100.
  (func $mid_catch (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (resume $ci (local.get $x) (cont.new $ci (ref.func $throw_e))))
      (return))
    (i32.add (i32.const 100)))

  ;; Resumes $f with $x inside a try_table catching $e: payload + 1000.
  (func $catch_e (param $f (ref $ci)) (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (resume $ci (local.get $x) (local.get $f)))
      (return))
    (i32.add (i32.const 1000)))

  (func (export "one_level") (param $x i32) (result i32)
    (call $catch_e (cont.new $ci (ref.func $throw_e)) (local.get $x)))
  (func (export "two_levels") (param $x i32) (result i32)
    (call $catch_e (cont.new $ci (ref.func $mid_plain)) (local.get $x)))
  (func (export "two_levels_other") (param $x i32) (result i32)
    (global.set $mid_done (i32.const 0))
    (call $catch_e (cont.new $ci (ref.func $mid_other)) (local.get $x)))
  (func (export "mid_done") (result i32) (global.get $mid_done))
  (func (export "caught_in_mid") (param $x i32) (result i32)
    (call $catch_e (cont.new $ci (ref.func $mid_catch)) (local.get $x)))
  ;; After the exception left it, the continuation is used up.
  (func (export "thrown_out_then_resume") (result i32)
    (local $k (ref null $ci))
    (local.set $k (cont.new $ci (ref.func $throw_e)))
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (resume $ci (i32.const 1) (local.get $k)))
      (return))
    (drop)
    (resume $ci (i32.const 1) (local.get $k)))

  ;; $n levels; level $n = $catcher (if any) catches with payload + 100 n.
  (func $deep (param $n i32) (result i32)
    (local $k (ref null $ci))
    (if (i32.eqz (local.get $n)) (then (throw $e (i32.const 3))))
    (local.set $k (cont.new $ci (ref.func $deep)))
    (if (i32.eq (local.get $n) (global.get $catcher))
      (then
        (block $h (result i32)
          (try_table (result i32) (catch $e $h)
            (resume $ci (i32.sub (local.get $n) (i32.const 1)) (local.get $k)))
          (return))
        (return (i32.add (i32.mul (local.get $n) (i32.const 100))))))
    (i32.add
      (resume $ci (i32.sub (local.get $n) (i32.const 1)) (local.get $k))
      (i32.const 1)))
  (global $catcher (mut i32) (i32.const 0))
  ;; Result: caught at level c: 3 + 100 c + (n - c); at the top: 1003.
  (func (export "deep") (param $n i32) (param $c i32) (result i32)
    (global.set $catcher (local.get $c))
    (call $catch_e (cont.new $ci (ref.func $deep)) (local.get $n)))

  ;; Suspends $y, then throws $e with the answer.
  (func $after_y (param $x i32) (result i32)
    (throw $e (suspend $y (local.get $x))))
  ;; First resume inside a try_table that would answer 1000 + payload;
  ;; second resume inside one that answers 2000 + payload. The exception
  ;; comes during the second.
  (func (export "second_resume_catches") (result i32)
    (local $k (ref null $ci))
    (local $v i32)
    (block $first (result i32)
      (try_table (catch $e $first)
        (block $on_y (result i32 (ref $ci))
          (drop (resume $ci (on $y $on_y) (i32.const 6) (cont.new $ci (ref.func $after_y))))
          (return (i32.const -1)))
        (local.set $k)
        (local.set $v (i32.mul (i32.const 7))))
      (block $second (result i32)
        (try_table (result i32) (catch $e $second)
          (resume $ci (local.get $v) (local.get $k)))
        (return))
      (return (i32.add (i32.const 2000))))
    (i32.add (i32.const 1000)))

  ;; A try_table with catch_all around a suspension: the suspension goes to
  ;; the handler untouched (no catch), and when resumed the try_table still
  ;; catches what is thrown inside it: 50 + answer.
  (func $catch_all_around (param $x i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (local.set $x (suspend $y (local.get $x)))
        (throw $e (local.get $x)))
      (unreachable))
    (i32.add (local.get $x) (i32.const 50)))
  (func (export "suspend_in_try") (param $x i32) (result i32)
    (local $k (ref null $ci))
    (block $on_y (result i32 (ref $ci))
      (return (resume $ci (on $y $on_y) (local.get $x) (cont.new $ci (ref.func $catch_all_around)))))
    (local.set $k)
    (local.set $x)
    ;; The parent's own catch_all must not see the later throw either.
    (block $h
      (try_table (catch_all $h)
        (return (resume $ci (i32.mul (local.get $x) (i32.const 3)) (local.get $k)))))
    (i32.const -1))

  ;; An exnref caught two levels down goes up as a suspension payload and
  ;; is rethrown by the top, whose try_table then catches the original
  ;; exception with its payload.
  (func $carry_mid (param $x i32) (result i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h)
        (drop (resume $ci (local.get $x) (cont.new $ci (ref.func $throw_e)))))
      (return (i32.const -1)))
    (suspend $carry)
    (return))
  (func (export "exnref_up") (param $x i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught)
        (block $on_carry (result exnref (ref $ci))
          (return
            (resume $ci (on $carry $on_carry) (local.get $x) (cont.new $ci (ref.func $carry_mid)))))
        (drop)
        (throw_ref))
      (unreachable))
    (i32.add (i32.const 500)))

  ;; An exnref caught by the top goes down as a resume argument; the
  ;; continuation two levels down rethrows it and it comes back out of both
  ;; to the top's try_table.
  (func $rethrow_arg (param $x exnref) (result i32) (throw_ref (local.get $x)))
  (func $rethrow_mid (param $x exnref) (result i32)
    (i32.add (resume $cx (local.get $x) (cont.new $cx (ref.func $rethrow_arg)))
             (i32.const 1)))
  (func (export "exnref_down") (param $x i32) (result i32)
    (local $ex exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (local.get $x)))
      (unreachable))
    (local.set $ex)
    (block $caught (result i32)
      (try_table (catch $e $caught)
        (return (resume $cx (local.get $ex) (cont.new $cx (ref.func $rethrow_mid)))))
      (unreachable))
    (i32.add (i32.const 700)))

  ;; resume_throw into a suspended chain. $catch_then_a runs under $mid_a,
  ;; which handles $a (answers + 1); it suspends $y, which passes $mid_a to
  ;; the top. The top throws $e into the whole chain: the innermost catches
  ;; it, then suspends $a, which $mid_a must still handle.
  (func $catch_then_a (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (drop (suspend $y (local.get $x)))
        (unreachable))
      (unreachable))
    ;; The exception's payload.
    (suspend $a))
  (func $mid_a (param $x i32) (result i32)
    (local $k (ref null $ci))
    (local.set $k (cont.new $ci (ref.func $catch_then_a)))
    (loop $l
      (block $on_a (result i32 (ref $ci))
        (return
          (i32.add
            (resume $ci (on $a $on_a) (local.get $x) (local.get $k))
            (i32.const 10000))))
      (local.set $k)
      (local.set $x (i32.add (i32.const 1)))
      (br $l))
    (unreachable))
  (func $suspend_chain (param $x i32) (result (ref $ci))
    (local $k (ref null $ci))
    (block $on_y (result i32 (ref $ci))
      (drop (resume $ci (on $y $on_y) (local.get $x) (cont.new $ci (ref.func $mid_a))))
      (unreachable))
    (local.set $k)
    (drop)
    (ref.as_non_null (local.get $k)))
  ;; 42 → caught innermost → $a 42 → 43 → + 10000.
  (func (export "throw_into_chain") (param $v i32) (result i32)
    (resume_throw $ci $e (local.get $v) (call $suspend_chain (i32.const 0))))
  (func (export "throw_ref_into_chain") (param $v i32) (result i32)
    (local $ex exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (local.get $v)))
      (unreachable))
    (local.set $ex)
    (resume_throw_ref $ci (local.get $ex) (call $suspend_chain (i32.const 0))))
  ;; $e2: nobody in the chain catches it; it comes out of resume_throw.
  (func (export "throw_through_chain") (param $v i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e2 $h)
        (return
          (resume_throw $ci $e2 (local.get $v) (call $suspend_chain (i32.const 0)))))
      (unreachable))
    (i32.add (i32.const 300)))

  ;; The middle's handler code throws while its child is suspended: the
  ;; exception leaves the middle's continuation to the top.
  (func $mid_throws (param $x i32) (result i32)
    (block $on_y (result i32 (ref $ci))
      (return (resume $ci (on $y $on_y) (local.get $x) (cont.new $ci (ref.func $after_y)))))
    (drop)
    (throw $e (i32.add (i32.const 20))))
  (func (export "handler_throws") (param $x i32) (result i32)
    (call $catch_e (cont.new $ci (ref.func $mid_throws)) (local.get $x)))

  ;; A suspension whose handler label is outside a try_table leaves that
  ;; try_table: a throw after it goes to the try_table further out.
  (elem declare func $just_y $catch_all_y)
  (func $just_y (param i32) (result i32) (suspend $y (local.get 0)))
  (func (export "label_leaves_try") (param $x i32) (result i32)
    (block $outer (result i32)
      (try_table (catch $e $outer)
        (block $on_y (result i32 (ref $ci))
          (block $inner (result i32)
            (try_table (catch $e $inner)
              (drop
                (resume $ci (on $y $on_y) (local.get $x) (cont.new $ci (ref.func $just_y)))))
            (return (i32.const -1)))
          (return (i32.const -2)))
        (drop)
        (throw $e))
      (unreachable))
    (i32.add (i32.const 100)))

  ;; A suspended continuation's try_table (catch_all around its suspend)
  ;; catches nothing the parent throws, also after the parent dropped it.
  (func $catch_all_y (param $x i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (return (suspend $y (local.get $x)))))
    (i32.const -3))
  (func (export "abandoned_try") (param $x i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught)
        (block $on_y (result i32 (ref $ci))
          (drop
            (resume $ci (on $y $on_y) (local.get $x) (cont.new $ci (ref.func $catch_all_y))))
          (unreachable))
        (drop)
        (throw $e))
      (unreachable))
    (i32.add (i32.const 200)))
  (func (export "abandoned_try_uncaught") (param $x i32)
    (block $on_y (result i32 (ref $ci))
      (drop
        (resume $ci (on $y $on_y) (local.get $x) (cont.new $ci (ref.func $catch_all_y))))
      (unreachable))
    (drop)
    (throw $e))

  ;; Traps are not exceptions, also when they come out of continuations.
  (func $trap_inner (param i32) (result i32) (unreachable))
  (elem declare func $trap_inner $trap_mid)
  (func $trap_mid (param $x i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (return (resume $ci (local.get $x) (cont.new $ci (ref.func $trap_inner))))))
    (i32.const -1))
  (func (export "trap_not_caught") (result i32)
    (block $h
      (try_table (catch_all $h)
        (return (resume $ci (i32.const 0) (cont.new $ci (ref.func $trap_mid))))))
    (i32.const -2))

  ;; Nobody catches: the exception leaves two continuations and the module.
  (func (export "uncaught") (param $x i32) (result i32)
    (resume $ci (local.get $x) (cont.new $ci (ref.func $mid_plain))))
)

(assert_return (invoke "one_level" (i32.const 7)) (i32.const 1007))
(assert_return (invoke "two_levels" (i32.const 8)) (i32.const 1008))
(assert_return (invoke "two_levels_other" (i32.const 9)) (i32.const 1009))
(assert_return (invoke "mid_done") (i32.const 0))
(assert_return (invoke "caught_in_mid" (i32.const 4)) (i32.const 104))
(assert_trap (invoke "thrown_out_then_resume") "continuation already consumed")
;; 100 levels: caught at the top, at level 100, 50, 1.
(assert_return (invoke "deep" (i32.const 100) (i32.const 0)) (i32.const 1003))
(assert_return (invoke "deep" (i32.const 100) (i32.const 100)) (i32.const 10003))
(assert_return (invoke "deep" (i32.const 100) (i32.const 50)) (i32.const 5053))
(assert_return (invoke "deep" (i32.const 100) (i32.const 1)) (i32.const 202))
;; 6 * 7 = 42, caught by the second try_table.
(assert_return (invoke "second_resume_catches") (i32.const 2042))
;; 5 → 15 → thrown and caught inside: 65.
(assert_return (invoke "suspend_in_try" (i32.const 5)) (i32.const 65))
(assert_return (invoke "exnref_up" (i32.const 11)) (i32.const 511))
(assert_return (invoke "exnref_down" (i32.const 12)) (i32.const 712))
(assert_return (invoke "throw_into_chain" (i32.const 42)) (i32.const 10043))
(assert_return (invoke "throw_ref_into_chain" (i32.const 50)) (i32.const 10051))
(assert_return (invoke "throw_through_chain" (i32.const 13)) (i32.const 313))
;; 5 → $y 5 → the middle throws 25.
(assert_return (invoke "handler_throws" (i32.const 5)) (i32.const 1025))
(assert_return (invoke "label_leaves_try" (i32.const 6)) (i32.const 106))
(assert_return (invoke "abandoned_try" (i32.const 8)) (i32.const 208))
(assert_exception (invoke "abandoned_try_uncaught" (i32.const 8)))
(assert_trap (invoke "trap_not_caught") "unreachable")
;; Uncaught at the top: the script sees the exception; then all is well.
(assert_exception (invoke "uncaught" (i32.const 1)))
(assert_return (invoke "two_levels" (i32.const 8)) (i32.const 1008))
(assert_return (invoke "throw_into_chain" (i32.const 1)) (i32.const 10002))
