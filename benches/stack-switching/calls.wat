;; The baseline: 100,000,000 plain calls in a loop, no continuations.
;; The callee adds its argument to a global and returns a value computed
;; from it (x xor 1), which the loop adds to a sum, so neither the call
;; nor its result can be dropped.
;; Checks the global and the sum: both are 0 + 1 + ... + (n - 1)
;; = 4,999,999,950,000,000 (x xor 1 swaps 2k and 2k + 1).
(module
  (global $acc (mut i64) (i64.const 0))
  (func $step (param $x i64) (result i64)
    (global.set $acc (i64.add (global.get $acc) (local.get $x)))
    (i64.xor (local.get $x) (i64.const 1)))
  (func (export "_start")
    (local $i i64) (local $sum i64)
    (loop $next
      (local.set $sum (i64.add (local.get $sum) (call $step (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (i64.const 100000000))))
    (if (i64.ne (global.get $acc) (i64.const 4999999950000000)) (then unreachable))
    (if (i64.ne (local.get $sum) (i64.const 4999999950000000)) (then unreachable))))
