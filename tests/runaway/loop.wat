;; Runs for ever: a loop with nothing in it.
(module
  (func (export "_start") (loop $again (br $again))))
