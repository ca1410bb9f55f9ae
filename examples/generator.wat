;; A generator with stack switching: $naturals yields 1, 2, 3, ... from its
;; own stack; "sum" resumes it n times and adds up what it yields.
;;   fxtime run -W stack-switching --invoke sum examples/generator.wat 100
(module
  (type $gen (func))
  (type $k (cont $gen))
  (tag $yield (param i32))

  (func $naturals
    (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (suspend $yield (local.get $i))
      (br $next)))
  (elem declare func $naturals)

  (func (export "sum") (param $n i32) (result i32)
    (local $k (ref null $k)) (local $total i32)
    (local.set $k (cont.new $k (ref.func $naturals)))
    (loop $more
      (if (i32.gt_s (local.get $n) (i32.const 0))
        (then
          (block $on_yield (result i32 (ref $k))
            (resume $k (on $yield $on_yield) (local.get $k))
            (return (local.get $total)))
          (local.set $k)
          (local.set $total (i32.add (local.get $total)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $more))))
    (local.get $total)))
