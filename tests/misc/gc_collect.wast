;; Objects stay intact across collections: in locals, on the operand stack,
;; in globals, tables, arrays and struct fields, and in the frames of
;; suspended continuations. Short-lived garbage between the steps forces
;; collections (every allocation collects under the stress mode).

(module
  (type $node (struct (field $v i32) (field $next (ref null $node))))
  (type $pair (struct (field (mut anyref)) (field (mut anyref))))
  (type $arr (array (mut anyref)))
  (type $bytes (array (mut i8)))
  (global $keep (mut anyref) (ref.null any))
  (table $t 4 anyref)

  (func $garbage (param $n i32)
    (loop $l
      (drop (struct.new $pair (ref.i31 (local.get $n)) (ref.null any)))
      (drop (array.new $arr (ref.null any) (i32.const 10)))
      (drop (array.new_default $bytes (i32.const 3000)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  (func $sum (param $head (ref null $node)) (result i32)
    (local $sum i32)
    (block $done
      (loop $walk
        (br_if $done (ref.is_null (local.get $head)))
        (local.set $sum (i32.add (local.get $sum) (struct.get $node $v (local.get $head))))
        (local.set $head (struct.get $node $next (local.get $head)))
        (br $walk)))
    (local.get $sum))

  ;; A list of n nodes, built with garbage made between nodes.
  (func $build (param $n i32) (result (ref null $node))
    (local $head (ref null $node)) (local $i i32)
    (loop $build
      (local.set $head (struct.new $node (local.get $i) (local.get $head)))
      (call $garbage (i32.const 20))
      (br_if $build (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $head))

  (func (export "list-in-local") (param $n i32) (result i32)
    (call $sum (call $build (local.get $n))))

  (func $mk (param i32) (result (ref null $node))
    (struct.new $node (local.get 0) (ref.null $node)))
  (func $get (param (ref null $node) i32) (result i32)
    (i32.add (struct.get $node $v (local.get 0)) (local.get 1)))

  ;; A struct of a concrete type on the operand stack across a call that
  ;; collects.
  (func (export "struct-on-stack") (result i32)
    (call $get (call $mk (i32.const 42))
      (block (result i32) (call $garbage (i32.const 100)) (i32.const 0))))

  (func $sum3 (param (ref null $node) i32 (ref null $node)) (result i32)
    (i32.add (call $sum (local.get 0))
      (i32.add (local.get 1) (call $sum (local.get 2)))))

  ;; Lists on the operand stack across calls that collect: the first
  ;; while garbage is made and the second list is built.
  (func (export "lists-on-stack") (result i32)
    (call $sum3
      (call $build (i32.const 10))
      (block (result i32) (call $garbage (i32.const 100)) (i32.const 0))
      (call $build (i32.const 20))))

  (func (export "list-in-global") (result i32)
    (global.set $keep (call $build (i32.const 30)))
    (call $garbage (i32.const 500))
    (call $sum (ref.cast (ref null $node) (global.get $keep))))

  (func (export "list-in-table") (result i32)
    (table.set $t (i32.const 2) (call $build (i32.const 40)))
    (call $garbage (i32.const 500))
    (call $sum (ref.cast (ref null $node) (table.get $t (i32.const 2)))))

  ;; An array of 100 lists, and a struct holding the array.
  (func (export "lists-in-array") (result i32)
    (local $a (ref $arr)) (local $p (ref $pair)) (local $i i32) (local $sum i32)
    (local.set $a (array.new $arr (ref.null any) (i32.const 100)))
    (local.set $p (struct.new $pair (local.get $a) (ref.i31 (i32.const 7))))
    (local.set $a (array.new $arr (ref.null any) (i32.const 1)))
    (loop $fill
      (array.set $arr (ref.cast (ref $arr) (struct.get $pair 0 (local.get $p)))
        (local.get $i) (call $build (i32.const 5)))
      (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
    (call $garbage (i32.const 500))
    (local.set $i (i32.const 0))
    (loop $walk
      (local.set $sum (i32.add (local.get $sum)
        (call $sum (ref.cast (ref null $node)
          (array.get $arr (ref.cast (ref $arr) (struct.get $pair 0 (local.get $p))) (local.get $i))))))
      (br_if $walk (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
    (i32.add (local.get $sum) (i31.get_u (ref.cast (ref i31) (struct.get $pair 1 (local.get $p))))))
)

(assert_return (invoke "list-in-local" (i32.const 200)) (i32.const 19900))
(assert_return (invoke "struct-on-stack") (i32.const 42))
(assert_return (invoke "lists-on-stack") (i32.const 235))
(assert_return (invoke "list-in-global") (i32.const 435))
(assert_return (invoke "list-in-table") (i32.const 780))
(assert_return (invoke "lists-in-array") (i32.const 1007))

(module
  ;; New objects stored into old ones (survivors of a collection) must
  ;; survive the next minor collection: the write barrier of struct.set,
  ;; array.set, array.fill, array.copy and array.init_elem.
  (type $box (struct (field $v i32)))
  (type $holder (struct (field (mut anyref))))
  (type $arr (array (mut anyref)))
  (type $junk (array (mut i64)))
  (elem $seg anyref (item (ref.i31 (i32.const 1))) (item (ref.i31 (i32.const 2))))

  (func $garbage (param $n i32)
    (loop $l
      (drop (array.new_default $junk (i32.const 100)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  (func $value (param anyref) (result i32)
    (struct.get $box $v (ref.cast (ref $box) (local.get 0))))

  (func (export "struct-set") (result i32)
    (local $h (ref $holder))
    (local.set $h (struct.new $holder (ref.null any)))
    (call $garbage (i32.const 20000))
    (struct.set $holder 0 (local.get $h) (struct.new $box (i32.const 11)))
    (call $garbage (i32.const 20000))
    (call $value (struct.get $holder 0 (local.get $h))))

  (func (export "array-set") (result i32)
    (local $a (ref $arr))
    (local.set $a (array.new $arr (ref.null any) (i32.const 3)))
    (call $garbage (i32.const 20000))
    (array.set $arr (local.get $a) (i32.const 1) (struct.new $box (i32.const 12)))
    (call $garbage (i32.const 20000))
    (call $value (array.get $arr (local.get $a) (i32.const 1))))

  (func (export "array-fill") (result i32)
    (local $a (ref $arr))
    (local.set $a (array.new $arr (ref.null any) (i32.const 3)))
    (call $garbage (i32.const 20000))
    (array.fill $arr (local.get $a) (i32.const 0) (struct.new $box (i32.const 13)) (i32.const 3))
    (call $garbage (i32.const 20000))
    (call $value (array.get $arr (local.get $a) (i32.const 2))))

  (func (export "array-copy") (result i32)
    (local $a (ref $arr)) (local $b (ref $arr))
    (local.set $a (array.new $arr (ref.null any) (i32.const 3)))
    (call $garbage (i32.const 20000))
    (local.set $b (array.new $arr (struct.new $box (i32.const 14)) (i32.const 3)))
    (array.copy $arr $arr (local.get $a) (i32.const 0) (local.get $b) (i32.const 0) (i32.const 3))
    (local.set $b (array.new $arr (ref.null any) (i32.const 1)))
    (call $garbage (i32.const 20000))
    (call $value (array.get $arr (local.get $a) (i32.const 0))))
)

(assert_return (invoke "struct-set") (i32.const 11))
(assert_return (invoke "array-set") (i32.const 12))
(assert_return (invoke "array-fill") (i32.const 13))
(assert_return (invoke "array-copy") (i32.const 14))
