;; Runaway recursion through continuations: every level creates a new
;; continuation and resumes it. Each level holds a stack, so without a
;; bound the process would grow until memory runs out. fxtime stops it at
;; the nesting limit (Config::max_continuation_depth, 100,000 by default)
;; with "call stack exhausted", like recursion on one stack, gives every
;; stack of the chain back, and the module goes on working.

(module
  (type $f0 (func (result i32)))
  (type $c0 (cont $f0))
  (global $depth (mut i32) (i32.const 0))
  (elem declare func $nest)
  (func $nest (result i32)
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    (resume $c0 (cont.new $c0 (ref.func $nest))))
  (func (export "nest") (result i32) (call $nest))
  (func (export "ok") (result i32) (i32.const 5))
)
(assert_exhaustion (invoke "nest") "call stack exhausted")
(assert_return (invoke "ok") (i32.const 5))
;; The limit counts how deep a continuation starts, not continuations ever
;; made.
(assert_exhaustion (invoke "nest") "call stack exhausted")
(assert_return (invoke "ok") (i32.const 5))
