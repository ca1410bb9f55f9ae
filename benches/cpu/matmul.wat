;; 300x300 f64 matrix multiply in linear memory: loads, stores and float
;; arithmetic. Entries are small integers, so the sum of the product,
;; 129601200, is exact.
(module
  (memory 34)
  (global $n i32 (i32.const 300))
  ;; Matrices A, B and C of n*n f64 each, one after the other.
  (func $addr (param $m i32) (param $i i32) (param $j i32) (result i32)
    (i32.shl
      (i32.add (i32.mul (local.get $m) (i32.mul (global.get $n) (global.get $n)))
               (i32.add (i32.mul (local.get $i) (global.get $n)) (local.get $j)))
      (i32.const 3)))
  (func $init (local $i i32) (local $j i32)
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $cols
        (f64.store (call $addr (i32.const 0) (local.get $i) (local.get $j))
          (f64.convert_i32_u (i32.rem_u (i32.add (local.get $i) (local.get $j)) (i32.const 7))))
        (f64.store (call $addr (i32.const 1) (local.get $i) (local.get $j))
          (f64.convert_i32_u (i32.rem_u (i32.mul (local.get $i) (local.get $j)) (i32.const 5))))
        (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (global.get $n))))
      (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (global.get $n)))))
  (func $multiply (local $i i32) (local $j i32) (local $k i32) (local $acc f64)
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $cols
        (local.set $acc (f64.const 0))
        (local.set $k (i32.const 0))
        (loop $dot
          (local.set $acc (f64.add (local.get $acc)
            (f64.mul (f64.load (call $addr (i32.const 0) (local.get $i) (local.get $k)))
                     (f64.load (call $addr (i32.const 1) (local.get $k) (local.get $j))))))
          (br_if $dot (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (global.get $n))))
        (f64.store (call $addr (i32.const 2) (local.get $i) (local.get $j)) (local.get $acc))
        (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (global.get $n))))
      (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (global.get $n)))))
  (func $sum (result f64) (local $i i32) (local $s f64)
    (loop $all
      (local.set $s (f64.add (local.get $s)
        (f64.load (call $addr (i32.const 2) (i32.const 0) (local.get $i)))))
      (br_if $all (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                            (i32.mul (global.get $n) (global.get $n)))))
    (local.get $s))
  (func (export "_start")
    (call $init)
    (call $multiply)
    (if (f64.ne (call $sum) (f64.const 129601200))
      (then unreachable))))
