;; 10,000,000 switches between two continuations: the resumer starts
;; $player A under an (on $swap switch) handler, passing it B (not yet
;; started) and a count of 0. Each player adds 1 to the count it received
;; and `switch`es to the other one, handing over the count; `switch` gives
;; the target the continuation of the player that switched. The player that
;; receives 10,000,000 returns it, which ends the resume.
;; Checks the returned count and the number of switches made (a global).
(module
  (rec
    (type $f (func (param i32 (ref null $c)) (result i32)))
    (type $c (cont $f)))
  (tag $swap (result i32))
  (global $switches (mut i32) (i32.const 0))
  (func $player (type $f)
    (local $n i32) (local $other (ref null $c))
    (local.set $n (local.get 0))
    (local.set $other (local.get 1))
    (loop $again
      (if (i32.ge_u (local.get $n) (i32.const 10000000))
        (then (return (local.get $n))))
      (global.set $switches (i32.add (global.get $switches) (i32.const 1)))
      (switch $c $swap (i32.add (local.get $n) (i32.const 1)) (local.get $other))
      (local.set $other)
      (local.set $n)
      (br $again))
    (unreachable))
  (elem declare func $player)
  (func (export "_start")
    (local $ret i32)
    (local.set $ret
      (resume $c (on $swap switch)
        (i32.const 0)
        (cont.new $c (ref.func $player))
        (cont.new $c (ref.func $player))))
    (if (i32.ne (local.get $ret) (i32.const 10000000)) (then unreachable))
    (if (i32.ne (global.get $switches) (i32.const 10000000)) (then unreachable))))
