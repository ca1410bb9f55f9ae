//! Host values handed to wasm as `externref`s and kept in a table: each
//! round's value replaces an older one, which the collector frees (and
//! drops) once nothing refers to it. Prints the peak memory, which does
//! not grow with the number of rounds.
//!
//! Run with `cargo run --release -p fxtime --example externrefs -- 10000000`.

use fxtime::{Engine, ExternRef, Linker, Module, RootScope, Store, Val};

fn main() -> anyhow::Result<()> {
    let rounds: i32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (table $t 16 externref)
            (func (export "put") (param i32 externref)
              (table.set $t (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let put = instance
        .get_func(&store, "put")
        .ok_or_else(|| anyhow::anyhow!("no export `put`"))?;
    for i in 0..rounds {
        // The round's handle keeps its value alive until the scope ends;
        // after that only the table does.
        let mut scope = RootScope::new(&mut store);
        let value = ExternRef::new(&mut scope, format!("value {i}"))?;
        put.call(
            &mut scope,
            &[Val::I32(i % 16), Val::ExternRef(Some(value))],
            &mut [],
        )?;
    }
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find(|line| line.starts_with("VmHWM"))
        .unwrap_or("VmHWM: unknown");
    println!(
        "{rounds} externrefs through a table: {} collections, peak {}",
        store.gc_collections(),
        peak.trim_start_matches("VmHWM:").trim()
    );
    Ok(())
}
