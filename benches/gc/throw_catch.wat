;; Exceptions are collected: `run n` throws n exceptions, each carrying
;; an i32 and a struct, catches each one frame up and checks the struct
;; against the i32; it returns the number that matched. Peak memory must
;; not grow with n.
;; fxbench: run 1000000 = 1000000
;; fxbench: run 10000000 = 10000000
(module
  (tag $e (param i32 anyref))
  (type $s (struct (field i32)))
  (func $thrower (param i32)
    (throw $e (local.get 0) (struct.new $s (local.get 0))))
  (func (export "run") (param $n i32) (result i32)
    (local $sum i32) (local $v i32) (local $obj anyref)
    (loop $l
      (block $h (result i32 anyref)
        (try_table (catch $e $h) (call $thrower (local.get $n)))
        (unreachable))
      (local.set $obj)
      (local.set $v)
      (local.set $sum (i32.add (local.get $sum)
        (i32.eq (local.get $v) (struct.get $s 0 (ref.cast (ref $s) (local.get $obj))))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum)))
