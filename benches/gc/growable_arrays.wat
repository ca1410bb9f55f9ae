;; Growable arrays of boxed values, as dynamic languages keep their
;; lists: `run n` builds n lists of 1,000 boxed integers each, pushing one
;; at a time into an array that doubles (array.new_default + array.copy)
;; when full, keeps every 16th list in a table of 64 (overwriting the
;; oldest), and sums each list through array.get and struct.get. Returns
;; the sum of all lists' sums (wrapping, as an i32).
;; fxbench: run 20000 = -473397504
(module
  (type $box (struct (field i32)))
  (type $items (array (mut (ref null $box))))
  (type $list (struct (field $items (mut (ref $items))) (field $len (mut i32))))
  (table $kept 64 (ref null $list))

  (func $push (param $l (ref $list)) (param $v i32)
    (local $items (ref $items)) (local $len i32) (local $grown (ref $items))
    (local.set $items (struct.get $list $items (local.get $l)))
    (local.set $len (struct.get $list $len (local.get $l)))
    (if (i32.eq (local.get $len) (array.len (local.get $items)))
      (then
        (local.set $grown (array.new_default $items (i32.shl (local.get $len) (i32.const 1))))
        (array.copy $items $items (local.get $grown) (i32.const 0) (local.get $items) (i32.const 0) (local.get $len))
        (struct.set $list $items (local.get $l) (local.get $grown))
        (local.set $items (local.get $grown))))
    (array.set $items (local.get $items) (local.get $len) (struct.new $box (local.get $v)))
    (struct.set $list $len (local.get $l) (i32.add (local.get $len) (i32.const 1))))

  (func $sum (param $l (ref $list)) (result i32)
    (local $items (ref $items)) (local $i i32) (local $sum i32)
    (local.set $items (struct.get $list $items (local.get $l)))
    (loop $each
      (local.set $sum (i32.add (local.get $sum)
        (struct.get $box 0 (array.get $items (local.get $items) (local.get $i)))))
      (br_if $each (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
        (struct.get $list $len (local.get $l)))))
    (local.get $sum))

  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $l (ref $list)) (local $total i32)
    (loop $lists
      (local.set $l (struct.new $list (array.new_default $items (i32.const 4)) (i32.const 0)))
      (local.set $j (i32.const 0))
      (loop $pushes
        (call $push (local.get $l) (i32.add (local.get $i) (local.get $j)))
        (br_if $pushes (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 1000))))
      (if (i32.eqz (i32.and (local.get $i) (i32.const 15)))
        (then (table.set $kept (i32.and (i32.shr_u (local.get $i) (i32.const 4)) (i32.const 63)) (local.get $l))))
      (local.set $total (i32.add (local.get $total) (call $sum (local.get $l))))
      (br_if $lists (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $total)))
