;; c10m with abandonment: 10,000 coroutines alive at a time in a table of
;; slots, each made, resumed until it parks (8 calls deep), and later
;; resumed to completion (it returns 1) and replaced. Every tenth one is
;; instead replaced while parked, abandoned with its stack: `run n` makes
;; n coroutines in all and returns how many completed, n - (n - 10,000) /
;; 10. Peak memory must stay flat as n grows.
;; fxbench: run 1000000 = 901000
;; fxbench: run 10000000 = 9001000
(module
  (type $f (func (param i32) (result i32)))
  (type $c (cont $f))
  (type $rf (func (result i32)))
  (type $rc (cont $rf))
  (tag $park)
  (table $slots 10000 (ref null $rc))
  ;; Parks `depth` calls down; returns 1 once resumed.
  (func $descend (param $depth i32) (result i32)
    (if (result i32) (local.get $depth)
      (then (call $descend (i32.sub (local.get $depth) (i32.const 1))))
      (else (suspend $park) (i32.const 1))))
  (func $coroutine (param $depth i32) (result i32)
    (call $descend (local.get $depth)))
  (elem declare func $coroutine)
  (func $spawn (param $slot i32)
    (local $parked (ref null $rc))
    (block $on_park (result (ref $rc))
      (drop (resume $c (on $park $on_park) (i32.const 8) (cont.new $c (ref.func $coroutine))))
      (unreachable))
    (local.set $parked)
    (table.set $slots (local.get $slot) (local.get $parked)))
  (func $finish (param $slot i32) (result i32)
    (resume $rc (table.get $slots (local.get $slot))))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $slot i32) (local $done i32)
    (loop $fill
      (call $spawn (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 10000))))
    (loop $replace
      (local.set $slot (i32.rem_u (local.get $i) (i32.const 10000)))
      ;; Every tenth coroutine's successor takes its slot while it waits.
      (if (i32.rem_u (local.get $i) (i32.const 10))
        (then (local.set $done
          (i32.add (local.get $done) (call $finish (local.get $slot))))))
      (call $spawn (local.get $slot))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $replace (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $slot (i32.const 0))
    (loop $last
      (local.set $done (i32.add (local.get $done) (call $finish (local.get $slot))))
      (table.set $slots (local.get $slot) (ref.null $rc))
      (local.set $slot (i32.add (local.get $slot) (i32.const 1)))
      (br_if $last (i32.lt_u (local.get $slot) (i32.const 10000))))
    (local.get $done)))
