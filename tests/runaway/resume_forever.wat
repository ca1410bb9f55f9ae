;; A handler that resumes a suspending continuation for ever: the body
;; suspends in a loop, the handler resumes it each time.
(module
  (type $f (func))
  (type $c (cont $f))
  (tag $yield)
  (func $body (loop $again (suspend $yield) (br $again)))
  (elem declare func $body)
  (func (export "_start")
    (local $k (ref null $c))
    (local.set $k (cont.new $c (ref.func $body)))
    (loop $next
      (block $on_yield (result (ref $c))
        (resume $c (on $yield $on_yield) (local.get $k))
        (return))
      (local.set $k)
      (br $next))))
