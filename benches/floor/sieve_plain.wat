;; The fiber-free floor of sieve: the same chain of filters as a list of
;; the primes found so far (in linear memory); each candidate 2, 3, 4, ...
;; is passed along the list, filter by filter, until a prime divides it or
;; it gets through all of them and is added as a new filter: the same
;; divisions as sieve, with no continuations.
;; Runs to the first 8,100 primes; checks that the 8,100th is 82,891 and
;; that their sum is 317,911,727.
(module
  (memory 1)  ;; 8,100 primes x 4 bytes
  (func (export "_start")
    (local $n i32) (local $i i32) (local $count i32) (local $sum i64)
    (local.set $n (i32.const 2))
    (loop $candidate
      (block $dropped
        ;; pass $n along the filters
        (local.set $i (i32.const 0))
        (block $through
          (loop $filter
            (br_if $through (i32.ge_u (local.get $i) (local.get $count)))
            (br_if $dropped (i32.eqz (i32.rem_u (local.get $n)
              (i32.load (i32.shl (local.get $i) (i32.const 2))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $filter)))
        ;; a prime: a new filter at the end of the chain
        (i32.store (i32.shl (local.get $count) (i32.const 2)) (local.get $n))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $candidate (i32.lt_u (local.get $count) (i32.const 8100))))
    (if (i32.ne (i32.load (i32.const 32396)) (i32.const 82891)) (then unreachable))
    (if (i64.ne (local.get $sum) (i64.const 317911727)) (then unreachable))))
