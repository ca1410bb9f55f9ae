;; A small function that resumes is inlined into its callers, and the
;; handler list of its resume is then built once before the outermost
;; loop around the call instead of on every iteration (fxtime-cranelift's
;; `inlining`). Calls in a loop under a branch, in a loop nested in
;; another, in two loops in a row and outside any loop all see every
;; value of the generator, then its end.

(module
  (type $g (func))
  (type $k (cont $g))
  (tag $yield (param i32))
  (tag $stop)
  (global $limit (mut i32) (i32.const 0))
  (global $k (mut (ref null $k)) (ref.null $k))

  ;; Yields 1, 2, ..., $limit, then returns.
  (func $gen (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.gt_s (local.get $i) (global.get $limit)) (then (return)))
      (suspend $yield (local.get $i))
      (br $l)))
  (elem declare func $gen)

  (func $start (param $n i32)
    (global.set $limit (local.get $n))
    (global.set $k (cont.new $k (ref.func $gen))))

  ;; The generator's next value, or -1 once it has ended.
  (func $next (result i32)
    (block $done
      (block $on_yield (result i32 (ref $k))
        (block $on_stop (result (ref $k))
          (resume $k (on $yield $on_yield) (on $stop $on_stop)
            (ref.as_non_null (global.get $k)))
          (br $done))
        (drop)
        (br $done))
      (global.set $k)
      (return))
    (global.set $k (ref.null $k))
    (i32.const -1))

  (func (export "sum_if") (param $n i32) (param $go i32) (result i32)
    (local $s i32) (local $v i32)
    (call $start (local.get $n))
    (if (local.get $go)
      (then
        (loop $l
          (local.set $v (call $next))
          (if (i32.ge_s (local.get $v) (i32.const 0))
            (then
              (local.set $s (i32.add (local.get $s) (local.get $v)))
              (br $l))))))
    (local.get $s))

  (func (export "nested") (param $m i32) (param $n i32) (result i32)
    (local $s i32) (local $v i32)
    (loop $outer
      (if (local.get $m)
        (then
          (call $start (local.get $n))
          (loop $inner
            (local.set $v (call $next))
            (if (i32.ge_s (local.get $v) (i32.const 0))
              (then
                (local.set $s (i32.add (local.get $s) (local.get $v)))
                (br $inner))))
          (local.set $m (i32.sub (local.get $m) (i32.const 1)))
          (br $outer))))
    (local.get $s))

  ;; The first value outside a loop, the rest in one loop, then a second
  ;; generator doubled in another: 1 + (2 + 3 + 4) + 2 * (1 + 2 + 3 + 4).
  (func (export "two_loops") (param $n i32) (result i32)
    (local $s i32) (local $v i32)
    (call $start (local.get $n))
    (local.set $s (call $next))
    (loop $first
      (local.set $v (call $next))
      (if (i32.ge_s (local.get $v) (i32.const 0))
        (then
          (local.set $s (i32.add (local.get $s) (local.get $v)))
          (br $first))))
    (call $start (local.get $n))
    (loop $second
      (local.set $v (call $next))
      (if (i32.ge_s (local.get $v) (i32.const 0))
        (then
          (local.set $s (i32.add (local.get $s) (i32.mul (local.get $v) (i32.const 2))))
          (br $second))))
    (local.get $s))
)

(assert_return (invoke "sum_if" (i32.const 10) (i32.const 1)) (i32.const 55))
(assert_return (invoke "sum_if" (i32.const 10) (i32.const 0)) (i32.const 0))
(assert_return (invoke "sum_if" (i32.const 0) (i32.const 1)) (i32.const 0))
(assert_return (invoke "nested" (i32.const 3) (i32.const 4)) (i32.const 30))
(assert_return (invoke "nested" (i32.const 1000) (i32.const 3)) (i32.const 6000))
(assert_return (invoke "two_loops" (i32.const 4)) (i32.const 30))
