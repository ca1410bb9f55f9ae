;; The memory64 version of the cpu suite's matmul.wat: the same 300x300 f64
;; matrix multiply in a 64-bit linear memory, with every address an i64:
;; loads, stores and float arithmetic. Entries are small integers, so the
;; sum of the product, 129601200, is exact.
(module
  (memory i64 34)
  (global $n i64 (i64.const 300))
  ;; Matrices A, B and C of n*n f64 each, one after the other.
  (func $addr (param $m i64) (param $i i64) (param $j i64) (result i64)
    (i64.shl
      (i64.add (i64.mul (local.get $m) (i64.mul (global.get $n) (global.get $n)))
               (i64.add (i64.mul (local.get $i) (global.get $n)) (local.get $j)))
      (i64.const 3)))
  (func $init (local $i i64) (local $j i64)
    (loop $rows
      (local.set $j (i64.const 0))
      (loop $cols
        (f64.store (call $addr (i64.const 0) (local.get $i) (local.get $j))
          (f64.convert_i64_u (i64.rem_u (i64.add (local.get $i) (local.get $j)) (i64.const 7))))
        (f64.store (call $addr (i64.const 1) (local.get $i) (local.get $j))
          (f64.convert_i64_u (i64.rem_u (i64.mul (local.get $i) (local.get $j)) (i64.const 5))))
        (br_if $cols (i64.lt_u (local.tee $j (i64.add (local.get $j) (i64.const 1))) (global.get $n))))
      (br_if $rows (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (global.get $n)))))
  (func $multiply (local $i i64) (local $j i64) (local $k i64) (local $acc f64)
    (loop $rows
      (local.set $j (i64.const 0))
      (loop $cols
        (local.set $acc (f64.const 0))
        (local.set $k (i64.const 0))
        (loop $dot
          (local.set $acc (f64.add (local.get $acc)
            (f64.mul (f64.load (call $addr (i64.const 0) (local.get $i) (local.get $k)))
                     (f64.load (call $addr (i64.const 1) (local.get $k) (local.get $j))))))
          (br_if $dot (i64.lt_u (local.tee $k (i64.add (local.get $k) (i64.const 1))) (global.get $n))))
        (f64.store (call $addr (i64.const 2) (local.get $i) (local.get $j)) (local.get $acc))
        (br_if $cols (i64.lt_u (local.tee $j (i64.add (local.get $j) (i64.const 1))) (global.get $n))))
      (br_if $rows (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (global.get $n)))))
  (func $sum (result f64) (local $i i64) (local $s f64)
    (loop $all
      (local.set $s (f64.add (local.get $s)
        (f64.load (call $addr (i64.const 2) (i64.const 0) (local.get $i)))))
      (br_if $all (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1)))
                            (i64.mul (global.get $n) (global.get $n)))))
    (local.get $s))
  (func (export "_start")
    (call $init)
    (call $multiply)
    (if (f64.ne (call $sum) (f64.const 129601200))
      (then unreachable))))
