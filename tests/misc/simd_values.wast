;; `v128` wherever a value can go: globals (defined, exported, imported),
;; parameters and results beyond the registers, calls through tables and
;; tail calls, block parameters, branch tables, loops, `select`, exception
;; payloads and exnrefs, and memory accesses at unaligned addresses and at
;; the edge of memory. Lane patterns make every value distinct, so a lane
;; lost or swapped on the way shows.

(module $provider
  (global (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (global (export "k") v128 (v128.const i64x2 0x1111222233334444 0x5555666677778888)))
(register "provider" $provider)

(module
  (import "provider" "g" (global $g (mut v128)))
  (import "provider" "k" (global $k v128))
  (global $own (mut v128) (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))
  (global $from_import v128 (global.get $k))

  (func (export "imported") (result v128) (global.get $g))
  (func (export "constant") (result v128) (global.get $from_import))
  (func (export "bump") (result v128)
    (global.set $g (i32x4.add (global.get $g) (v128.const i32x4 10 20 30 40)))
    (global.set $own (i8x16.add (global.get $own) (global.get $own)))
    (global.get $g))
  (func (export "own") (result v128) (global.get $own)))

(assert_return (invoke "imported") (v128.const i32x4 1 2 3 4))
(assert_return (invoke "constant") (v128.const i64x2 0x1111222233334444 0x5555666677778888))
(assert_return (invoke "bump") (v128.const i32x4 11 22 33 44))
(assert_return (invoke "bump") (v128.const i32x4 21 42 63 84))
(assert_return (invoke "own") (v128.const i8x16 0 4 8 12 16 20 24 28 32 36 40 44 48 52 56 60))

(module
  (type $many (func (param v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 i32 v128)
                    (result v128 v128 v128 v128 v128 v128 v128 v128 v128 v128)))
  (table funcref (elem $reverse))

  ;; Ten vectors in, the last nine out in reverse order and the first
  ;; shifted by the i32 that sits between them.
  (func $reverse (type $many)
    (local.get 11) (local.get 9) (local.get 8) (local.get 7) (local.get 6)
    (local.get 5) (local.get 4) (local.get 3) (local.get 2)
    (i32x4.shl (local.get 0) (local.get 10)))

  (func $args (result v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 i32 v128)
    (v128.const i32x4 0 1 2 3) (v128.const i32x4 10 11 12 13)
    (v128.const i32x4 20 21 22 23) (v128.const i32x4 30 31 32 33)
    (v128.const i32x4 40 41 42 43) (v128.const i32x4 50 51 52 53)
    (v128.const i32x4 60 61 62 63) (v128.const i32x4 70 71 72 73)
    (v128.const i32x4 80 81 82 83) (v128.const i32x4 90 91 92 93)
    (i32.const 4) (v128.const i32x4 100 101 102 103))

  ;; The sum of what came back, lane i weighted by its position.
  (func $fold (param v128 v128 v128 v128 v128 v128 v128 v128 v128 v128) (result v128)
    (local $acc v128) (local $i i32)
    (local.set $acc (local.get 0))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 1)))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 2)))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 3)))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 4)))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 5)))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 6)))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 7)))
    (local.set $acc (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 8)))
    (i32x4.add (i32x4.mul (local.get $acc) (v128.const i32x4 3 3 3 3)) (local.get 9)))

  (func (export "direct") (result v128)
    (call $fold (call $reverse (call $args))))
  (func (export "indirect") (result v128)
    (call $fold (call_indirect (type $many) (call $args) (i32.const 0))))
  (func $tail (type $many)
    (return_call $reverse
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
      (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9)
      (local.get 10) (local.get 11)))
  (func (export "tail") (result v128)
    (call $fold (call $tail (call $args))))
  (func (export "last") (result v128)
    (call $reverse (call $args))
    (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop)))

;; fold(reverse) = sum over k of v_k * 3^(9-k), v = [103.., 93.., ..., 23.., 0<<4]
(assert_return (invoke "last") (v128.const i32x4 100 101 102 103))
(assert_return (invoke "direct")
  (v128.const i32x4 2804820 2834359 2863898 2893437))
(assert_return (invoke "indirect")
  (v128.const i32x4 2804820 2834359 2863898 2893437))
(assert_return (invoke "tail")
  (v128.const i32x4 2804820 2834359 2863898 2893437))

(module
  ;; Block parameters and results, a loop carrying two vectors, a branch
  ;; table choosing among blocks that all receive a vector, and both
  ;; forms of select.
  (func (export "loop") (param $n i32) (result v128)
    (local $i i32)
    (v128.const i64x2 1 1) (v128.const i64x2 0 1)
    (loop $l (param v128 v128) (result v128 v128)
      ;; (a, b) -> (a + b, a): Fibonacci in both lanes, one step apart.
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (call $step)
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (drop))
  (func $step (param $a v128) (param $b v128) (result v128 v128)
    (i64x2.add (local.get $a) (local.get $b)) (local.get $a))

  (func (export "table") (param $k i32) (result v128)
    (block $b2 (result v128)
      (block $b1 (result v128)
        (block $b0 (result v128)
          (v128.const i16x8 1 2 3 4 5 6 7 8)
          (br_table $b0 $b1 $b2 (local.get $k)))
        (return (i16x8.mul (v128.const i16x8 10 10 10 10 10 10 10 10))))
      (return (i16x8.neg)))
    (i16x8.add (v128.const i16x8 100 100 100 100 100 100 100 100)))

  (func (export "select") (param $c i32) (result v128 v128)
    (select (v128.const f32x4 1 2 3 4) (v128.const f32x4 -1 -2 -3 -4) (local.get $c))
    (select (result v128) (v128.const f64x2 0.5 1.5) (v128.const f64x2 -0.5 -1.5)
      (i32.eqz (local.get $c)))))

(assert_return (invoke "loop" (i32.const 1)) (v128.const i64x2 1 2))
(assert_return (invoke "loop" (i32.const 10)) (v128.const i64x2 89 144))
(assert_return (invoke "loop" (i32.const 90))
  (v128.const i64x2 4660046610375530309 7540113804746346429))
(assert_return (invoke "table" (i32.const 0)) (v128.const i16x8 10 20 30 40 50 60 70 80))
(assert_return (invoke "table" (i32.const 1)) (v128.const i16x8 -1 -2 -3 -4 -5 -6 -7 -8))
(assert_return (invoke "table" (i32.const 2)) (v128.const i16x8 101 102 103 104 105 106 107 108))
(assert_return (invoke "table" (i32.const 9)) (v128.const i16x8 101 102 103 104 105 106 107 108))
(assert_return (invoke "select" (i32.const 1))
  (v128.const f32x4 1 2 3 4) (v128.const f64x2 -0.5 -1.5))
(assert_return (invoke "select" (i32.const 0))
  (v128.const f32x4 -1 -2 -3 -4) (v128.const f64x2 0.5 1.5))

(module
  ;; Exception payloads: vectors around a scalar, caught by tag and by
  ;; catch_ref + throw_ref, and across a call.
  (tag $e (param v128 i32 v128))
  (func $thrower (param $x i32)
    (throw $e
      (i32x4.splat (local.get $x))
      (i32.mul (local.get $x) (i32.const 3))
      (v128.const i8x16 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1)))

  (func (export "catch") (param $x i32) (result v128 i32 v128)
    (block $h (result v128 i32 v128)
      (try_table (catch $e $h) (call $thrower (local.get $x)))
      (unreachable)))

  (func (export "rethrow") (param $x i32) (result v128 i32 v128)
    (block $outer (result v128 i32 v128)
      (try_table (catch $e $outer)
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (call $thrower (local.get $x)))
          (unreachable))
        (throw_ref))
      (unreachable))))

(assert_return (invoke "catch" (i32.const 7))
  (v128.const i32x4 7 7 7 7) (i32.const 21)
  (v128.const i8x16 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1))
(assert_return (invoke "rethrow" (i32.const -2))
  (v128.const i32x4 -2 -2 -2 -2) (i32.const -6)
  (v128.const i8x16 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1))

(module
  ;; Unaligned accesses, and the last bytes of memory: a 16-byte access
  ;; that ends at the end is fine, one that ends a byte later traps, with
  ;; nothing written.
  (memory 1)
  (data (i32.const 0) "\00\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10\11\12")
  (func (export "load") (param $a i32) (result v128) (v128.load (local.get $a)))
  (func (export "copy") (param $from i32) (param $to i32)
    (v128.store offset=1 (local.get $to) (v128.load offset=2 (local.get $from))))
  (func (export "store_lane") (param $a i32)
    (v128.store32_lane 3 (local.get $a) (v128.const i32x4 1 2 3 0x44332211)))
  (func (export "byte") (param $a i32) (result i32) (i32.load8_u (local.get $a))))

(assert_return (invoke "load" (i32.const 3))
  (v128.const i8x16 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18))
(invoke "copy" (i32.const 1) (i32.const 100))
(assert_return (invoke "load" (i32.const 101))
  (v128.const i8x16 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18))
(assert_return (invoke "load" (i32.const 65520)) (v128.const i64x2 0 0))
(assert_trap (invoke "load" (i32.const 65521)) "out of bounds memory access")
(assert_trap (invoke "load" (i32.const -1)) "out of bounds memory access")
(invoke "store_lane" (i32.const 65532))
(assert_return (invoke "byte" (i32.const 65535)) (i32.const 0x44))
(assert_trap (invoke "store_lane" (i32.const 65533)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65520)) "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 65521)) (i32.const 0))
