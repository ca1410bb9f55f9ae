//! The `spectest` host module that the specification scripts import from.
//!
//! It follows the reference interpreter's `spectest` module: print functions
//! (which record what they print, as the interpreter would show it), four constant globals holding 666 / 666.6, a funcref
//! table of 10..20 elements (and `table64`, the same with 64-bit indices),
//! and a memory of 1..2 pages. `spectest.unknown` deliberately does not
//! exist.

use anyhow::Result;
use fxtime::{
    Extern, FuncType, Global, GlobalType, Linker, Memory, MemoryType, Mutability, RefType, Store,
    Table, TableType, Val, ValType,
};

/// Where the print functions record their lines.
pub(crate) type Printed = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A printed value as the reference interpreter shows it: `5 : i32`.
fn show(value: &Val) -> String {
    match value {
        Val::I32(v) => format!("{v} : i32"),
        Val::I64(v) => format!("{v} : i64"),
        Val::F32(bits) => format!("{} : f32", f32::from_bits(*bits)),
        Val::F64(bits) => format!("{} : f64", f64::from_bits(*bits)),
        other => format!("{other:?}"),
    }
}

/// Name of the host module.
const MODULE: &str = "spectest";

/// Defines every `spectest` export in `linker`, creating its globals, table
/// and memory in `store`.
pub(crate) fn register(
    store: &mut Store<()>,
    linker: &mut Linker<()>,
    printed: Printed,
) -> Result<()> {
    let prints: [(&str, Vec<ValType>); 7] = [
        ("print", vec![]),
        ("print_i32", vec![ValType::I32]),
        ("print_i64", vec![ValType::I64]),
        ("print_f32", vec![ValType::F32]),
        ("print_f64", vec![ValType::F64]),
        ("print_i32_f32", vec![ValType::I32, ValType::F32]),
        ("print_f64_f64", vec![ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let printed = printed.clone();
        linker.func_new(
            MODULE,
            name,
            FuncType::new(params, []),
            move |_caller, params: &[Val], _results: &mut [Val]| {
                let line: Vec<_> = params.iter().map(show).collect();
                printed.lock().unwrap().push(line.join(" "));
                Ok(())
            },
        )?;
    }

    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, init) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), init)?;
        linker.define(&*store, MODULE, name, Extern::Global(global))?;
    }

    let table = Table::new(
        &mut *store,
        TableType::new(RefType::FUNCREF, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(&*store, MODULE, "table", Extern::Table(table))?;
    let table64 = Table::new(
        &mut *store,
        TableType::new64(RefType::FUNCREF, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(&*store, MODULE, "table64", Extern::Table(table64))?;

    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&*store, MODULE, "memory", Extern::Memory(memory))?;
    Ok(())
}
