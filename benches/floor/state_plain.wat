;; The fiber-free floor of state: counting to N = 10,000,000 with the same
;;   while (get() < N) put(get() + 1); return get();
;; where get and put are plain calls on a global state instead of effects.
;; Checks the returned value and final state (N), and the number of get
;; calls (2 N + 2) and put calls (N).
(module
  (global $state (mut i32) (i32.const 0))
  (global $gets (mut i32) (i32.const 0))
  (global $puts (mut i32) (i32.const 0))
  (func $get (result i32)
    (global.set $gets (i32.add (global.get $gets) (i32.const 1)))
    (global.get $state))
  (func $put (param $v i32)
    (global.set $puts (i32.add (global.get $puts) (i32.const 1)))
    (global.set $state (local.get $v)))
  (func $counter (result i32)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (call $get) (i32.const 10000000)))
        (call $put (i32.add (call $get) (i32.const 1)))
        (br $step)))
    (call $get))
  (func (export "_start")
    (if (i32.ne (call $counter) (i32.const 10000000)) (then unreachable))
    (if (i32.ne (global.get $state) (i32.const 10000000)) (then unreachable))
    (if (i32.ne (global.get $gets) (i32.const 20000002)) (then unreachable))
    (if (i32.ne (global.get $puts) (i32.const 10000000)) (then unreachable))))
