;; The memory64 version of the cpu suite's sieve.wat: the same Sieve of
;; Eratosthenes over the numbers below 50,000,000, one byte each in a 64-bit
;; linear memory, with every address an i64: there are 3,001,134 primes.
(module
  (memory i64 763)
  (global $limit i64 (i64.const 50000000))
  (func (export "_start") (local $i i64) (local $j i64) (local $count i32)
    ;; Mark every number composite-free (1), then strike out multiples.
    (memory.fill (i64.const 0) (i32.const 1) (global.get $limit))
    (local.set $i (i64.const 2))
    (loop $outer
      (if (i32.load8_u (local.get $i))
        (then
          (local.set $j (i64.mul (local.get $i) (local.get $i)))
          (block $done
            (loop $inner
              (br_if $done (i64.ge_u (local.get $j) (global.get $limit)))
              (i32.store8 (local.get $j) (i32.const 0))
              (local.set $j (i64.add (local.get $j) (local.get $i)))
              (br $inner)))))
      (br_if $outer (i64.le_u (i64.mul (local.tee $i (i64.add (local.get $i) (i64.const 1)))
                                       (local.get $i))
                              (global.get $limit))))
    (local.set $i (i64.const 2))
    (loop $tally
      (local.set $count (i32.add (local.get $count) (i32.load8_u (local.get $i))))
      (br_if $tally (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (global.get $limit))))
    (if (i32.ne (local.get $count) (i32.const 3001134))
      (then unreachable))))
