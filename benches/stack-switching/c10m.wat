;; c10m: 10,010,000 coroutines in all, 10,000 alive at a time. A coroutine
;; is made for a slot s (cont.new), resumed once with s (it yields at once,
;; under an (on $yield ...) handler) and parked in the slot's table entry.
;; When resumed again it touches one byte per 4 KiB page of the slot's own
;; 32 KiB area of linear memory (its "stack"; 10,000 x 32 KiB = 320 MB,
;; reused by the coroutine that replaces it) and returns 1, and a new
;; coroutine takes the slot. 1,000 rounds over the 10,000 slots replace
;; 10,000,000 coroutines; the last 10,000 are then finished.
;; Checks the sum of the returns (10,010,000) and that each touched byte
;; was incremented once per coroutine of its slot (1,001 times, mod 256).
(module
  (type $f (func (param i32) (result i32)))
  (type $c (cont $f))
  (type $rf (func (result i32)))
  (type $rc (cont $rf))
  (tag $yield)
  (memory 5000)  ;; 327,680,000 bytes = 10,000 x 32 KiB
  (table $slots 10000 (ref null $rc))
  (func $coroutine (param $slot i32) (result i32)
    (local $p i32) (local $end i32)
    (suspend $yield)
    (local.set $p (i32.mul (local.get $slot) (i32.const 32768)))
    (local.set $end (i32.add (local.get $p) (i32.const 32768)))
    (loop $page
      (i32.store8 (local.get $p) (i32.add (i32.load8_u (local.get $p)) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $page (i32.lt_u (local.get $p) (local.get $end))))
    (i32.const 1))
  (elem declare func $coroutine)
  ;; a new coroutine for the slot, resumed to its yield, parked in the slot
  (func $spawn (param $slot i32)
    (local $k (ref null $rc))
    (block $on_yield (result (ref $rc))
      (drop (resume $c (on $yield $on_yield)
        (local.get $slot) (cont.new $c (ref.func $coroutine))))
      (unreachable))
    (local.set $k)
    (table.set $slots (local.get $slot) (local.get $k)))
  ;; resumes the slot's coroutine to completion
  (func $finish (param $slot i32) (result i32)
    (resume $rc (table.get $slots (local.get $slot))))
  (func (export "_start")
    (local $s i32) (local $round i32) (local $sum i32) (local $p i32)
    (loop $fill
      (call $spawn (local.get $s))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $s) (i32.const 10000))))
    (loop $rounds
      (local.set $s (i32.const 0))
      (loop $replace
        (local.set $sum (i32.add (local.get $sum) (call $finish (local.get $s))))
        (call $spawn (local.get $s))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br_if $replace (i32.lt_u (local.get $s) (i32.const 10000))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 1000))))
    (local.set $s (i32.const 0))
    (loop $last
      (local.set $sum (i32.add (local.get $sum) (call $finish (local.get $s))))
      (table.set $slots (local.get $s) (ref.null $rc))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br_if $last (i32.lt_u (local.get $s) (i32.const 10000))))
    (if (i32.ne (local.get $sum) (i32.const 10010000)) (then unreachable))
    ;; every touched byte: 1,001 increments = 233 mod 256
    (loop $check
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 233)) (then unreachable))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $check (i32.lt_u (local.get $p) (i32.const 327680000))))))
