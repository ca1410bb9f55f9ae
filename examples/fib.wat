;; A sample program: `fxtime run --invoke fib examples/fib.wat 30` prints
;; 832040, and `fxtime run examples/fib.wat` checks fib(20) in `_start`.
(module $sample
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "_start")
    (if (i32.ne (call $fib (i32.const 20)) (i32.const 6765))
      (then unreachable))))
