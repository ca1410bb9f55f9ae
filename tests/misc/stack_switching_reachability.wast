;; Suspended continuations whose only reference lies in each place a
;; continuation reference can be kept: the local of another suspended
;; continuation (a), a struct field (b), an array element (c), a table
;; (d), a global (e), the payload of an exception caught later (f), and
;; an argument bound by `cont.bind` (h). Each survives collections (the
;; `churn` calls; `tests/all/continuation_gc.rs` also counts what stays
;; live) and resumes with what it held.

(module
  (type $f (func (result i32)))
  (type $ct (cont $f))
  (type $hf (func (param (ref null $ct)) (result i32)))
  (type $hct (cont $hf))
  (type $box (struct (field i32)))
  (type $cbox (struct (field (mut (ref null $ct)))))
  (type $carr (array (mut (ref null $ct))))
  (type $junk (array (mut i64)))
  (tag $yield)
  (tag $carry (param (ref null $ct)))

  (global $next (mut i32) (i32.const 0))
  (global $in-holder (mut (ref null $ct)) (ref.null $ct))
  (global $in-struct (mut (ref null $cbox)) (ref.null $cbox))
  (global $in-array (mut (ref null $carr)) (ref.null $carr))
  (table $in-table 8 (ref null $ct))
  (global $in-global (mut (ref null $ct)) (ref.null $ct))
  (global $in-exn (mut exnref) (ref.null exn))
  (global $in-bound (mut (ref null $ct)) (ref.null $ct))

  ;; Holds a struct numbered by `$next` across its suspension and returns
  ;; the number.
  (func $victim (result i32)
    (local $b (ref null $box))
    (local.set $b (struct.new $box (global.get $next)))
    (suspend $yield)
    (call $churn (i32.const 100))
    (struct.get $box 0 (local.get $b)))

  ;; Suspends holding another continuation in a local; resumes it after.
  (func $holder (param $k (ref null $ct)) (result i32)
    (suspend $yield)
    (resume $ct (local.get $k)))

  ;; Suspends twice.
  (func $twice (result i32)
    (suspend $yield)
    (suspend $yield)
    (i32.const 0))

  (elem declare func $victim $holder $twice)

  (func $churn (export "churn") (param $n i32)
    (loop $l
      (drop (array.new $junk (i64.const 1) (i32.const 64)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; A new victim, suspended with its struct.
  (func $make (export "make") (result (ref $ct))
    (global.set $next (i32.add (global.get $next) (i32.const 1)))
    (block $h (result (ref $ct))
      (resume $ct (on $yield $h) (cont.new $ct (ref.func $victim)))
      (unreachable)))

  (func $finish (export "finish") (param $k (ref null $ct)) (result i32)
    (resume $ct (local.get $k)))

  ;; (a) The holder, suspended, is the only one to know the victim.
  (func (export "put-a")
    (block $h (result (ref $ct))
      (resume $hct (on $yield $h) (call $make) (cont.new $hct (ref.func $holder)))
      (unreachable))
    (global.set $in-holder))
  (func (export "take-a") (result i32)
    (call $finish (global.get $in-holder))
    (global.set $in-holder (ref.null $ct)))
  (func (export "drop-a") (global.set $in-holder (ref.null $ct)))

  ;; (b) A struct field.
  (func (export "put-b")
    (global.set $in-struct (struct.new $cbox (call $make))))
  (func (export "take-b") (result i32)
    (call $finish (struct.get $cbox 0 (global.get $in-struct)))
    (struct.set $cbox 0 (global.get $in-struct) (ref.null $ct)))
  (func (export "drop-b")
    (struct.set $cbox 0 (global.get $in-struct) (ref.null $ct)))

  ;; (c) An array element.
  (func (export "put-c")
    (global.set $in-array (array.new_default $carr (i32.const 5)))
    (array.set $carr (global.get $in-array) (i32.const 3) (call $make)))
  (func (export "take-c") (result i32)
    (call $finish (array.get $carr (global.get $in-array) (i32.const 3)))
    (global.set $in-array (ref.null $carr)))
  (func (export "drop-c") (global.set $in-array (ref.null $carr)))

  ;; (d) A table.
  (func (export "put-d") (table.set $in-table (i32.const 5) (call $make)))
  (func (export "take-d") (result i32)
    (call $finish (table.get $in-table (i32.const 5)))
    (table.set $in-table (i32.const 5) (ref.null $ct)))
  (func (export "drop-d") (table.set $in-table (i32.const 5) (ref.null $ct)))

  ;; (e) A global.
  (func (export "put-e") (global.set $in-global (call $make)))
  (func (export "take-e") (result i32)
    (call $finish (global.get $in-global))
    (global.set $in-global (ref.null $ct)))
  (func (export "drop-e") (global.set $in-global (ref.null $ct)))

  ;; (f) The payload of an exception, caught with its reference and
  ;; rethrown later.
  (func (export "put-f")
    (block $caught (result (ref null $ct) exnref)
      (try_table (catch_ref $carry $caught) (throw $carry (call $make)))
      (unreachable))
    (global.set $in-exn)
    (drop))
  (func (export "take-f") (result i32)
    (block $h (result (ref null $ct))
      (try_table (catch $carry $h) (throw_ref (global.get $in-exn)))
      (unreachable))
    (global.set $in-exn (ref.null exn))
    (call $finish))
  (func (export "drop-f") (global.set $in-exn (ref.null exn)))

  ;; (h) An argument bound by `cont.bind` to a fresh holder.
  (func (export "put-h")
    (global.set $in-bound
      (cont.bind $hct $ct (call $make) (cont.new $hct (ref.func $finish)))))
  (func (export "take-h") (result i32)
    (call $finish (global.get $in-bound))
    (global.set $in-bound (ref.null $ct)))
  (func (export "drop-h") (global.set $in-bound (ref.null $ct)))

  ;; A victim resumed through a reference kept after it was used: the
  ;; continuation suspends again, nothing keeps its new reference, and it
  ;; is reclaimed; the old reference stays consumed.
  (global $stale (mut (ref null $ct)) (ref.null $ct))
  (func (export "make-stale")
    (block $h (result (ref $ct))
      (resume $ct (on $yield $h) (cont.new $ct (ref.func $twice)))
      (unreachable))
    (global.set $stale)
    (block $h (result (ref $ct))
      (resume $ct (on $yield $h) (global.get $stale))
      (unreachable))
    (drop))
  (func (export "use-stale") (result i32) (call $finish (global.get $stale)))

  ;; Many victims abandoned after their first suspension, one in `keep`
  ;; kept in the table until the end; returns the sum of what the kept
  ;; ones return.
  (func (export "abandon") (param $n i32) (param $keep i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (if (i32.eqz (i32.rem_u (local.get $i) (local.get $keep)))
        (then (table.set $in-table (i32.const 7) (call $make)))
        (else (drop (call $make))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (call $finish (table.get $in-table (i32.const 7))))
)

(assert_return (invoke "put-a"))
(invoke "churn" (i32.const 20000))
(assert_return (invoke "take-a") (i32.const 1))
(assert_return (invoke "put-b"))
(invoke "churn" (i32.const 20000))
(assert_return (invoke "take-b") (i32.const 2))
(assert_return (invoke "put-c"))
(invoke "churn" (i32.const 20000))
(assert_return (invoke "take-c") (i32.const 3))
(assert_return (invoke "put-d"))
(invoke "churn" (i32.const 20000))
(assert_return (invoke "take-d") (i32.const 4))
(assert_return (invoke "put-e"))
(invoke "churn" (i32.const 20000))
(assert_return (invoke "take-e") (i32.const 5))
(assert_return (invoke "put-f"))
(invoke "churn" (i32.const 20000))
(assert_return (invoke "take-f") (i32.const 6))
(assert_return (invoke "put-h"))
(invoke "churn" (i32.const 20000))
(assert_return (invoke "take-h") (i32.const 7))
(assert_return (invoke "make-stale"))
(invoke "churn" (i32.const 20000))
(assert_trap (invoke "use-stale") "continuation already consumed")
(assert_return (invoke "abandon" (i32.const 5000) (i32.const 1000)) (i32.const 4008))
