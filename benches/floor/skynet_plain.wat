;; The fiber-free floor of skynet: the same tree, 6 levels below the root,
;; 10 children per node, 1,000,000 leaves, as recursive calls: a leaf
;; returns its index, a node returns the sum of its 10 children.
;; Checks the root's sum: 0 + 1 + ... + 999,999 = 499,999,500,000.
(module
  (func $node (param $num i64) (param $size i64) (result i64)
    (local $sum i64) (local $i i64) (local $child i64)
    (if (i64.eq (local.get $size) (i64.const 1))
      (then (return (local.get $num))))
    (local.set $child (i64.div_u (local.get $size) (i64.const 10)))
    (loop $next
      (local.set $sum (i64.add (local.get $sum)
        (call $node
          (i64.add (local.get $num) (i64.mul (local.get $i) (local.get $child)))
          (local.get $child))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (i64.const 10))))
    (local.get $sum))
  (func (export "_start")
    (if (i64.ne (call $node (i64.const 0) (i64.const 1000000)) (i64.const 499999500000))
      (then unreachable))))
