;; Tail calls run in constant stack: 100 million mutually recursive calls,
;; direct and through a table, would need gigabytes of stack otherwise.

(module
  (type $step (func (param i64 i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $even_indirect $odd_indirect)

  ;; Counts down n, adding 1 to acc at every step, alternating functions.
  (func $even (export "even") (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $odd (i64.sub (local.get $n) (i64.const 1))
                              (i64.add (local.get $acc) (i64.const 1))))))
  (func $odd (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $even (i64.sub (local.get $n) (i64.const 1))
                               (i64.add (local.get $acc) (i64.const 1))))))

  (func $even_indirect (export "even_indirect") (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call_indirect (type $step)
              (i64.sub (local.get $n) (i64.const 1))
              (i64.add (local.get $acc) (i64.const 2))
              (i32.const 1)))))
  (func $odd_indirect (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call_indirect (type $step)
              (i64.sub (local.get $n) (i64.const 1))
              (i64.add (local.get $acc) (i64.const 2))
              (i32.const 0)))))

  ;; A tail call whose callee has more parameters than the caller: the
  ;; frame must grow in place.
  (func $wide (param i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
    (i64.add (local.get 0) (local.get 8)))
  (func (export "widen") (param i64) (result i64)
    (return_call $wide (local.get 0) (i64.const 0) (i64.const 0) (i64.const 0)
      (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 5)))

  ;; Non-tail recursion of the same depth still exhausts the stack.
  (func $deep (export "deep") (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.const 0))
      (else (i64.add (call $deep (i64.sub (local.get $n) (i64.const 1))) (i64.const 1)))))
)

(assert_return (invoke "even" (i64.const 100000000) (i64.const 0)) (i64.const 100000000))
(assert_return (invoke "even_indirect" (i64.const 10000000) (i64.const 0)) (i64.const 20000000))
(assert_return (invoke "widen" (i64.const 37)) (i64.const 42))
(assert_exhaustion (invoke "deep" (i64.const 100000000)) "call stack exhausted")
