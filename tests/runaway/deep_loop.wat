;; Runs for ever three continuations deep: _start resumes the first,
;; which resumes the second, which resumes the third, which loops.
(module
  (type $f (func))
  (type $c (cont $f))
  (func $spin (loop $again (br $again)))
  (func $third (resume $c (cont.new $c (ref.func $spin))))
  (func $second (resume $c (cont.new $c (ref.func $third))))
  (elem declare func $spin $third $second)
  (func (export "_start") (resume $c (cont.new $c (ref.func $second)))))
