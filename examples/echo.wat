;; `echo` for WASI: prints its arguments separated by spaces, then a
;; newline, and exits with 0 (or with 1 when a WASI call fails).
;;
;;   fxtime run examples/echo.wat hello world
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  ;; Layout: 0 argc, 4 argument bytes, 8 iovec, 16 bytes written,
  ;; 20 " ", 21 "\n", 1024 argv pointers, 8192 argument strings.
  (data (i32.const 20) " \n")

  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (i32.const 1)))))

  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 8) (local.get $ptr))
    (i32.store (i32.const 12) (local.get $len))
    (call $check (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))

  (func $strlen (param $ptr i32) (result i32)
    (local $end i32)
    (local.set $end (local.get $ptr))
    (loop $scan
      (if (i32.load8_u (local.get $end))
        (then
          (local.set $end (i32.add (local.get $end) (i32.const 1)))
          (br $scan))))
    (i32.sub (local.get $end) (local.get $ptr)))

  (func (export "_start")
    (local $i i32)
    (local $arg i32)
    (call $check (call $args_sizes_get (i32.const 0) (i32.const 4)))
    ;; Room for 1,792 pointers and 56 KiB of strings.
    (if (i32.or (i32.gt_u (i32.load (i32.const 0)) (i32.const 1792))
                (i32.gt_u (i32.load (i32.const 4)) (i32.const 57344)))
      (then (call $proc_exit (i32.const 1))))
    (call $check (call $args_get (i32.const 1024) (i32.const 8192)))
    ;; argv[0] is the program's name.
    (local.set $i (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 0))))
        (if (i32.gt_u (local.get $i) (i32.const 1))
          (then (call $write (i32.const 20) (i32.const 1))))
        (local.set $arg
          (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))))
        (call $write (local.get $arg) (call $strlen (local.get $arg)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $write (i32.const 21) (i32.const 1))))
