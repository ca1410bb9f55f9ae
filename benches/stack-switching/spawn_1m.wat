;; 1,000,000 continuations, each created with cont.new and resumed once
;; to completion (it adds its argument to a sum). With pooled stacks, peak
;; memory is the same for 1 M and 10 M: compare spawn_1m and spawn.
(module
  (type $f (func (param i64) (result i64)))
  (type $c (cont $f))
  (func $body (param $x i64) (result i64) (i64.add (local.get $x) (i64.const 1)))
  (elem declare func $body)
  (func (export "_start")
    (local $i i64) (local $sum i64)
    (loop $next
      (local.set $sum (i64.add (local.get $sum)
        (resume $c (local.get $i) (cont.new $c (ref.func $body)))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (i64.const 1000000))))
    ;; sum of (i + 1) for i < n = n (n + 1) / 2
    (if (i64.ne (local.get $sum)
                (i64.div_u (i64.mul (i64.const 1000000) (i64.const 1000001)) (i64.const 2)))
      (then unreachable))))
