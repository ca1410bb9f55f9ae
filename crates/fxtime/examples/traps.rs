//! A trap reaches the host as an error with a backtrace; the store can be
//! used again afterwards.
//!
//! Run with `cargo run -p fxtime --example traps`.

use fxtime::{Engine, Instance, Module, Store, Trap};

fn main() -> anyhow::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module $example
            (func $divide (export "divide") (param i32 i32) (result i32)
              (i32.div_s (local.get 0) (local.get 1)))
            (func (export "average") (param i32 i32) (result i32)
              (call $divide (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let average = instance.get_typed_func::<(i32, i32), i32>(&store, "average")?;
    match average.call(&mut store, (10, 0)) {
        Ok(value) => println!("unexpected result {value}"),
        Err(error) => {
            let trap = error.downcast_ref::<Trap>().expect("a trap");
            println!("trapped: {trap}");
            print!("{}", trap.backtrace());
        }
    }
    println!("and again: {}", average.call(&mut store, (10, 5))?);
    Ok(())
}
