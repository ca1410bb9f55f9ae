;; 20,000,000 suspend/resume pairs with one continuation, as in
;; suspend_resume, but the resumer alternates between two `resume` sites in
;; the same function (each with its own (on $yield ...) handler block):
;; site A resumes the even-numbered suspensions, site B the odd ones.
;; $body suspends 20,000,000 times, then returns its loop count.
;; Checks the count of each site (10,000,000) and the returned count.
(module
  (type $f (func (result i32)))
  (type $c (cont $f))
  (tag $yield)
  (func $body (result i32)
    (local $i i32)
    (loop $again
      (suspend $yield)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 20000000))))
    (local.get $i))
  (elem declare func $body)
  (func (export "_start")
    (local $k (ref null $c)) (local $a i32) (local $b i32) (local $ret i32)
    (local.set $k (cont.new $c (ref.func $body)))
    (block $done
      (loop $next
        ;; site A
        (block $on_yield_a (result (ref $c))
          (local.set $ret (resume $c (on $yield $on_yield_a) (local.get $k)))
          (br $done))
        (local.set $k)
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        ;; site B
        (block $on_yield_b (result (ref $c))
          (local.set $ret (resume $c (on $yield $on_yield_b) (local.get $k)))
          (br $done))
        (local.set $k)
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $next)))
    (if (i32.ne (local.get $a) (i32.const 10000000)) (then unreachable))
    (if (i32.ne (local.get $b) (i32.const 10000000)) (then unreachable))
    (if (i32.ne (local.get $ret) (i32.const 20000000)) (then unreachable))))
