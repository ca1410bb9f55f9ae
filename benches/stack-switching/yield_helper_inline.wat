;; yield_helper.wat with the driver's resume written out in its loop
;; instead of in a function it calls: the generator's helper $yield still
;; returns after each resume, but nothing on the driver's side returns in
;; between, so every return finds its own address on top of the return
;; stack buffer. The difference between the two programs is what the
;; mispredicted returns cost.
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
  (func (export "_start")
    (local $k (ref $c)) (local $n i32) (local $sum i64) (local $v i64)
    (local.set $k (cont.new $c (ref.func $body)))
    (loop $drive
      (block $on_yield (result i64 (ref $c))
        (resume $c (on $yield $on_yield) (local.get $k))
        (unreachable))
      (local.set $k)
      (local.set $v)
      (local.set $sum (i64.add (local.get $sum) (local.get $v)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $drive (i32.lt_u (local.get $n) (i32.const 20000000))))
    (if (i64.ne (local.get $sum) (i64.const 199999990000000)) (then unreachable))))
