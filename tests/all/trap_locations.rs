//! A trap is reported at the instruction that trapped, whatever Cranelift
//! did with the code around it: a load merged into the instruction that
//! uses its value, a branch folded into a conditional trap, a check moved
//! into a builtin. One case per family of trapping operators, each placed
//! where such a rewrite is tempting.

use anyhow::Result;
use fxtime::{Engine, Instance, Module, Store, TrapKind, Val};
use wasmparser::{Parser, Payload};

const MODULE: &str = r#"(module
  (memory 1)
  (table $t 2 funcref)
  (type $v (func))
  (type $i (func (param i32)))
  (elem (i32.const 1) $takes_i32)
  (elem $passive func $takes_i32)
  (data $bytes "abc")
  (tag $e)
  (func $takes_i32 (param i32))

  (func (export "load_feeds_load") (param i32) (result i32)
    (i32.load (i32.load (local.get 0))))
  (func (export "load_feeds_add") (param i32) (result i32)
    (i32.add (i32.load (local.get 0)) (i32.const 5)))
  (func (export "load_feeds_extend") (param i32) (result i64)
    (i64.extend_i32_u (i32.load (local.get 0))))
  (func (export "narrow_load_feeds_load") (param i32) (result i32)
    (i32.load8_u (i32.load16_u (local.get 0))))
  (func (export "load_feeds_branch") (param i32) (result i32)
    (if (result i32) (i32.eqz (i32.load (local.get 0)))
      (then (i32.const 1)) (else (i32.const 2))))
  (func (export "float_load_feeds_add") (param i32) (result f64)
    (f64.add (f64.load (local.get 0)) (f64.const 1)))
  (func (export "vector_load_feeds_add") (param i32) (result v128)
    (i32x4.add (v128.load (local.get 0)) (v128.const i32x4 1 2 3 4)))
  (func (export "divisor_load") (param i32 i32) (result i32)
    (i32.div_s (local.get 1) (i32.load (local.get 0))))
  (func (export "store") (param i32)
    (i64.store (local.get 0) (i64.add (i64.const 1) (i64.const 2))))
  (func (export "lane_store") (param i32)
    (v128.store8_lane 3 (local.get 0) (v128.const i64x2 7 7)))

  (func (export "div_by_zero") (param i32 i32) (result i32)
    (i32.add (i32.div_s (local.get 0) (local.get 1)) (i32.const 1)))
  (func (export "rem_by_zero") (param i64 i64) (result i64)
    (i64.mul (i64.rem_u (local.get 0) (local.get 1)) (i64.const 3)))
  (func (export "div_overflow") (param i32) (result i32)
    (i32.div_s (i32.const 0x80000000) (local.get 0)))
  (func (export "trunc_nan") (param f64) (result i32)
    (i32.add (i32.trunc_f64_s (local.get 0)) (i32.const 1)))
  (func (export "trunc_overflow") (param f32) (result i64)
    (i64.trunc_f32_u (local.get 0)))

  (func (export "unreachable_in_if") (param i32) (result i32)
    (if (local.get 0) (then (unreachable)))
    (i32.const 0))
  (func (export "indirect_null") (param i32)
    (call_indirect $t (type $v) (local.get 0)))
  (func (export "indirect_type") (param i32)
    (call_indirect $t (type $v) (local.get 0)))
  (func (export "indirect_bounds") (param i32)
    (call_indirect $t (type $v) (local.get 0)))
  (func (export "call_null") (param i32)
    (call_ref $i (local.get 0) (ref.null $i)))
  (func (export "as_non_null") (param i32) (result i32)
    (drop (ref.as_non_null (ref.null func)))
    (local.get 0))
  (func (export "cast") (param i32) (result i32)
    (drop (ref.cast (ref $v) (table.get $t (local.get 0))))
    (local.get 0))
  (func (export "throw_null") (param i32)
    (throw_ref (ref.null exn)))

  (func (export "table_get") (param i32) (result i32)
    (ref.is_null (table.get $t (local.get 0))))
  (func (export "table_set") (param i32)
    (table.set $t (local.get 0) (ref.null func)))
  (func (export "table_init") (param i32)
    (table.init $t $passive (local.get 0) (i32.const 0) (i32.const 1)))
  (func (export "memory_fill") (param i32)
    (memory.fill (local.get 0) (i32.const 0) (i32.const 16)))
  (func (export "memory_copy") (param i32)
    (memory.copy (local.get 0) (i32.const 0) (i32.const 16)))
  (func (export "memory_init") (param i32)
    (memory.init $bytes (local.get 0) (i32.const 0) (i32.const 3))))"#;

/// One trapping call: the export, its arguments, the trap, and the
/// trapping instruction as the `occurrence`-th operator (from 0) of the
/// function whose name its Debug form starts with.
struct Case {
    export: &'static str,
    args: &'static [Val],
    kind: TrapKind,
    operator: &'static str,
    occurrence: usize,
}

const fn case(
    export: &'static str,
    args: &'static [Val],
    kind: TrapKind,
    operator: &'static str,
    occurrence: usize,
) -> Case {
    Case {
        export,
        args,
        kind,
        operator,
        occurrence,
    }
}

const OUT: &[Val] = &[Val::I32(70000)];
const NEAR_END: &[Val] = &[Val::I32(65535)];

#[rustfmt::skip]
const CASES: &[Case] = &[
    // The inner load traps; its value would feed the outer one.
    case("load_feeds_load", OUT, TrapKind::MemoryOutOfBounds, "I32Load", 0),
    case("load_feeds_add", OUT, TrapKind::MemoryOutOfBounds, "I32Load", 0),
    case("load_feeds_extend", OUT, TrapKind::MemoryOutOfBounds, "I32Load", 0),
    case("narrow_load_feeds_load", OUT, TrapKind::MemoryOutOfBounds, "I32Load16U", 0),
    case("load_feeds_branch", OUT, TrapKind::MemoryOutOfBounds, "I32Load", 0),
    case("float_load_feeds_add", OUT, TrapKind::MemoryOutOfBounds, "F64Load", 0),
    case("vector_load_feeds_add", NEAR_END, TrapKind::MemoryOutOfBounds, "V128Load", 0),
    case("divisor_load", &[Val::I32(70000), Val::I32(5)], TrapKind::MemoryOutOfBounds, "I32Load", 0),
    case("store", NEAR_END, TrapKind::MemoryOutOfBounds, "I64Store", 0),
    case("lane_store", OUT, TrapKind::MemoryOutOfBounds, "V128Store8Lane", 0),
    case("div_by_zero", &[Val::I32(1), Val::I32(0)], TrapKind::IntegerDivisionByZero, "I32DivS", 0),
    case("rem_by_zero", &[Val::I64(1), Val::I64(0)], TrapKind::IntegerDivisionByZero, "I64RemU", 0),
    case("div_overflow", &[Val::I32(-1)], TrapKind::IntegerOverflow, "I32DivS", 0),
    case("trunc_nan", &[Val::F64(0x7ff8_0000_0000_0000)], TrapKind::BadConversionToInteger, "I32TruncF64S", 0),
    case("trunc_overflow", &[Val::F32(0x5f80_0000)], TrapKind::IntegerOverflow, "I64TruncF32U", 0),
    case("unreachable_in_if", &[Val::I32(1)], TrapKind::Unreachable, "Unreachable", 0),
    case("indirect_null", &[Val::I32(0)], TrapKind::UninitializedElement, "CallIndirect", 0),
    case("indirect_type", &[Val::I32(1)], TrapKind::IndirectCallTypeMismatch, "CallIndirect", 0),
    case("indirect_bounds", &[Val::I32(2)], TrapKind::UndefinedElement, "CallIndirect", 0),
    case("call_null", &[Val::I32(0)], TrapKind::NullFunctionReference, "CallRef", 0),
    case("as_non_null", &[Val::I32(0)], TrapKind::NullReference, "RefAsNonNull", 0),
    case("cast", &[Val::I32(1)], TrapKind::CastFailure, "RefCastNonNull", 0),
    case("throw_null", &[Val::I32(0)], TrapKind::NullExceptionReference, "ThrowRef", 0),
    case("table_get", &[Val::I32(2)], TrapKind::TableOutOfBounds, "TableGet", 0),
    case("table_set", &[Val::I32(2)], TrapKind::TableOutOfBounds, "TableSet", 0),
    case("table_init", &[Val::I32(2)], TrapKind::TableOutOfBounds, "TableInit", 0),
    case("memory_fill", NEAR_END, TrapKind::MemoryOutOfBounds, "MemoryFill", 0),
    case("memory_copy", NEAR_END, TrapKind::MemoryOutOfBounds, "MemoryCopy", 0),
    case("memory_init", NEAR_END, TrapKind::MemoryOutOfBounds, "MemoryInit", 0),
];

/// Byte offsets of the operators of every defined function, by the
/// export's function index, with each operator's variant name.
fn operator_offsets(wasm: &[u8]) -> Result<Vec<Vec<(usize, String)>>> {
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload? {
            let mut ops = Vec::new();
            let mut reader = body.get_operators_reader()?;
            while !reader.eof() {
                let offset = usize::try_from(reader.original_position())?;
                let name = format!("{:?}", reader.read()?);
                let name = name
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                ops.push((offset, name));
            }
            bodies.push(ops);
        }
    }
    Ok(bodies)
}

#[test]
fn traps_are_reported_at_the_trapping_instruction() -> Result<()> {
    let wasm = wat::parse_str(MODULE)?;
    let bodies = operator_offsets(&wasm)?;
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let mut wrong = Vec::new();
    for case in CASES {
        let trap = super::traps::trap_of(&mut store, &instance, case.export, case.args);
        assert_eq!(trap.kind(), case.kind, "{}", case.export);
        let frame = &trap.backtrace().frames()[0];
        // Defined functions follow no imports here, so a function's index
        // is its body's.
        let ops = &bodies[frame.func_index as usize];
        let expected = ops
            .iter()
            .filter(|(_, name)| name == case.operator)
            .nth(case.occurrence)
            .unwrap_or_else(|| panic!("{}: no {}", case.export, case.operator))
            .0;
        let actual = frame.wasm_offset.expect("an offset") as usize;
        if actual != expected {
            let at = ops
                .iter()
                .find(|(offset, _)| *offset == actual)
                .map_or("?", |(_, name)| name.as_str());
            wrong.push(format!(
                "{}: reported at {actual:#x} ({at}), trapped at {expected:#x} ({})",
                case.export, case.operator
            ));
        }
    }
    assert!(wrong.is_empty(), "misplaced traps:\n{}", wrong.join("\n"));
    Ok(())
}
