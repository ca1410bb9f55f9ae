//! Conversion of script arguments to engine values, and matching of engine
//! results against the script's expected results.
//!
//! Floats are compared bit for bit, except for the `nan:canonical` and
//! `nan:arithmetic` patterns, which accept any NaN of that class with either
//! sign.

use anyhow::{Result, bail};
use fxtime::{AnyRef, ExternRef, Store, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::token::{F32, F64};
use wast::{WastArg, WastRet};

/// Converts one script argument to an engine value.
pub(crate) fn arg_to_val(store: &mut Store<()>, arg: &WastArg<'_>) -> Result<Val> {
    let WastArg::Core(arg) = arg else {
        bail!("component-model arguments are not supported");
    };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(ty) => match null_kind(ty) {
            Some(NullKind::Func) => Val::FuncRef(None),
            Some(NullKind::Extern) => Val::ExternRef(None),
            Some(NullKind::Exn) => Val::ExnRef(None),
            Some(NullKind::Any) => Val::AnyRef(None),
            Some(NullKind::Cont) => Val::ContRef(None),
            None => bail!("unsupported argument: ref.null {ty:?}"),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(&mut *store, *n)?)),
        WastArgCore::RefHost(n) => {
            let host = ExternRef::new(&mut *store, *n)?;
            Val::AnyRef(Some(AnyRef::convert_extern(host)))
        }
    })
}

/// The reference hierarchies whose null values the engine's `Val` can hold.
enum NullKind {
    Func,
    Extern,
    Exn,
    Any,
    Cont,
}

/// Which hierarchy a `ref.null` of heap type `ty` belongs to, if supported.
fn null_kind(ty: &HeapType<'_>) -> Option<NullKind> {
    match ty {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Some(NullKind::Func),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Some(NullKind::Extern),
            AbstractHeapType::Exn | AbstractHeapType::NoExn => Some(NullKind::Exn),
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => Some(NullKind::Any),
            AbstractHeapType::Cont | AbstractHeapType::NoCont => Some(NullKind::Cont),
        },
        _ => None,
    }
}

/// Checks `actual` against one expected result; `Err` says why it differs.
pub(crate) fn match_result(store: &Store<()>, actual: &Val, expected: &WastRet<'_>) -> Result<()> {
    let WastRet::Core(expected) = expected else {
        bail!("component-model results are not supported");
    };
    if matches_core(store, actual, expected)? {
        Ok(())
    } else {
        bail!(
            "expected {}, got {}",
            describe_expected(expected),
            describe(store, actual)
        )
    }
}

/// Whether `actual` matches `expected`; `Err` for patterns this runner
/// cannot check.
fn matches_core(store: &Store<()>, actual: &Val, expected: &WastRetCore<'_>) -> Result<bool> {
    Ok(match (expected, actual) {
        (WastRetCore::Either(options), _) => {
            for option in options {
                if matches_core(store, actual, option)? {
                    return Ok(true);
                }
            }
            false
        }
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(e), Val::F32(a)) => f32_matches(e, *a),
        (WastRetCore::F64(e), Val::F64(a)) => f64_matches(e, *a),
        (WastRetCore::V128(e), Val::V128(a)) => v128_matches(e, *a),
        (WastRetCore::RefNull(ty), _) => {
            let kind = ty.as_ref().and_then(null_kind);
            matches!(
                (kind, actual),
                (Some(NullKind::Func) | None, Val::FuncRef(None))
                    | (Some(NullKind::Extern) | None, Val::ExternRef(None))
                    | (Some(NullKind::Exn) | None, Val::ExnRef(None))
                    | (Some(NullKind::Any) | None, Val::AnyRef(None))
                    | (Some(NullKind::Cont) | None, Val::ContRef(None))
            )
        }
        (WastRetCore::RefExtern(n), Val::ExternRef(Some(r))) => match n {
            None => true,
            Some(n) => host_number(store, r) == Some(*n),
        },
        (WastRetCore::RefFunc(_), Val::FuncRef(f)) => f.is_some(),
        (WastRetCore::RefHost(n), Val::AnyRef(Some(a))) => {
            a.as_host().and_then(|e| host_number(store, &e)) == Some(*n)
        }
        (WastRetCore::RefAny, Val::AnyRef(a)) => a.is_some(),
        (WastRetCore::RefEq, Val::AnyRef(Some(a))) => {
            a.as_i31().is_some() || a.is_struct() || a.is_array()
        }
        (WastRetCore::RefI31, Val::AnyRef(Some(a))) => a.as_i31().is_some(),
        (WastRetCore::RefStruct, Val::AnyRef(Some(a))) => a.is_struct(),
        (WastRetCore::RefArray, Val::AnyRef(Some(a))) => a.is_array(),
        (WastRetCore::RefI31Shared, _) => bail!(
            "unsupported result pattern {} (shared references)",
            describe_expected(expected)
        ),
        _ => false,
    })
}

/// The number a script's `ref.extern N` or `ref.host N` wrapped.
fn host_number(store: &Store<()>, r: &ExternRef) -> Option<u32> {
    r.data(store)?.downcast_ref::<u32>().copied()
}

/// f32 canonical NaN bits without the sign.
const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
/// f64 canonical NaN bits without the sign.
const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

fn f32_matches(expected: &NanPattern<F32>, bits: u32) -> bool {
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == F32_CANONICAL_NAN,
        NanPattern::ArithmeticNan => bits & F32_CANONICAL_NAN == F32_CANONICAL_NAN,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn f64_matches(expected: &NanPattern<F64>, bits: u64) -> bool {
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == F64_CANONICAL_NAN,
        NanPattern::ArithmeticNan => bits & F64_CANONICAL_NAN == F64_CANONICAL_NAN,
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// Matches a v128 value lane by lane (little-endian lanes).
fn v128_matches(expected: &V128Pattern, actual: u128) -> bool {
    let bytes = actual.to_le_bytes();
    let lane = |i: usize, width: usize| -> u64 {
        let mut buf = [0u8; 8];
        buf[..width].copy_from_slice(&bytes[i * width..(i + 1) * width]);
        u64::from_le_bytes(buf)
    };
    match expected {
        V128Pattern::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 1) == u64::from(*v as u8)),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 2) == u64::from(*v as u16)),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 4) == u64::from(*v as u32)),
        V128Pattern::I64x2(e) => e.iter().enumerate().all(|(i, v)| lane(i, 8) == *v as u64),
        V128Pattern::F32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| u32::try_from(lane(i, 4)).is_ok_and(|bits| f32_matches(v, bits))),
        V128Pattern::F64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| f64_matches(v, lane(i, 8))),
    }
}

/// Human-readable form of an engine value, for failure messages.
pub(crate) fn describe(store: &Store<()>, val: &Val) -> String {
    match val {
        Val::I32(v) => format!("i32 {v} (0x{:08x})", *v as u32),
        Val::I64(v) => format!("i64 {v} (0x{:016x})", *v as u64),
        Val::F32(bits) => format!("f32 {} (0x{bits:08x})", f32::from_bits(*bits)),
        Val::F64(bits) => format!("f64 {} (0x{bits:016x})", f64::from_bits(*bits)),
        Val::V128(v) => format!("v128 0x{v:032x}"),
        Val::FuncRef(None) => "ref.null func".to_string(),
        Val::FuncRef(Some(_)) => "funcref (non-null)".to_string(),
        Val::ExternRef(None) => "ref.null extern".to_string(),
        Val::ExternRef(Some(r)) => match host_number(store, r) {
            Some(n) => format!("ref.extern {n}"),
            None => "externref (non-null, not a u32)".to_string(),
        },
        Val::ExnRef(None) => "ref.null exn".to_string(),
        Val::ExnRef(Some(_)) => "exnref (non-null)".to_string(),
        Val::AnyRef(None) => "ref.null any".to_string(),
        Val::AnyRef(Some(a)) => match a.as_i31() {
            Some(i31) => format!("ref.i31 {}", i31.get_u32()),
            None if a.is_struct() => "ref.struct".to_string(),
            None if a.is_array() => "ref.array".to_string(),
            None => match a.as_host().and_then(|e| host_number(store, &e)) {
                Some(n) => format!("ref.host {n}"),
                None => "ref.any".to_string(),
            },
        },
        Val::ContRef(None) => "ref.null cont".to_string(),
        Val::ContRef(Some(_)) => "contref (non-null)".to_string(),
    }
}

/// Human-readable form of an expected result, for failure messages.
fn describe_expected(expected: &WastRetCore<'_>) -> String {
    fn float<T>(p: &NanPattern<T>, value: impl Fn(&T) -> String) -> String {
        match p {
            NanPattern::CanonicalNan => "nan:canonical".to_string(),
            NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
            NanPattern::Value(v) => value(v),
        }
    }
    match expected {
        WastRetCore::I32(v) => format!("i32 {v} (0x{:08x})", *v as u32),
        WastRetCore::I64(v) => format!("i64 {v} (0x{:016x})", *v as u64),
        WastRetCore::F32(p) => format!(
            "f32 {}",
            float(p, |v| format!(
                "{} (0x{:08x})",
                f32::from_bits(v.bits),
                v.bits
            ))
        ),
        WastRetCore::F64(p) => format!(
            "f64 {}",
            float(p, |v| format!(
                "{} (0x{:016x})",
                f64::from_bits(v.bits),
                v.bits
            ))
        ),
        WastRetCore::V128(p) => format!("v128 {p:?}"),
        WastRetCore::RefNull(None) => "ref.null".to_string(),
        WastRetCore::RefNull(Some(ty)) => format!("ref.null {ty:?}"),
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefHost(n) => format!("ref.host {n}"),
        WastRetCore::RefFunc(_) => "ref.func (non-null funcref)".to_string(),
        WastRetCore::RefAny => "ref.any".to_string(),
        WastRetCore::RefEq => "ref.eq".to_string(),
        WastRetCore::RefArray => "ref.array".to_string(),
        WastRetCore::RefStruct => "ref.struct".to_string(),
        WastRetCore::RefI31 => "ref.i31".to_string(),
        WastRetCore::RefI31Shared => "ref.i31_shared".to_string(),
        WastRetCore::Either(options) => {
            let options: Vec<String> = options.iter().map(describe_expected).collect();
            format!("either({})", options.join(" | "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        assert!(f32_matches(&NanPattern::CanonicalNan, 0x7fc0_0000));
        assert!(f32_matches(&NanPattern::CanonicalNan, 0xffc0_0000));
        assert!(!f32_matches(&NanPattern::CanonicalNan, 0x7fc0_0001));
        assert!(f32_matches(&NanPattern::ArithmeticNan, 0x7fc0_0001));
        assert!(!f32_matches(&NanPattern::ArithmeticNan, 0x7f80_0001));
        assert!(f64_matches(
            &NanPattern::CanonicalNan,
            0xfff8_0000_0000_0000
        ));
        assert!(f64_matches(
            &NanPattern::ArithmeticNan,
            0x7ff8_0000_0000_0001
        ));
        assert!(!f64_matches(
            &NanPattern::ArithmeticNan,
            0x7ff0_0000_0000_0001
        ));
    }

    #[test]
    fn v128_lanes() {
        let v = u128::from_le_bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(v128_matches(&V128Pattern::I32x4([1, 2, 3, -1]), v));
        assert!(!v128_matches(&V128Pattern::I32x4([1, 2, 3, 4]), v));
        assert!(v128_matches(
            &V128Pattern::I64x2([0x2_0000_0001, -0xffff_fffd]),
            v
        ));
    }
}
