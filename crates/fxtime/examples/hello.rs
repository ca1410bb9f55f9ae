//! Calls a host function from wasm, with state kept in the store.
//!
//! Run with `cargo run -p fxtime --example hello`.

use fxtime::{Caller, Engine, Linker, Module, Store};

fn main() -> anyhow::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "greet" (func $greet (param i32)))
            (func (export "run")
              (call $greet (i32.const 1))
              (call $greet (i32.const 2))))"#,
    )?;
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "greet", |mut caller: Caller<'_, u32>, n: i32| {
        *caller.data_mut() += 1;
        println!("hello #{n} from wasm");
    })?;
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&store, "run")?
        .call(&mut store, ())?;
    println!("the host was called {} times", store.data());
    Ok(())
}
