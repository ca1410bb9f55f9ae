;; `v128` values through every stack-switching transfer: continuation
;; arguments and results, suspend payloads both ways, `cont.bind`,
;; `switch`, `resume_throw` payloads, and vectors live in a continuation's
;; locals across many suspensions (kept in vector registers by the code,
;; so a switch that loses them shows).

(module
  (type $gen_f (func (param v128) (result v128)))
  (type $gen_c (cont $gen_f))
  (type $bound_f (func (result v128)))
  (type $bound_c (cont $bound_f))
  ;; Yields a vector, receives one back.
  (tag $yield (param v128) (result v128))
  (tag $boom (param v128 i32))

  ;; Accumulates what it is sent: yields its running sum, the sum scaled
  ;; by a vector kept live in a local the whole time, and returns the
  ;; final sum when sent a zero vector.
  (func $accumulate (type $gen_f)
    (local $sum v128) (local $scale v128) (local $in v128)
    (local.set $scale (v128.const i32x4 1 -1 2 -2))
    (local.set $in (local.get 0))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (v128.any_true (local.get $in))))
        (local.set $sum (i32x4.add (local.get $sum) (local.get $in)))
        (local.set $in
          (suspend $yield (i32x4.mul (local.get $sum) (local.get $scale))))
        (br $next)))
    (i32x4.add (local.get $sum) (local.get $scale)))
  (elem declare func $accumulate $catcher)

  ;; Sends 1..n (splat) to the accumulator; checks each yield; returns
  ;; the accumulator's result.
  (func (export "generate") (param $n i32) (result v128)
    (local $k (ref null $gen_c)) (local $i i32) (local $y v128)
    (local.set $k (cont.new $gen_c (ref.func $accumulate)))
    (local.set $i (i32.const 1))
    (loop $l
      (block $on_yield (result v128 (ref $gen_c))
        (resume $gen_c (on $yield $on_yield)
          (i32x4.splat (local.get $i)) (local.get $k))
        (return))
      (local.set $k)
      (local.set $y)
      ;; The yield is sum(1..i) * (1, -1, 2, -2).
      (if (i32.eqz (i32x4.all_true (i32x4.eq (local.get $y)
            (i32x4.mul
              (i32x4.splat (i32.div_u (i32.mul (local.get $i) (i32.add (local.get $i) (i32.const 1))) (i32.const 2)))
              (v128.const i32x4 1 -1 2 -2)))))
        (then (unreachable)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.le_u (local.get $i) (local.get $n))))
    (resume $gen_c (v128.const i64x2 0 0) (local.get $k)))

  ;; cont.bind supplies the vector argument up front.
  (func (export "bound") (result v128)
    (local $k (ref null $bound_c)) (local $gen (ref null $gen_c))
    (local.set $k
      (cont.bind $gen_c $bound_c (v128.const i32x4 5 6 7 8)
        (cont.new $gen_c (ref.func $accumulate))))
    (block $on_yield (result v128 (ref $gen_c))
      (resume $bound_c (on $yield $on_yield) (local.get $k))
      (unreachable))
    ;; Yielded (5, -6, 14, -16); finish by sending zero.
    (local.set $gen)
    (if (i32.eqz (i32x4.all_true (i32x4.eq (v128.const i32x4 5 -6 14 -16))))
      (then (unreachable)))
    (resume $bound_c
      (cont.bind $gen_c $bound_c (v128.const i64x2 0 0) (local.get $gen))))

  ;; resume_throw: the exception's vector reaches a handler inside the
  ;; continuation, which returns it combined with what it held.
  (func $catcher (type $gen_f)
    (local $held v128)
    (local.set $held (f32x4.mul (local.get 0) (v128.const f32x4 2 2 2 2)))
    (block $h (result v128 i32)
      (try_table (catch $boom $h)
        (drop (suspend $yield (local.get $held))))
      (unreachable))
    (drop)
    (f32x4.add (local.get $held)))
  (func (export "throw_in") (result v128)
    (local $k (ref null $gen_c))
    (block $on_yield (result v128 (ref $gen_c))
      (resume $gen_c (on $yield $on_yield) (v128.const f32x4 1.5 2.5 -3 4)
        (cont.new $gen_c (ref.func $catcher)))
      (unreachable))
    (local.set $k)
    (drop)
    (resume_throw $gen_c $boom
      (v128.const f32x4 0.25 0.5 0.75 1) (i32.const 3) (local.get $k)))
)

(assert_return (invoke "generate" (i32.const 1)) (v128.const i32x4 2 0 3 -1))
(assert_return (invoke "generate" (i32.const 300))
  (v128.const i32x4 45151 45149 45152 45148))
(assert_return (invoke "bound") (v128.const i32x4 6 5 9 6))
(assert_return (invoke "throw_in") (v128.const f32x4 3.25 5.5 -5.25 9))

(module
  ;; Two coroutines switch back and forth, each passing the other a
  ;; vector, each keeping its own vector live across the switches.
  (rec
    (type $f (func (param v128 (ref null $c)) (result v128)))
    (type $c (cont $f)))
  (tag $sw (result v128))
  (elem declare func $ping $pong)

  (func $ping (type $f)
    (local $mine v128) (local $msg v128) (local $other (ref null $c)) (local $i i32)
    (local.set $mine (v128.const i16x8 1 2 3 4 5 6 7 8))
    (local.set $msg (local.get 0))
    (local.set $other (local.get 1))
    (loop $l
      (switch $c $sw (i16x8.add (local.get $msg) (local.get $mine)) (local.get $other))
      (local.set $other)
      (local.set $msg)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
    (i16x8.add (local.get $msg) (local.get $mine)))

  (func $pong (type $f)
    (local $mine v128) (local $msg v128) (local $other (ref null $c))
    (local.set $mine (v128.const i16x8 100 200 300 400 500 600 700 800))
    (local.set $msg (local.get 0))
    (local.set $other (local.get 1))
    (loop $l
      (switch $c $sw (i16x8.sub (local.get $msg) (local.get $mine)) (local.get $other))
      (local.set $other)
      (local.set $msg)
      (br $l))
    (unreachable))

  (func (export "ping_pong") (result v128)
    (local $pong (ref null $c))
    (local.set $pong (cont.new $c (ref.func $pong)))
    (resume $c (on $sw switch)
      (v128.const i16x8 0 0 0 0 0 0 0 0) (local.get $pong)
      (cont.new $c (ref.func $ping))))
)

;; Each round adds (1..8) and takes (100..800): after 100 rounds and a
;; final add, lane k (from 1) holds 101k - 10000k = -9899k, wrapped to
;; 16 bits.
(assert_return (invoke "ping_pong")
  (v128.const i16x8 -9899 -19798 -29697 25940 16041 6142 -3757 -13656))
