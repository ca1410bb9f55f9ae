;; Two continuations switching to each other for ever: each one that is
;; switched to switches straight back, handing over a count.
(module
  (rec
    (type $f (func (param i32 (ref null $c)) (result i32)))
    (type $c (cont $f)))
  (tag $swap (result i32))
  (func $player (type $f)
    (local $n i32) (local $other (ref null $c))
    (local.set $n (local.get 0))
    (local.set $other (local.get 1))
    (loop $again
      (switch $c $swap (i32.add (local.get $n) (i32.const 1)) (local.get $other))
      (local.set $other)
      (local.set $n)
      (br $again))
    (unreachable))
  (elem declare func $player)
  (func (export "_start")
    (drop
      (resume $c (on $swap switch)
        (i32.const 0)
        (cont.new $c (ref.func $player))
        (cont.new $c (ref.func $player))))))
