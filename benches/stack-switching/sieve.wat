;; Sieve of Eratosthenes with one filter coroutine per prime: $gen yields
;; 2, 3, 4, ...; $filter p src pulls numbers from src (resuming it under an
;; (on $yield ...) handler) and yields those not divisible by p. The main
;; loop pulls a prime from the last filter of the chain and puts a new
;; filter for it at the end of the chain, so each candidate is passed along
;; the chain of filters (nested resumes, one per filter it gets through)
;; until a filter drops it or it comes out as a prime. Filters are made
;; with cont.new + cont.bind (of p and the source).
;; Runs to the first 8,100 primes; checks that the 8,100th is 82,891 and
;; that their sum is 317,911,727.
(module
  (type $f (func (result i32)))
  (type $c (cont $f))
  (type $gen_f (func (param i32) (result i32)))
  (type $gen_c (cont $gen_f))
  (type $filter_f (func (param i32 (ref $c)) (result i32)))
  (type $filter_c (cont $filter_f))
  (tag $yield (param i32))
  (func $gen (param $n i32) (result i32)
    (loop $next
      (suspend $yield (local.get $n))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next))
    (unreachable))
  (func $filter (param $p i32) (param $src (ref $c)) (result i32)
    (local $n i32) (local $k (ref null $c))
    (local.set $k (local.get $src))
    (loop $next
      (block $on_yield (result i32 (ref $c))
        ;; sources never return
        (drop (resume $c (on $yield $on_yield) (local.get $k)))
        (unreachable))
      (local.set $k)
      (local.set $n)
      (if (i32.rem_u (local.get $n) (local.get $p))
        (then (suspend $yield (local.get $n))))
      (br $next))
    (unreachable))
  (elem declare func $gen $filter)
  (func (export "_start")
    (local $src (ref null $c)) (local $p i32) (local $count i32) (local $sum i64)
    (local.set $src
      (cont.bind $gen_c $c (i32.const 2) (cont.new $gen_c (ref.func $gen))))
    (loop $next
      (block $on_yield (result i32 (ref $c))
        (drop (resume $c (on $yield $on_yield) (local.get $src)))
        (unreachable))
      (local.set $src)
      (local.set $p)
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $p))))
      (if (i32.lt_u (local.get $count) (i32.const 8100))
        (then
          (local.set $src
            (cont.bind $filter_c $c (local.get $p) (ref.as_non_null (local.get $src))
              (cont.new $filter_c (ref.func $filter))))
          (br $next))))
    (if (i32.ne (local.get $p) (i32.const 82891)) (then unreachable))
    (if (i64.ne (local.get $sum) (i64.const 317911727)) (then unreachable))))
