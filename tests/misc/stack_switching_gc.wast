;; GC references held by suspended continuations survive collections:
;; in locals of their frames (at the suspend site and in frames below it),
;; on the operand stack across the suspension, in tag payloads and
;; resume arguments, through `switch`, and in chains of nested
;; continuations suspended together.

(module
  (type $node (struct (field $v i32) (field $next (ref null $node))))
  (type $junk (struct (field anyref) (field anyref)))
  (type $bytes (array (mut i8)))
  (type $f (func))
  (type $k (cont $f))
  (type $fr (func (param (ref null $node))))
  (type $kr (cont $fr))
  (tag $yield)
  (tag $give (param (ref null $node)))
  (tag $take (result (ref null $node)))

  (table $ks 4000 (ref null $k))

  (func $garbage (param $n i32)
    (loop $l
      (drop (struct.new $junk (ref.i31 (local.get $n)) (ref.null any)))
      (drop (array.new_default $bytes (i32.const 2000)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; The list n, n - 1, ..., 1 (sum n (n + 1) / 2).
  (func $list (param $n i32) (result (ref null $node))
    (local $head (ref null $node))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $head (struct.new $node (local.get $n) (local.get $head)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $head))

  (func $sum (param $head (ref null $node)) (result i32)
    (local $sum i32)
    (block $done
      (loop $walk
        (br_if $done (ref.is_null (local.get $head)))
        (local.set $sum (i32.add (local.get $sum) (struct.get $node $v (local.get $head))))
        (local.set $head (struct.get $node $next (local.get $head)))
        (br $walk)))
    (local.get $sum))

  (global $total (mut i32) (i32.const 0))

  ;; Holds a list of 10 in a local and one on the operand stack across a
  ;; suspension, and one in the frame of its caller.
  (func $sum2 (param (ref null $node) i32) (result i32)
    (i32.add (call $sum (local.get 0)) (local.get 1)))

  (func $inner (param $n i32)
    (local $mine (ref null $node))
    (local.set $mine (call $list (i32.const 10)))
    ;; The list of n is on the operand stack across the suspension.
    (call $sum2 (call $list (local.get $n))
      (block (result i32) (suspend $yield) (i32.const 0)))
    (call $sum (local.get $mine))
    (i32.add)
    (global.set $total (i32.add (global.get $total))))

  (func $outer (param $n i32)
    (local $below (ref null $node))
    (local.set $below (call $list (i32.const 3)))
    (call $inner (local.get $n))
    (global.set $total (i32.add (global.get $total) (call $sum (local.get $below)))))

  (elem declare func $outer $consumer)

  ;; Suspends n continuations, collects many times, resumes each.
  (func (export "many-suspended") (param $n i32) (result i32)
    (local $i i32) (local $k (ref null $k))
    (global.set $total (i32.const 0))
    (loop $start
      (block $on_yield (result (ref $k))
        (resume $k (on $yield $on_yield)
          (cont.bind $kr $k (call $list (i32.const 0))
            (cont.new $kr (ref.func $consumer))))
        (unreachable))
      (drop)
      (block $on_yield (result (ref $k))
        (resume $k (on $yield $on_yield)
          (cont.new $k (ref.func $outer_thunk)))
        (unreachable))
      (local.set $k)
      (table.set $ks (local.get $i) (local.get $k))
      (call $garbage (i32.const 20))
      (br_if $start (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (call $garbage (i32.const 2000))
    (local.set $i (i32.const 0))
    (loop $finish
      (resume $k (table.get $ks (local.get $i)))
      (call $garbage (i32.const 5))
      (br_if $finish (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (global.get $total))

  (func $outer_thunk (call $outer (i32.const 4)))
  (elem declare func $outer_thunk)

  ;; Receives lists through payloads and resume arguments.
  (func $consumer (param $first (ref null $node))
    (suspend $yield))

  ;; A generator that gives lists to its handler and takes lists back.
  (func $generator
    (local $i i32) (local $got (ref null $node))
    (loop $l
      (suspend $give (call $list (local.get $i)))
      (local.set $got (suspend $take))
      (call $garbage (i32.const 10))
      (global.set $total (i32.add (global.get $total) (call $sum (local.get $got))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 30)))))
  (elem declare func $generator)

  ;; Each list the generator gives is held by the handler, bound to the
  ;; generator's continuation with cont.bind when it asks for one, and
  ;; resumed after more garbage.
  (func (export "payloads") (result i32)
    (local $k (ref null $k)) (local $kr (ref null $kr)) (local $held (ref null $node))
    (global.set $total (i32.const 0))
    (local.set $k (cont.new $k (ref.func $generator)))
    (block $done
      (loop $l
        (block $on_take (result (ref $kr))
          (block $on_give (result (ref null $node) (ref $k))
            (resume $k (on $give $on_give) (on $take $on_take) (local.get $k))
            (br $done))
          (local.set $k)
          (local.set $held)
          (call $garbage (i32.const 10))
          (br $l))
        (local.set $kr)
        (local.set $k (cont.bind $kr $k (local.get $held) (local.get $kr)))
        (local.set $held (ref.null $node))
        (call $garbage (i32.const 10))
        (br $l)))
    (global.get $total))

  ;; A function that only suspends is inlined into its callers
  ;; (crates/cranelift/src/inlining.rs): the caller's references, one in a
  ;; local and one on the operand stack, must be found at the inlined
  ;; switch, where no frame of the helper's own is left.
  (func $pause (suspend $yield))
  (func $across_helper (param $n i32)
    (local $mine (ref null $node))
    (local.set $mine (call $list (local.get $n)))
    (call $sum2 (call $list (i32.const 5)) (block (result i32) (call $pause) (i32.const 0)))
    (call $sum (local.get $mine))
    (i32.add)
    (global.set $total (i32.add (global.get $total))))
  (func $across_helper_thunk (call $across_helper (i32.const 6)))
  (elem declare func $across_helper_thunk)

  ;; Suspends n of them in the helper, collects many times, resumes each:
  ;; 15 + 21 each.
  (func (export "across-helper") (param $n i32) (result i32)
    (local $i i32) (local $k (ref null $k))
    (global.set $total (i32.const 0))
    (loop $start
      (block $on_yield (result (ref $k))
        (resume $k (on $yield $on_yield) (cont.new $k (ref.func $across_helper_thunk)))
        (unreachable))
      (local.set $k)
      (table.set $ks (local.get $i) (local.get $k))
      (call $garbage (i32.const 20))
      (br_if $start (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (call $garbage (i32.const 2000))
    (local.set $i (i32.const 0))
    (loop $finish
      (resume $k (table.get $ks (local.get $i)))
      (call $garbage (i32.const 5))
      (br_if $finish (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (global.get $total))
)

(assert_return (invoke "many-suspended" (i32.const 300)) (i32.const 21300))
(assert_return (invoke "across-helper" (i32.const 300)) (i32.const 10800))
(assert_return (invoke "payloads") (i32.const 4495))

(module
  ;; GC values through switch (arguments both ways) and resume_throw
  ;; (an exception payload raised inside a suspended continuation), with
  ;; garbage made between every step.
  (type $box (struct (field $v i32)))
  (type $bytes (array (mut i8)))
  (type $f (func (param (ref null $box))))
  (type $k (cont $f))
  ;; A coroutine: takes a box and the other's continuation, switches back.
  (rec
    (type $g (func (param (ref null $box) (ref null $k2))))
    (type $k2 (cont $g)))
  (type $u (func))
  (type $ku (cont $u))
  (tag $sw)
  (tag $boom (param (ref null $box)))
  (tag $yield)
  (global $total (mut i32) (i32.const 0))

  (func $garbage (param $n i32)
    (loop $l
      (drop (struct.new $box (local.get $n)))
      (drop (array.new_default $bytes (i32.const 1000)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; Receives a box, adds its value, makes garbage, passes a new box on by
  ;; switching to the other coroutine; 50 rounds.
  (func $player (type $g) (param $b (ref null $box)) (param $other (ref null $k2))
    (local $i i32)
    (loop $round
      (global.set $total (i32.add (global.get $total) (struct.get $box $v (local.get $b))))
      (call $garbage (i32.const 10))
      (switch $k2 $sw (struct.new $box (i32.add (local.get $i) (i32.const 1))) (local.get $other))
      (local.set $other)
      (local.set $b)
      (br_if $round (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 50)))))
  (elem declare func $player $catcher)

  (func (export "switching") (result i32)
    (global.set $total (i32.const 0))
    (resume $k2 (on $sw switch)
      (struct.new $box (i32.const 1000))
      (cont.new $k2 (ref.func $player))
      (cont.new $k2 (ref.func $player)))
    (global.get $total))

  ;; Suspends, then catches the exception a resume_throw raises in it and
  ;; adds its box's value after more garbage.
  (func $catcher (type $f) (param $caught (ref null $box))
    (local.set $caught
      (block $h (result (ref null $box))
        (try_table (catch $boom $h) (suspend $yield))
        (return)))
    (call $garbage (i32.const 100))
    (global.set $total
      (i32.add (global.get $total) (struct.get $box $v (local.get $caught)))))

  (func (export "throwing") (result i32)
    (local $k (ref null $ku))
    (global.set $total (i32.const 0))
    (block $on_yield (result (ref $ku))
      (resume $k (on $yield $on_yield) (ref.null $box) (cont.new $k (ref.func $catcher)))
      (unreachable))
    (local.set $k)
    (call $garbage (i32.const 100))
    (resume_throw $ku $boom (struct.new $box (i32.const 77)) (local.get $k))
    (global.get $total))
)

(assert_return (invoke "switching") (i32.const 3500))
(assert_return (invoke "throwing") (i32.const 77))

(module
  ;; Continuation references in struct fields and array elements (16
  ;; bytes each), stored, copied and resumed (Wasmtime 49 refuses these
  ;; types).
  (type $f (func (result i32)))
  (type $k (cont $f))
  (type $f2 (func (param i32) (result i32)))
  (type $k2 (cont $f2))
  (type $holder (struct (field (mut (ref null $k)))))
  (type $ks (array (mut (ref null $k2))))
  (tag $yield (result i32))
  (func $gen (result i32)
    (i32.add (suspend $yield) (i32.const 100)))
  (elem declare func $gen)
  (func (export "in-objects") (result i32)
    (local $h (ref $holder)) (local $a (ref $ks)) (local $b (ref $ks))
    (local $c (ref null $k2))
    (local.set $h (struct.new $holder (cont.new $k (ref.func $gen))))
    (block $on (result (ref $k2))
      (return (resume $k (on $yield $on) (struct.get $holder 0 (local.get $h)))))
    (local.set $c)
    ;; The suspended continuation fills a new array, which is copied.
    (local.set $a (array.new $ks (ref.null $k2) (i32.const 4)))
    (array.fill $ks (local.get $a) (i32.const 1) (local.get $c) (i32.const 1))
    (local.set $c (ref.null $k2))
    (local.set $b (array.new $ks (ref.null $k2) (i32.const 4)))
    (array.copy $ks $ks (local.get $b) (i32.const 0) (local.get $a) (i32.const 0) (i32.const 4))
    (struct.set $holder 0 (local.get $h) (ref.null $k))
    (block $on2 (result (ref $k2))
      (return (resume $k2 (on $yield $on2) (i32.const 7)
        (array.get $ks (local.get $b) (i32.const 1)))))
    (drop)
    (i32.const -1))
)

(assert_return (invoke "in-objects") (i32.const 107))

(module
  ;; A continuation given a struct by cont.bind and then resume_throw'n
  ;; before it starts: the bound struct is dropped with it, and the object
  ;; reused by the next cont.new holds nothing stale.
  (type $box (struct (field i32)))
  (type $bytes (array (mut i8)))
  (type $f (func (param (ref null $box)) (result i32)))
  (type $k (cont $f))
  (type $g (func (result i32)))
  (type $kg (cont $g))
  (tag $boom)
  (func $use (type $f) (struct.get $box 0 (local.get 0)))
  (func $seven (result i32)
    (drop (array.new_default $bytes (i32.const 500)))
    (struct.get $box 0 (struct.new $box (i32.const 7))))
  (elem declare func $use $seven)
  (func (export "dropped") (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (block $caught
        (try_table (catch $boom $caught)
          (drop (resume_throw $kg $boom
            (cont.bind $k $kg (struct.new $box (i32.const 1))
              (cont.new $k (ref.func $use))))))
        (unreachable))
      (drop (array.new_default $bytes (i32.const 500)))
      (local.set $sum (i32.add (local.get $sum)
        (resume $kg (cont.new $kg (ref.func $seven)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 200))))
    (local.get $sum))
)

(assert_return (invoke "dropped") (i32.const 1400))
