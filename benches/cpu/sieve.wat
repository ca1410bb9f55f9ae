;; Sieve of Eratosthenes over the numbers below 50,000,000, one byte each
;; in linear memory: there are 3,001,134 primes.
(module
  (memory 763)
  (global $limit i32 (i32.const 50000000))
  (func (export "_start") (local $i i32) (local $j i32) (local $count i32)
    ;; Mark every number composite-free (1), then strike out multiples.
    (memory.fill (i32.const 0) (i32.const 1) (global.get $limit))
    (local.set $i (i32.const 2))
    (loop $outer
      (if (i32.load8_u (local.get $i))
        (then
          (local.set $j (i32.mul (local.get $i) (local.get $i)))
          (block $done
            (loop $inner
              (br_if $done (i32.ge_u (local.get $j) (global.get $limit)))
              (i32.store8 (local.get $j) (i32.const 0))
              (local.set $j (i32.add (local.get $j) (local.get $i)))
              (br $inner)))))
      (br_if $outer (i32.le_u (i32.mul (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                       (local.get $i))
                              (global.get $limit))))
    (local.set $i (i32.const 2))
    (loop $tally
      (local.set $count (i32.add (local.get $count) (i32.load8_u (local.get $i))))
      (br_if $tally (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (global.get $limit))))
    (if (i32.ne (local.get $count) (i32.const 3001134))
      (then unreachable))))
