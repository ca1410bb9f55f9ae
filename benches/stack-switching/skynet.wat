;; Skynet: a tree of continuations 6 levels below the root, 10 children per
;; node, 1,000,000 leaves, 1,111,111 continuations in all. Every node is a
;; continuation of $node num size: a leaf (size 1) yields its index num;
;; an inner node makes its 10 children in turn (cont.new), resumes each
;; under an (on $yield ...) handler until it yields, adds the value to its
;; sum and resumes the child once more to let it return, then yields its
;; sum. The root is run the same way by _start.
;; Checks the root's sum: 0 + 1 + ... + 999,999 = 499,999,500,000.
(module
  (type $node_f (func (param i64 i64)))
  (type $node_c (cont $node_f))
  (type $done_f (func))
  (type $done_c (cont $done_f))
  (tag $yield (param i64))
  ;; runs a new node to its yield, finishes it, returns what it yielded
  (func $run (param $num i64) (param $size i64) (result i64)
    (local $v i64)
    (block $on_yield (result i64 (ref $done_c))
      (resume $node_c (on $yield $on_yield)
        (local.get $num) (local.get $size) (cont.new $node_c (ref.func $node)))
      (unreachable))
    ;; the node yields once, then returns
    (resume $done_c)
    (return))
  (func $node (param $num i64) (param $size i64)
    (local $sum i64) (local $i i64) (local $child i64)
    (if (i64.eq (local.get $size) (i64.const 1))
      (then (suspend $yield (local.get $num)) (return)))
    (local.set $child (i64.div_u (local.get $size) (i64.const 10)))
    (loop $next
      (local.set $sum (i64.add (local.get $sum)
        (call $run
          (i64.add (local.get $num) (i64.mul (local.get $i) (local.get $child)))
          (local.get $child))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (i64.const 10))))
    (suspend $yield (local.get $sum)))
  (elem declare func $node)
  (func (export "_start")
    (if (i64.ne (call $run (i64.const 0) (i64.const 1000000)) (i64.const 499999500000))
      (then unreachable))))
