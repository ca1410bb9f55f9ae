//! Shares linear memory between the host and wasm.
//!
//! Run with `cargo run -p fxtime --example memory`.

use fxtime::{Engine, Instance, Module, Store};

fn main() -> anyhow::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (memory (export "memory") 1)
            ;; Upper-cases `len` ASCII bytes at `ptr` in place.
            (func (export "upper") (param $ptr i32) (param $len i32)
              (local $c i32)
              (block $done (loop $next
                (br_if $done (i32.eqz (local.get $len)))
                (local.set $c (i32.load8_u (local.get $ptr)))
                (if (i32.and (i32.ge_u (local.get $c) (i32.const 97))
                             (i32.le_u (local.get $c) (i32.const 122)))
                  (then (i32.store8 (local.get $ptr) (i32.sub (local.get $c) (i32.const 32)))))
                (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
                (local.set $len (i32.sub (local.get $len) (i32.const 1)))
                (br $next)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory = instance
        .get_memory(&store, "memory")
        .expect("exported memory");
    let text = b"hello, linear memory";
    memory.write(&mut store, 64, text)?;
    instance
        .get_typed_func::<(i32, i32), ()>(&store, "upper")?
        .call(&mut store, (64, text.len() as i32))?;
    let result = &memory.data(&store)[64..64 + text.len()];
    println!("{}", String::from_utf8_lossy(result));
    Ok(())
}
