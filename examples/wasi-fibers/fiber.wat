;; Fiber primitives for C programs, on the stack-switching instructions.
;;
;; Preloaded under the name `env` (`fxtime run --preload env=fiber.wat`):
;; a C program imports `fiber_new`, `fiber_resume`, `fiber_yield`,
;; `fiber_done` and `fiber_free` from it, and links with `--import-table` so
;; that its function table is this module's `__indirect_function_table`,
;; which lets a fiber call the C function it was created with.
;;
;; A fiber is a handle: an index into $fibers, which holds its suspended
;; continuation, or null once it has returned. Freed handles are reused.
(module
  (type $body (func (param i32)))                   ;; C: void body(void *arg)
  (type $start (func (param i32 i32 i32)))          ;; function, argument, first value
  (type $start_k (cont $start))
  (type $fiber (func (param i32)))                  ;; takes the value of a resume
  (type $fiber_k (cont $fiber))

  ;; fiber_yield's value out to the resumer, and the next resume's value in.
  (tag $yield (param i32) (result i32))

  (table $functions (export "__indirect_function_table") 4096 funcref)
  (table $fibers 0 (ref null $fiber_k))

  ;; Freed handles, a stack in this module's own memory.
  (memory $free_handles 1)
  (global $free_count (mut i32) (i32.const 0))

  (func $start (param $function i32) (param $arg i32) (param $first i32)
    (call_indirect $functions (type $body) (local.get $arg) (local.get $function)))
  (elem declare func $start)

  ;; A new fiber that will run function(arg) when first resumed.
  (func (export "fiber_new") (param $function i32) (param $arg i32) (result i32)
    (local $handle i32)
    (local $k (ref $fiber_k))
    (local.set $k
      (cont.bind $start_k $fiber_k (local.get $function) (local.get $arg)
        (cont.new $start_k (ref.func $start))))
    (if (i32.eqz (global.get $free_count))
      (then (return (table.grow $fibers (local.get $k) (i32.const 1)))))
    (global.set $free_count (i32.sub (global.get $free_count) (i32.const 1)))
    (local.set $handle (i32.load (i32.shl (global.get $free_count) (i32.const 2))))
    (table.set $fibers (local.get $handle) (local.get $k))
    (local.get $handle))

  ;; Runs the fiber until it yields (returns the yielded value) or returns
  ;; (returns 0, and fiber_done is 1 from then on).
  (func (export "fiber_resume") (param $handle i32) (param $value i32) (result i32)
    (local $k (ref $fiber_k))
    (block $yielded (result i32 (ref $fiber_k))
      (resume $fiber_k (on $yield $yielded)
        (local.get $value) (table.get $fibers (local.get $handle)))
      (table.set $fibers (local.get $handle) (ref.null $fiber_k))
      (return (i32.const 0)))
    (local.set $k)
    (table.set $fibers (local.get $handle) (local.get $k)))

  ;; Suspends the running fiber with `value`; returns the next resume's value.
  (func (export "fiber_yield") (param $value i32) (result i32)
    (suspend $yield (local.get $value)))

  (func (export "fiber_done") (param $handle i32) (result i32)
    (ref.is_null (table.get $fibers (local.get $handle))))

  ;; Drops the fiber (a suspended one is abandoned) and recycles its handle.
  (func (export "fiber_free") (param $handle i32)
    (local $at i32)
    (table.set $fibers (local.get $handle) (ref.null $fiber_k))
    (local.set $at (i32.shl (global.get $free_count) (i32.const 2)))
    (if (i32.ge_u (local.get $at) (i32.shl (memory.size) (i32.const 16)))
      (then (drop (memory.grow (i32.const 1)))))
    (i32.store (local.get $at) (local.get $handle))
    (global.set $free_count (i32.add (global.get $free_count) (i32.const 1)))))
