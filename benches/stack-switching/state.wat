;; Counting to N = 10,000,000 through state effects: $counter reads the
;; state with `suspend $get` and writes it with `suspend $put`, running
;;   while (get() < N) put(get() + 1); return get();
;; so 3 effects per step (about 30 M suspend/resume pairs). The handler
;; keeps the state in a local: on $get it gives the state to the
;; continuation with cont.bind (which makes it a continuation of no
;; parameters, like the one $put leaves), on $put it stores the value; one
;; `resume` site serves both.
;; Checks the returned value and final state (N), and the number of gets
;; (2 N + 2: N + 1 tests, N reads for put, one read at the end) and puts
;; (N) handled.
(module
  (type $f0 (func (result i32)))
  (type $c0 (cont $f0))
  (type $fi (func (param i32) (result i32)))
  (type $ci (cont $fi))
  (tag $get (result i32))
  (tag $put (param i32))
  (func $counter (result i32)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (suspend $get) (i32.const 10000000)))
        (suspend $put (i32.add (suspend $get) (i32.const 1)))
        (br $step)))
    (suspend $get))
  (elem declare func $counter)
  (func (export "_start")
    (local $state i32) (local $k (ref null $c0)) (local $kget (ref null $ci))
    (local $ret i32) (local $gets i32) (local $puts i32)
    (local.set $k (cont.new $c0 (ref.func $counter)))
    (block $done
      (loop $run
        (block $on_put (result i32 (ref $c0))
          (block $on_get (result (ref $ci))
            (local.set $ret
              (resume $c0 (on $get $on_get) (on $put $on_put) (local.get $k)))
            (br $done))
          ;; get: the continuation takes the state
          (local.set $kget)
          (local.set $gets (i32.add (local.get $gets) (i32.const 1)))
          (local.set $k (cont.bind $ci $c0 (local.get $state) (local.get $kget)))
          (br $run))
        ;; put: the new state, then the continuation
        (local.set $k)
        (local.set $state)
        (local.set $puts (i32.add (local.get $puts) (i32.const 1)))
        (br $run)))
    (if (i32.ne (local.get $ret) (i32.const 10000000)) (then unreachable))
    (if (i32.ne (local.get $state) (i32.const 10000000)) (then unreachable))
    (if (i32.ne (local.get $gets) (i32.const 20000002)) (then unreachable))
    (if (i32.ne (local.get $puts) (i32.const 10000000)) (then unreachable))))
