;; Every way a suspension finds its handler, each with its own copy of the
;; suspending code: the first and second clause of the nearest resume
;; (compared before any search), a later clause of it (the search), a
;; clause one resume further out (the search walks past a resume without
;; it), and a payload too big for a continuation's inline slots, which
;; grows the buffer on the way.

(module
  (type $f (func (result i32)))
  (type $c (cont $f))
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (tag $a (param i32) (result i32))
  (tag $b (param i32) (result i32))
  (tag $third (param i32) (result i32))
  (tag $big (param i32 i32 i32 i32 i32 i32) (result i32))
  (tag $other (param i32) (result i32))

  ;; a answers x + 1, b x * 2, third x + 100, big the sum of its six:
  ;; 2 + 10 + 103 + 21 = 136.
  (func $asker (result i32)
    (local $sum i32)
    (local.set $sum (suspend $a (i32.const 1)))
    (local.set $sum (i32.add (local.get $sum) (suspend $b (i32.const 5))))
    (local.set $sum (i32.add (local.get $sum) (suspend $third (i32.const 3))))
    (local.set $sum
      (i32.add (local.get $sum)
        (suspend $big (i32.const 1) (i32.const 2) (i32.const 3)
                      (i32.const 4) (i32.const 5) (i32.const 6))))
    (local.get $sum))

  ;; Runs $k to its end, answering all four tags.
  (func $drive (param $k (ref null $c)) (result i32)
    (local $x i32) (local $next (ref null $ci))
    (loop $again
      (block $on_a (result i32 (ref $ci))
        (block $on_b (result i32 (ref $ci))
          (block $on_third (result i32 (ref $ci))
            (block $on_big (result i32 i32 i32 i32 i32 i32 (ref $ci))
              (return
                (resume $c (on $a $on_a) (on $b $on_b) (on $third $on_third)
                           (on $big $on_big) (local.get $k))))
            (local.set $next)
            (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)
            (local.set $k (cont.bind $ci $c (local.get $next)))
            (br $again))
          (local.set $next)
          (local.set $x)
          (local.set $k
            (cont.bind $ci $c (i32.add (local.get $x) (i32.const 100)) (local.get $next)))
          (br $again))
        (local.set $next)
        (local.set $x)
        (local.set $k
          (cont.bind $ci $c (i32.mul (local.get $x) (i32.const 2)) (local.get $next)))
        (br $again))
      (local.set $next)
      (local.set $x)
      (local.set $k
        (cont.bind $ci $c (i32.add (local.get $x) (i32.const 1)) (local.get $next)))
      (br $again))
    (unreachable))

  (func (export "nearest") (result i32)
    (call $drive (cont.new $c (ref.func $asker))))

  ;; The asker runs inside a continuation whose resume handles only
  ;; $other: every suspension walks past that resume to $drive's.
  (func $middle (result i32)
    (block $on_other (result i32 (ref $ci))
      (return (resume $c (on $other $on_other) (cont.new $c (ref.func $asker)))))
    (drop) (drop) (i32.const -1))
  (func (export "outer") (result i32)
    (call $drive (cont.new $c (ref.func $middle))))

  ;; The big payload to the first clause: compared, then the buffer grows.
  (func $big_first (result i32)
    (i32.add (i32.const 1000)
      (suspend $big (i32.const 10) (i32.const 20) (i32.const 30)
                    (i32.const 40) (i32.const 50) (i32.const 60))))
  (func (export "big_first") (result i32)
    (local $next (ref null $ci))
    (block $on_big (result i32 i32 i32 i32 i32 i32 (ref $ci))
      (return (resume $c (on $big $on_big) (cont.new $c (ref.func $big_first)))))
    (local.set $next)
    (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)
    (resume $ci (local.get $next)))

  ;; No handler at all, from the host's stack and from a continuation.
  (func (export "unhandled_here") (result i32) (suspend $a (i32.const 0)))
  (func (export "unhandled_inside") (result i32) (call $middle))

  (elem declare func $asker $middle $big_first)
)

(assert_return (invoke "nearest") (i32.const 136))
(assert_return (invoke "outer") (i32.const 136))
(assert_return (invoke "big_first") (i32.const 1210))
;; Again: the objects come back from the free list with grown buffers.
(assert_return (invoke "nearest") (i32.const 136))
(assert_return (invoke "big_first") (i32.const 1210))
(assert_suspension (invoke "unhandled_here") "unhandled")
(assert_suspension (invoke "unhandled_inside") "unhandled")
(assert_return (invoke "outer") (i32.const 136))
