//! Constant expressions (global initializers, segment offsets, element
//! items), decoded once so the runtime can evaluate them without wasmparser.

use crate::{FuncIndex, GlobalIndex, TypeIndex, WasmError, WasmResult};

/// One operator of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstOp {
    /// `i32.const`.
    I32Const(i32),
    /// `i64.const`.
    I64Const(i64),
    /// `f32.const`, as bits.
    F32Const(u32),
    /// `f64.const`, as bits.
    F64Const(u64),
    /// `v128.const`, its bytes as a little-endian integer.
    V128Const(u128),
    /// `ref.i31` of the `i32` below.
    RefI31,
    /// `ref.null` of any type.
    RefNull,
    /// `ref.func`.
    RefFunc(FuncIndex),
    /// `global.get`.
    GlobalGet(GlobalIndex),
    /// `struct.new`: the type's fields from the stack.
    StructNew(TypeIndex),
    /// `struct.new_default`.
    StructNewDefault(TypeIndex),
    /// `array.new`: a value and a length from the stack.
    ArrayNew(TypeIndex),
    /// `array.new_default`: a length from the stack.
    ArrayNewDefault(TypeIndex),
    /// `array.new_fixed`: that many elements from the stack.
    ArrayNewFixed(TypeIndex, u32),
    /// `any.convert_extern` and `extern.convert_any`: the same word.
    ConvertReference,
    /// `i32.add`, `i32.sub`, `i32.mul` (extended-const).
    I32Add,
    /// `i32.sub`.
    I32Sub,
    /// `i32.mul`.
    I32Mul,
    /// `i64.add`.
    I64Add,
    /// `i64.sub`.
    I64Sub,
    /// `i64.mul`.
    I64Mul,
}

/// A validated constant expression: a stack program of [`ConstOp`]s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConstExpr {
    /// The operators, in order (the final `end` dropped).
    pub ops: Vec<ConstOp>,
}

impl ConstExpr {
    /// Decodes a constant expression the validator has already accepted.
    pub fn from_wasmparser(expr: &wasmparser::ConstExpr<'_>) -> WasmResult<ConstExpr> {
        use wasmparser::Operator as O;
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let offset = reader.original_position();
            let op = match reader.read()? {
                O::I32Const { value } => ConstOp::I32Const(value),
                O::I64Const { value } => ConstOp::I64Const(value),
                O::F32Const { value } => ConstOp::F32Const(value.bits()),
                O::F64Const { value } => ConstOp::F64Const(value.bits()),
                O::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                O::RefNull { .. } => ConstOp::RefNull,
                O::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex(function_index)),
                O::GlobalGet { global_index } => ConstOp::GlobalGet(GlobalIndex(global_index)),
                O::RefI31 => ConstOp::RefI31,
                O::StructNew { struct_type_index } => {
                    ConstOp::StructNew(TypeIndex(struct_type_index))
                }
                O::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(TypeIndex(struct_type_index))
                }
                O::ArrayNew { array_type_index } => ConstOp::ArrayNew(TypeIndex(array_type_index)),
                O::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(TypeIndex(array_type_index))
                }
                O::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(TypeIndex(array_type_index), array_size),
                O::AnyConvertExtern | O::ExternConvertAny => ConstOp::ConvertReference,
                O::I32Add => ConstOp::I32Add,
                O::I32Sub => ConstOp::I32Sub,
                O::I32Mul => ConstOp::I32Mul,
                O::I64Add => ConstOp::I64Add,
                O::I64Sub => ConstOp::I64Sub,
                O::I64Mul => ConstOp::I64Mul,
                O::End => continue,
                other => {
                    let name = format!("{other:?}");
                    let name = name.split([' ', '{', '(']).next().unwrap_or_default();
                    return Err(WasmError::Unsupported(format!(
                        "gc (constant expression operator {name} at offset {offset:#x})"
                    )));
                }
            };
            ops.push(op);
        }
        Ok(ConstExpr { ops })
    }

    /// A single `i32.const`, for building expressions by hand.
    pub fn i32(value: i32) -> ConstExpr {
        ConstExpr {
            ops: vec![ConstOp::I32Const(value)],
        }
    }
}
