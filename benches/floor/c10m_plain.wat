;; The fiber-free floor of c10m: the same 10,010,000 "coroutines" as plain
;; calls. Each one is a call for a slot (0..9,999) that touches one byte per
;; 4 KiB page of the slot's own 32 KiB area of linear memory (10,000 x
;; 32 KiB = 320 MB) and returns 1; slots are visited in the same order as
;; in c10m (1,001 times over the 10,000 slots).
;; Checks the sum of the returns (10,010,000) and that each touched byte
;; was incremented 1,001 times (233 mod 256).
(module
  (memory 5000)  ;; 327,680,000 bytes = 10,000 x 32 KiB
  (func $coroutine (param $slot i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.mul (local.get $slot) (i32.const 32768)))
    (local.set $end (i32.add (local.get $p) (i32.const 32768)))
    (loop $page
      (i32.store8 (local.get $p) (i32.add (i32.load8_u (local.get $p)) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $page (i32.lt_u (local.get $p) (local.get $end))))
    (i32.const 1))
  (func (export "_start")
    (local $s i32) (local $round i32) (local $sum i32) (local $p i32)
    (loop $rounds
      (local.set $s (i32.const 0))
      (loop $slots
        (local.set $sum (i32.add (local.get $sum) (call $coroutine (local.get $s))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br_if $slots (i32.lt_u (local.get $s) (i32.const 10000))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 1001))))
    (if (i32.ne (local.get $sum) (i32.const 10010000)) (then unreachable))
    (loop $check
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 233)) (then unreachable))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $check (i32.lt_u (local.get $p) (i32.const 327680000))))))
