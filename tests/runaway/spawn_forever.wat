;; Creates continuations for ever, each resumed once (it suspends) and
;; then dropped, so every one of them stays alive: without a limit on
;; live continuations, this runs until memory runs out.
(module
  (type $f (func))
  (type $c (cont $f))
  (tag $yield)
  (func $body (suspend $yield))
  (elem declare func $body)
  (func (export "_start")
    (loop $next
      (block $on_yield (result (ref $c))
        (resume $c (on $yield $on_yield) (cont.new $c (ref.func $body)))
        (return))
      (drop)
      (br $next))))
