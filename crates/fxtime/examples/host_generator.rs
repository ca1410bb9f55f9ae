//! The host as a handler: pulls the values of a wasm generator by resuming
//! it from Rust, each `suspend $yield` handing one value to the host.
//!
//! Run with `cargo run --release -p fxtime --example host_generator`.

use fxtime::{Config, ContResumed, Engine, Instance, Module, Store, Val};

/// Yields 0, 1, ..., n - 1 to whoever handles `$yield`, then returns.
const GENERATOR: &str = r#"(module
  (type $gen (func (param i64)))
  (type $gen_k (cont $gen))
  (tag $yield (export "yield") (param i64))
  (func $count (param $n i64) (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (suspend $yield (local.get $i))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next))))
  (elem declare func $count)
  (func (export "generator") (result (ref $gen_k))
    (cont.new $gen_k (ref.func $count))))"#;

const COUNT: i64 = 1_000_000;

fn main() -> anyhow::Result<()> {
    let engine = Engine::new(Config::new().wasm_stack_switching(true))?;
    let module = Module::new(&engine, GENERATOR)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let yield_tag = instance
        .get_tag(&store, "yield")
        .expect("the module exports its tag");
    let generator = instance
        .get_func(&store, "generator")
        .expect("the module exports its constructor");

    let mut created = [Val::ContRef(None)];
    generator.call(&mut store, &[], &mut created)?;
    let Val::ContRef(Some(mut next)) = created[0] else {
        anyhow::bail!("the constructor returned no continuation");
    };
    // The first resume passes the generator's argument; later ones pass
    // the results of `$yield`: none.
    let mut args = vec![Val::I64(COUNT)];
    let mut sum: i64 = 0;
    let mut values = 0u64;
    while let ContResumed::Suspended(suspension) = next.resume(&mut store, &args, &[yield_tag])? {
        sum += suspension.payload()[0].i64().unwrap_or(0);
        values += 1;
        next = suspension.continuation();
        args.clear();
    }
    println!("pulled {values} values");
    println!("sum {sum}");
    Ok(())
}
