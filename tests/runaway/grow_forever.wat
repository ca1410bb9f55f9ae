;; Grows its memory and its table one step at a time until a growth
;; fails; returns the pages (or elements) reached.
(module
  (memory 1)
  (table 1 funcref)
  (func (export "grow_memory") (result i32)
    (loop $again
      (br_if $again (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (memory.size))
  (func (export "grow_table") (result i32)
    (loop $again
      (br_if $again (i32.ne (table.grow (ref.null func) (i32.const 1)) (i32.const -1))))
    (table.size)))
