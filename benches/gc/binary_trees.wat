;; binary-trees (the Computer Language Benchmarks Game's), on WasmGC
;; structs: many short-lived trees of depths 4, 6, ... n, one long-lived
;; tree of depth n, and a stretch tree of depth n + 1. `run n` returns the
;; sum of every tree's node count, which is known in closed form: a tree
;; of depth d has 2^(d+1) - 1 nodes.
;; fxbench: run 18 = 68332206
;; fxbench: run 21 = 613766494
(module
  (type $tree (struct (field $left (ref null $tree)) (field $right (ref null $tree))))

  (func $bottom_up (param $depth i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.eqz (local.get $depth))
      (then (struct.new $tree (ref.null $tree) (ref.null $tree)))
      (else
        (struct.new $tree
          (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))
          (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))))))

  (func $check (param $t (ref $tree)) (result i32)
    (local $left (ref null $tree))
    (local.set $left (struct.get $tree $left (local.get $t)))
    (if (result i32) (ref.is_null (local.get $left))
      (then (i32.const 1))
      (else
        (i32.add (i32.const 1)
          (i32.add
            (call $check (ref.as_non_null (local.get $left)))
            (call $check (ref.as_non_null (struct.get $tree $right (local.get $t)))))))))

  (func (export "run") (param $n i32) (result i32)
    (local $max i32) (local $long (ref null $tree)) (local $sum i32)
    (local $depth i32) (local $iterations i32) (local $i i32)
    (local.set $max (select (local.get $n) (i32.const 6) (i32.gt_u (local.get $n) (i32.const 6))))
    (local.set $sum (call $check (call $bottom_up (i32.add (local.get $max) (i32.const 1)))))
    (local.set $long (call $bottom_up (local.get $max)))
    (local.set $depth (i32.const 4))
    (block $done
      (loop $depths
        (br_if $done (i32.gt_u (local.get $depth) (local.get $max)))
        (local.set $iterations
          (i32.shl (i32.const 1) (i32.add (i32.sub (local.get $max) (local.get $depth)) (i32.const 4))))
        (local.set $i (i32.const 0))
        (loop $trees
          (local.set $sum (i32.add (local.get $sum) (call $check (call $bottom_up (local.get $depth)))))
          (br_if $trees (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $iterations))))
        (local.set $depth (i32.add (local.get $depth) (i32.const 2)))
        (br $depths)))
    (i32.add (local.get $sum) (call $check (ref.as_non_null (local.get $long))))))
