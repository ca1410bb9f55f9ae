;; Abandoned continuations come back: `run n` creates n generators, resumes
;; each once (it suspends with its first value) and drops it; it returns
;; the sum of the first values (the generators' indices, mod 2^32, plus
;; one each). Nothing but a collection can give an abandoned generator's
;; stack back, so peak memory must not grow with n.
;; fxbench: run 1000000 = 1784293664
;; fxbench: run 100000000 = 987459712
(module
  (type $gen (func (param i32)))
  (type $k (cont $gen))
  (type $none (func))
  (type $rest (cont $none))
  (tag $yield (param i32))
  ;; Yields its start, then every next number.
  (func $count (param $from i32)
    (loop $l
      (suspend $yield (local.get $from))
      (local.set $from (i32.add (local.get $from) (i32.const 1)))
      (br $l)))
  (elem declare func $count)
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (block $first (result i32 (ref $rest))
        (resume $k (on $yield $first) (local.get $i) (cont.new $k (ref.func $count)))
        (unreachable))
      (drop)
      (local.set $sum (i32.add (local.get $sum) (i32.add (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))
