;; Continuations and tags shared between instances. The proposal's scripts
;; pass a tag and continuations of a plain function type from one module to
;; another once; here: continuation types declared separately in each
;; module (also in rec groups, for switch) that must match as import types;
;; continuations made in one instance and resumed in another, both ways,
;; also through an exported global and an exported table of continuation
;; type; a chain suspended under a handler in one instance and continued
;; under a handler in the other; frames of two instances in one
;; continuation, with a suspension passing a handler of one instance to
;; reach one of the other; switch between continuations of two instances;
;; and tag identity: two instances of one module have different tags, and a
;; tag of the same type declared elsewhere handles nothing.

(module $A
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (tag $yield (export "yield") (param i32) (result i32))

  ;; Yields n, n - 1, ..., 1 and returns the sum of the answers plus 1000.
  (func $gen (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (if (i32.eqz (local.get $n))
        (then (return (i32.add (local.get $sum) (i32.const 1000)))))
      (local.set $sum (i32.add (local.get $sum) (suspend $yield (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))
    (unreachable))
  (elem declare func $gen)

  (func (export "make") (result (ref $ci)) (cont.new $ci (ref.func $gen)))

  ;; Suspends A's tag on behalf of whoever calls it.
  (func (export "ask") (param i32) (result i32) (suspend $yield (local.get 0)))

  (global $slot (export "slot") (mut (ref null $ci)) (ref.null $ci))
  (table $tab (export "tab") 4 (ref null $ci))

  (func (export "fill") (param $i i32)
    (global.set $slot (cont.new $ci (ref.func $gen)))
    (table.set $tab (local.get $i) (cont.new $ci (ref.func $gen))))

  ;; Resumes any $ci, whoever made it, answering $yield with payload + 1,
  ;; until it returns.
  (func $drive (export "drive") (param $k (ref null $ci)) (param $v i32) (result i32)
    (loop $l
      (block $on_yield (result i32 (ref $ci))
        (return (resume $ci (on $yield $on_yield) (local.get $v) (local.get $k))))
      (local.set $k)
      (local.set $v (i32.add (i32.const 1)))
      (br $l))
    (unreachable))

  ;; Drives what another instance left in the global or the table.
  (func (export "drive_slot") (param $v i32) (result i32)
    (call $drive (global.get $slot) (local.get $v)))
  (func (export "drive_tab") (param $i i32) (param $v i32) (result i32)
    (call $drive (table.get $tab (local.get $i)) (local.get $v)))
)
(register "a" $A)

(module $B
  ;; Declared anew, with the same structure as A's: the imports below
  ;; link only if the two canonicalise to one type.
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (type $f0 (func (result i32)))
  (type $c0 (cont $f0))
  (import "a" "yield" (tag $yield (param i32) (result i32)))
  (import "a" "make" (func $make (result (ref $ci))))
  (import "a" "ask" (func $ask (param i32) (result i32)))
  (import "a" "drive" (func $drive (param (ref null $ci) i32) (result i32)))
  (import "a" "drive_slot" (func $drive_slot (param i32) (result i32)))
  (import "a" "fill" (func $fill (param i32)))
  (import "a" "slot" (global $slot (mut (ref null $ci))))
  (import "a" "tab" (table $tab 4 (ref null $ci)))
  ;; Same type as A's tag, but another tag.
  (tag $mine (param i32) (result i32))

  ;; Resumes a $ci answering A's $yield with payload * payload.
  (func $square (param $k (ref null $ci)) (param $v i32) (result i32)
    (loop $l
      (block $on_yield (result i32 (ref $ci))
        (return (resume $ci (on $yield $on_yield) (local.get $v) (local.get $k))))
      (local.set $k)
      (local.set $v (i32.mul (local.tee $v) (local.get $v)))
      (br $l))
    (unreachable))

  ;; 1000 + 16 + 9 + 4 + 1.
  (func (export "from_a") (result i32) (call $square (call $make) (i32.const 4)))

  ;; cont.bind with B's types on A's continuation; 1000 + 9 + 4 + 1.
  (func (export "from_a_bound") (result i32)
    (local $k (ref null $ci))
    (local $v i32)
    (block $on_yield (result i32 (ref $ci))
      (return
        (resume $c0 (on $yield $on_yield)
          (cont.bind $ci $c0 (i32.const 3) (call $make)))))
    (local.set $k)
    (local.set $v)
    (call $square (local.get $k) (i32.mul (local.get $v) (local.get $v))))

  ;; Through A's global and A's table: 1000 + 4 + 1, 1000 + 9 + 4 + 1.
  (func (export "via_global") (result i32)
    (call $fill (i32.const 0))
    (call $square (global.get $slot) (i32.const 2)))
  (func (export "via_table") (param $i i32) (result i32)
    (local $k (ref null $ci))
    (call $fill (local.get $i))
    (local.set $k (table.get $tab (local.get $i)))
    (table.set $tab (local.get $i) (ref.null $ci))
    (call $square (local.get $k) (i32.const 3)))

  ;; A's generator of 5: the first yield is answered here (25), then the
  ;; suspended chain goes to A's global and A answers the rest (5, 4, 3,
  ;; 2): 1039.
  (func (export "handoff") (result i32)
    (local $v i32)
    (block $on_yield (result i32 (ref $ci))
      (return (resume $ci (on $yield $on_yield) (i32.const 5) (call $make))))
    (global.set $slot)
    (local.set $v)
    (call $drive_slot (i32.mul (local.get $v) (local.get $v))))
  (func (export "slot_is_null") (result i32) (ref.is_null (global.get $slot)))

  ;; B's function asking through A's function, in a continuation made here.
  ;; x = ask p, y = ask x; returns 1000 x + y.
  (func $asker (param $p i32) (result i32)
    (local $x i32)
    (local.set $x (call $ask (local.get $p)))
    (i32.add (i32.mul (local.get $x) (i32.const 1000)) (call $ask (local.get $x))))
  (elem declare func $asker $relay $mine_body $asker_b)
  ;; Driven by A (answers + 1): 7 → 8 → 9.
  (func (export "asker_in_a") (result i32)
    (call $drive (cont.new $ci (ref.func $asker)) (i32.const 7)))
  ;; Driven here (squares): 3 → 9 → 81.
  (func (export "asker_in_b") (result i32)
    (call $square (cont.new $ci (ref.func $asker)) (i32.const 3)))
  ;; B's continuation left in A's table, driven by A from there.
  (func $asker_b (param $p i32) (result i32)
    (i32.add (call $ask (local.get $p)) (i32.const 50000)))
  (func (export "to_a_table") (param $i i32)
    (table.set $tab (local.get $i) (cont.new $ci (ref.func $asker_b))))

  ;; B's own tag passes A's handler: $relay runs A's drive on $mine_body,
  ;; which first suspends $mine (A handles only $yield, so B's handler
  ;; around $relay answers: payload * 100) and then asks A's $yield (A's
  ;; handler answers + 1). 2 → 200 → 201.
  (func $mine_body (param $p i32) (result i32)
    (call $ask (suspend $mine (local.get $p))))
  (func $relay (param $p i32) (result i32)
    (call $drive (cont.new $ci (ref.func $mine_body)) (local.get $p)))
  (func (export "across") (param $p i32) (result i32)
    (local $k (ref null $ci))
    (local.set $k (cont.new $ci (ref.func $relay)))
    (loop $l
      (block $on_mine (result i32 (ref $ci))
        (return (resume $ci (on $mine $on_mine) (local.get $p) (local.get $k))))
      (local.set $k)
      (local.set $p (i32.mul (i32.const 100)))
      (br $l))
    (unreachable))

  ;; A handler for $mine only: A's $yield is not $mine.
  (func (export "wrong_tag") (result i32)
    (block $on_mine (result i32 (ref $ci))
      (return (resume $ci (on $mine $on_mine) (i32.const 2) (call $make))))
    (drop))
)

(assert_return (invoke "from_a") (i32.const 1030))
(assert_return (invoke "from_a_bound") (i32.const 1014))
(assert_return (invoke "via_global") (i32.const 1005))
;; B resumed the continuation in A's global without clearing the global.
(assert_trap (invoke $A "drive_slot" (i32.const 1)) "continuation already consumed")
(assert_return (invoke "via_table" (i32.const 3)) (i32.const 1014))
(assert_trap (invoke $A "drive_tab" (i32.const 3) (i32.const 1)) "null continuation reference")
(assert_return (invoke "handoff") (i32.const 1039))
(assert_return (invoke "slot_is_null") (i32.const 0))
(assert_trap (invoke $A "drive_slot" (i32.const 1)) "continuation already consumed")
(assert_return (invoke "asker_in_a") (i32.const 8009))
(assert_return (invoke "asker_in_b") (i32.const 9081))
(assert_return (invoke "to_a_table" (i32.const 1)))
(assert_return (invoke $A "drive_tab" (i32.const 1) (i32.const 4)) (i32.const 50005))
(assert_trap (invoke $A "drive_tab" (i32.const 1) (i32.const 4)) "continuation already consumed")
(assert_return (invoke "across" (i32.const 2)) (i32.const 201))
(assert_return (invoke "across" (i32.const 7)) (i32.const 701))
(assert_suspension (invoke "wrong_tag") "unhandled")
;; A's generator with A's handler, from the script: 1000 + 4 + 3 + 2.
(assert_return (invoke $A "fill" (i32.const 2)))
(assert_return (invoke $A "drive_slot" (i32.const 3)) (i32.const 1009))

;; Continuation types must match by structure: a module whose $ci has
;; another result type cannot import A's "make".
(assert_unlinkable
  (module
    (type $fi (func (param i32) (result i64)))
    (type $ci (cont $fi))
    (import "a" "make" (func (result (ref $ci)))))
  "incompatible import type")
;; Nor can one whose continuation type is in a rec group with another type.
(assert_unlinkable
  (module
    (rec
      (type $fi (func (param i32) (result i32)))
      (type $ci (cont $fi)))
    (import "a" "slot" (global (mut (ref null $ci)))))
  "incompatible import type")

;; switch between a continuation of one instance and one of another. The
;; tag and the rec group of the continuation type are A's; B has its own
;; copy of the rec group. B's player adds 1, A's triples; whoever finds
;; the number at or above 100 returns it (A adds 1000000). A counts its
;; turns.
(module $SA
  (rec
    (type $sf (func (param i32 (ref null $sc)) (result i32)))
    (type $sc (cont $sf)))
  (tag $sw (export "sw") (result i32))
  (global $turns (mut i32) (i32.const 0))
  (func $triple (type $sf)
    (loop $turn
      (if (i32.ge_u (local.get 0) (i32.const 100))
        (then (return (i32.add (local.get 0) (i32.const 1000000)))))
      (global.set $turns (i32.add (global.get $turns) (i32.const 1)))
      (switch $sc $sw (i32.mul (local.get 0) (i32.const 3)) (local.get 1))
      (local.set 1)
      (local.set 0)
      (br $turn))
    (unreachable))
  (elem declare func $triple)
  (func (export "player") (result (ref $sc)) (cont.new $sc (ref.func $triple)))
  (func (export "turns") (result i32) (global.get $turns))
)
(register "sa" $SA)

(module $SB
  (rec
    (type $sf (func (param i32 (ref null $sc)) (result i32)))
    (type $sc (cont $sf)))
  (import "sa" "sw" (tag $sw (result i32)))
  (import "sa" "player" (func $their_player (result (ref $sc))))
  (func $inc (type $sf)
    (loop $turn
      (if (i32.ge_u (local.get 0) (i32.const 100))
        (then (return (local.get 0))))
      (switch $sc $sw (i32.add (local.get 0) (i32.const 1)) (local.get 1))
      (local.set 1)
      (local.set 0)
      (br $turn))
    (unreachable))
  (elem declare func $inc)
  ;; B starts: 1 → 2 → 6 → 7 → 21 → 22 → 66 → 67 → 201, found by B.
  (func (export "b_first") (result i32)
    (resume $sc (on $sw switch)
      (i32.const 1) (call $their_player) (cont.new $sc (ref.func $inc))))
  ;; A starts: 1 → 3 → 4 → 12 → 13 → 39 → 40 → 120, found by B;
  ;; 33 → 99 → 100, found by A.
  (func (export "a_first") (param i32) (result i32)
    (resume $sc (on $sw switch)
      (local.get 0) (cont.new $sc (ref.func $inc)) (call $their_player)))
)

(assert_return (invoke "b_first") (i32.const 201))
(assert_return (invoke $SA "turns") (i32.const 4))
(assert_return (invoke "a_first" (i32.const 1)) (i32.const 120))
(assert_return (invoke $SA "turns") (i32.const 8))
(assert_return (invoke "a_first" (i32.const 33)) (i32.const 1000100))
(assert_return (invoke $SA "turns") (i32.const 9))

;; Two instances of one module: each has its own tag.
(module definition $Gen
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (tag $y (export "y") (param i32) (result i32))
  (func $g (param i32) (result i32) (suspend $y (local.get 0)))
  (elem declare func $g)
  (func (export "make") (result (ref $ci)) (cont.new $ci (ref.func $g))))
(module instance $G1 $Gen)
(module instance $G2 $Gen)
(register "g1" $G1)
(register "g2" $G2)

(module $C
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (import "g1" "y" (tag $y1 (param i32) (result i32)))
  (import "g2" "y" (tag $y2 (param i32) (result i32)))
  (import "g1" "make" (func $make1 (result (ref $ci))))
  (import "g2" "make" (func $make2 (result (ref $ci))))

  ;; Returns 100 * (which handler) + payload.
  (func $which (param $k (ref $ci)) (result i32)
    (block $h2 (result i32 (ref $ci))
      (block $h1 (result i32 (ref $ci))
        ;; $y2's clause first: order of clauses is not what matters.
        (return (resume $ci (on $y2 $h2) (on $y1 $h1) (i32.const 5) (local.get $k))))
      (drop)
      (return (i32.add (i32.const 100))))
    (drop)
    (i32.add (i32.const 200)))
  (func (export "which1") (result i32) (call $which (call $make1)))
  (func (export "which2") (result i32) (call $which (call $make2)))
  ;; G2's continuation under a handler for G1's tag only.
  (func (export "cross") (result i32)
    (block $h1 (result i32 (ref $ci))
      (return (resume $ci (on $y1 $h1) (i32.const 5) (call $make2))))
    (drop))
)

(assert_return (invoke "which1") (i32.const 105))
(assert_return (invoke "which2") (i32.const 205))
(assert_suspension (invoke "cross") "unhandled")
(assert_return (invoke "which2") (i32.const 205))
