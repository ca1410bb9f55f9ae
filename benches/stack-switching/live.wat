;; 1,000,000 continuations suspended at the same time: each is created and
;; resumed once (it suspends, passing its index), kept in a table, and once
;; all exist, each is resumed to completion (it returns its index + 1).
;; Checks that every continuation came back with the right values.
(module
  (type $f (func (param i32) (result i32)))
  (type $c (cont $f))
  (type $rf (func (result i32)))
  (type $rc (cont $rf))
  (tag $parked (param i32))
  (table $live 1000000 (ref null $rc))
  (func $body (param $i i32) (result i32)
    (suspend $parked (local.get $i))
    (i32.add (local.get $i) (i32.const 1)))
  (elem declare func $body)
  (func (export "_start")
    (local $i i32) (local $sum i64) (local $k (ref null $rc))
    (loop $create
      (block $on_parked (result i32 (ref $rc))
        (resume $c (on $parked $on_parked) (local.get $i) (cont.new $c (ref.func $body)))
        (unreachable))
      (local.set $k)
      (if (i32.ne (local.get $i)) (then unreachable))
      (table.set $live (local.get $i) (local.get $k))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $create (i32.lt_u (local.get $i) (i32.const 1000000))))
    (local.set $i (i32.const 0))
    (loop $finish
      (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u
        (resume $rc (table.get $live (local.get $i))))))
      (table.set $live (local.get $i) (ref.null $rc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $finish (i32.lt_u (local.get $i) (i32.const 1000000))))
    ;; sum of (i + 1) for i < 1e6
    (if (i64.ne (local.get $sum) (i64.const 500000500000))
      (then unreachable))))
