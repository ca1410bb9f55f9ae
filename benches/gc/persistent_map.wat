;; A persistent (immutable) binary search tree, the way functional
;; languages keep maps: every insertion copies the path from the root to
;; the new leaf and leaves the old version to the collector. `run n`
;; inserts n pseudo-random keys (a linear congruential generator) into a
;; map of at most 65,536 keys, keeping each version only until the next,
;; and then looks every key up; it returns the sum of the values found
;; plus the tree's size (wrapping, as an i32).
;; fxbench: run 2000000 = -2065895838
(module
  (type $node (struct (field $key i32) (field $value i32)
                      (field $left (ref null $node)) (field $right (ref null $node))))

  (global $seed (mut i32) (i32.const 12345))
  (func $next (result i32)
    (global.set $seed (i32.add (i32.mul (global.get $seed) (i32.const 1103515245)) (i32.const 12345)))
    (i32.and (i32.shr_u (global.get $seed) (i32.const 8)) (i32.const 0xffff)))

  ;; The tree with `key` bound to `value`: a new path, shared subtrees.
  (func $insert (param $t (ref null $node)) (param $key i32) (param $value i32) (result (ref $node))
    (local $k i32)
    (if (ref.is_null (local.get $t))
      (then (return (struct.new $node (local.get $key) (local.get $value) (ref.null $node) (ref.null $node)))))
    (local.set $k (struct.get $node $key (local.get $t)))
    (if (i32.lt_s (local.get $key) (local.get $k))
      (then (return (struct.new $node (local.get $k) (struct.get $node $value (local.get $t))
        (call $insert (struct.get $node $left (local.get $t)) (local.get $key) (local.get $value))
        (struct.get $node $right (local.get $t))))))
    (if (i32.gt_s (local.get $key) (local.get $k))
      (then (return (struct.new $node (local.get $k) (struct.get $node $value (local.get $t))
        (struct.get $node $left (local.get $t))
        (call $insert (struct.get $node $right (local.get $t)) (local.get $key) (local.get $value))))))
    (struct.new $node (local.get $key) (local.get $value)
      (struct.get $node $left (local.get $t)) (struct.get $node $right (local.get $t))))

  (func $lookup (param $t (ref null $node)) (param $key i32) (result i32)
    (local $k i32)
    (loop $walk
      (if (ref.is_null (local.get $t)) (then (return (i32.const 0))))
      (local.set $k (struct.get $node $key (local.get $t)))
      (if (i32.eq (local.get $key) (local.get $k))
        (then (return (struct.get $node $value (local.get $t)))))
      (local.set $t (if (result (ref null $node)) (i32.lt_s (local.get $key) (local.get $k))
        (then (struct.get $node $left (local.get $t)))
        (else (struct.get $node $right (local.get $t)))))
      (br $walk))
    (unreachable))

  (func $size (param $t (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (local.get $t))
      (then (i32.const 0))
      (else (i32.add (i32.const 1)
        (i32.add (call $size (struct.get $node $left (local.get $t)))
                 (call $size (struct.get $node $right (local.get $t))))))))

  (func (export "run") (param $n i32) (result i32)
    (local $map (ref null $node)) (local $i i32) (local $sum i32)
    (loop $inserts
      (local.set $map (call $insert (local.get $map) (call $next) (local.get $i)))
      (br_if $inserts (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $lookups
      (local.set $sum (i32.add (local.get $sum) (call $lookup (local.get $map) (local.get $i))))
      (br_if $lookups (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 65536))))
    (i32.add (local.get $sum) (call $size (local.get $map)))))
