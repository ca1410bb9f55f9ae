;; 20,000,000 round trips between a generator and its driver, each side
;; going through a function of its own, as fiber libraries do: the
;; generator's body calls a helper, $yield, that suspends with the next
;; value; the driver calls $next, which resumes the generator and returns
;; the value. Every return of $yield and $next comes after control has
;; been on the other stack (see ARCHITECTURE.md, "What the paths cost":
;; the return stack buffer). yield_helper_inline.wat is the same with the
;; resume written out in the driver's loop.
;; Checks the sum of the values, 0 + 1 + ... + 19,999,999 (mod 2^64).
(module
  (type $f (func))
  (type $c (cont $f))
  (tag $yield (param i64))
  (func $yield (param $v i64)
    (suspend $yield (local.get $v)))
  (func $body
    (local $i i64)
    (loop $again
      (call $yield (local.get $i))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $again)))
  (elem declare func $body)
  ;; Resumes the generator; its next value and the continuation.
  (func $next (param $k (ref $c)) (result i64 (ref $c))
    (block $on_yield (result i64 (ref $c))
      (resume $c (on $yield $on_yield) (local.get $k))
      (unreachable)))
  (func (export "_start")
    (local $k (ref $c)) (local $n i32) (local $sum i64) (local $v i64)
    (local.set $k (cont.new $c (ref.func $body)))
    (loop $drive
      (call $next (local.get $k))
      (local.set $k)
      (local.set $v)
      (local.set $sum (i64.add (local.get $sum) (local.get $v)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $drive (i32.lt_u (local.get $n) (i32.const 20000000))))
    (if (i64.ne (local.get $sum) (i64.const 199999990000000)) (then unreachable))))
