;; 20,000,000 suspend/resume pairs with one continuation: $body suspends
;; with $yield in a loop; the resumer resumes it each time with an
;; (on $yield $on_yield) handler and counts the suspensions. After the last
;; one, a final resume lets $body return its own loop count.
;; Checks that both counts are 20,000,000.
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
    (local $k (ref null $c)) (local $n i32) (local $ret i32)
    (local.set $k (cont.new $c (ref.func $body)))
    (block $done
      (loop $next
        (block $on_yield (result (ref $c))
          (local.set $ret (resume $c (on $yield $on_yield) (local.get $k)))
          (br $done))
        (local.set $k)
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (if (i32.ne (local.get $n) (i32.const 20000000)) (then unreachable))
    (if (i32.ne (local.get $ret) (i32.const 20000000)) (then unreachable))))
