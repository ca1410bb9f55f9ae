//! 64-bit memories and tables through the embedding API: growth past
//! 4 GiB, the accesses at its end, and addresses that would reach another
//! memory if the bounds check let them through.

use anyhow::Result;
use fxtime::{
    Engine, Instance, Linker, Memory, MemoryType, Module, RefType, Store, Table, TableType,
    TrapKind, Val,
};
use fxtime_tests::trap_kind;

/// A module importing `host.memory` as a 64-bit memory, with byte loads
/// and stores at i64 addresses.
const BYTE_ACCESS: &str = r#"(module
    (import "host" "memory" (memory i64 0))
    (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
    (func (export "store8") (param i64 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "size") (result i64) (memory.size)))"#;

fn with_memory(store: &mut Store<()>, memory: Memory) -> Result<Instance> {
    let mut linker = Linker::new(store.engine());
    linker.define(&*store, "host", "memory", memory)?;
    let module = Module::new(store.engine(), BYTE_ACCESS)?;
    linker.instantiate(store, &module)
}

#[test]
fn a_64_bit_memory_grows_past_4_gib_and_traps_one_byte_past_its_end() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new64(1, None))?;
    assert!(memory.ty(&store).is_64());
    let instance = with_memory(&mut store, memory)?;
    let load8 = instance.get_typed_func::<i64, i32>(&store, "load8")?;
    let store8 = instance.get_typed_func::<(i64, i32), ()>(&store, "store8")?;

    assert_eq!(memory.grow(&mut store, 65536)?, 1);
    let len = memory.data_size(&store) as u64;
    assert_eq!(len, (4 << 30) + 65536);
    let size = instance.get_typed_func::<(), i64>(&store, "size")?;
    assert_eq!(size.call(&mut store, ())?, 65537);

    // The last bytes, written by wasm and read by the host, and back.
    store8.call(&mut store, (len as i64 - 1, 0x5a))?;
    assert_eq!(memory.data(&store)[len as usize - 1], 0x5a);
    memory.write(&mut store, len as usize - 2, &[0x3c])?;
    assert_eq!(load8.call(&mut store, len as i64 - 2)?, 0x3c);

    let past_end = load8.call(&mut store, len as i64).unwrap_err();
    assert_eq!(trap_kind(&past_end), Some(TrapKind::MemoryOutOfBounds));
    assert_eq!(past_end.to_string(), "out of bounds memory access");
    let past_end = store8.call(&mut store, (len as i64, 1)).unwrap_err();
    assert_eq!(trap_kind(&past_end), Some(TrapKind::MemoryOutOfBounds));
    // The store stays usable.
    assert_eq!(load8.call(&mut store, len as i64 - 1)?, 0x5a);
    Ok(())
}

/// Two 64-bit memories of one store: from the first, the address of the
/// second's data must trap, wherever the system placed the two.
#[test]
fn an_address_beyond_a_64_bit_memory_never_reaches_another() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let first = Memory::new(&mut store, MemoryType::new64(1, None))?;
    let second = Memory::new(&mut store, MemoryType::new64(1, None))?;
    first.data_mut(&mut store)[0] = 1;
    second.data_mut(&mut store)[0] = 2;
    let base = |memory: Memory, store: &Store<()>| memory.data(store).as_ptr() as u64;
    let (first_base, second_base) = (base(first, &store), base(second, &store));
    // Access from the lower memory, so the distance is a positive address.
    let (from, distance) = if first_base < second_base {
        (first, second_base - first_base)
    } else {
        (second, first_base - second_base)
    };
    let instance = with_memory(&mut store, from)?;
    let load8 = instance.get_typed_func::<i64, i32>(&store, "load8")?;
    for address in [distance, distance + 1, distance.wrapping_neg()] {
        let error = load8.call(&mut store, address as i64).unwrap_err();
        assert_eq!(
            trap_kind(&error),
            Some(TrapKind::MemoryOutOfBounds),
            "address {address:#x}"
        );
    }
    Ok(())
}

#[test]
fn imports_match_the_index_type() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let narrow = Memory::new(&mut store, MemoryType::new(1, None))?;
    let error = with_memory(&mut store, narrow).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("expected a 64-bit memory with minimum 0, found a memory with minimum 1"),
        "{error:#}"
    );
    Ok(())
}

#[test]
fn a_64_bit_table_from_the_host() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let table = Table::new(
        &mut store,
        TableType::new64(RefType::FUNCREF, 2, Some(1 << 40)),
        Val::FuncRef(None),
    )?;
    assert!(table.ty(&store).is_64());
    assert_eq!(table.size(&store), 2);
    assert!(table.get(&store, 1 << 32).is_none());
    assert!(table.set(&mut store, 1 << 32, Val::FuncRef(None)).is_err());
    assert!(table.grow(&mut store, 1 << 32, Val::FuncRef(None)).is_err());
    assert_eq!(table.grow(&mut store, 3, Val::FuncRef(None))?, 2);

    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "table", table)?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "table" (table i64 1 funcref))
            (func (export "size") (result i64) (table.size))
            (func (export "grow") (param i64) (result i64)
              (table.grow (ref.null func) (local.get 0))))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let size = instance.get_typed_func::<(), i64>(&store, "size")?;
    let grow = instance.get_typed_func::<i64, i64>(&store, "grow")?;
    assert_eq!(size.call(&mut store, ())?, 5);
    assert_eq!(grow.call(&mut store, 1 << 33)?, -1);
    assert_eq!(grow.call(&mut store, 1)?, 5);
    assert_eq!(table.size(&store), 6);
    Ok(())
}
