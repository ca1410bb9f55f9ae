//! Signatures and type mappings shared by function translation and
//! trampolines.
//!
//! Every wasm function, defined or host, is called with the tail calling
//! convention as `f(callee_vmctx, caller_vmctx, params...) -> results`;
//! `callee_vmctx` carries `ArgumentPurpose::VMContext` so Cranelift can load
//! the stack limit from it in the prologue.

use cranelift_codegen::ir::{self, AbiParam, ArgumentPurpose, InstBuilder, Signature, types};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use fxtime_environ::vm::{Builtin, BuiltinType, offsets};
use fxtime_environ::{FuncType, TrapKind, WasmValType};

/// The pointer type of the target (x86-64 only).
pub(crate) const POINTER: ir::Type = types::I64;

/// Creates, enters and seals the entry block of the function being built;
/// returns its parameters (the function's).
pub(crate) fn enter_function(builder: &mut FunctionBuilder<'_>) -> Vec<ir::Value> {
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    builder.block_params(entry).to_vec()
}

/// Flags for the loads and stores of wasm values in runtime slots (value
/// arrays, globals, exception payloads): they cannot trap, but are not
/// marked aligned, so that a `v128` in a slot aligned to less than 16
/// bytes is never folded into an SSE instruction that needs alignment.
pub(crate) fn value_flags() -> ir::MemFlagsData {
    ir::MemFlagsData::new().with_notrap()
}

/// The Cranelift type holding a wasm value type.
pub(crate) fn ir_type(ty: WasmValType) -> ir::Type {
    match ty {
        WasmValType::I32 => types::I32,
        WasmValType::I64 => types::I64,
        WasmValType::F32 => types::F32,
        WasmValType::F64 => types::F64,
        WasmValType::V128 => types::I8X16,
        WasmValType::Ref(r) if r.is_cont() => types::I128,
        WasmValType::Ref(_) => POINTER,
    }
}

/// The signature of a wasm function of type `ty`.
pub(crate) fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

/// The signature of a builtin: the caller's vmctx, then its parameters.
pub(crate) fn builtin_signature(builtin: Builtin) -> Signature {
    let (params, result) = builtin.signature();
    let ir = |t: &BuiltinType| match t {
        BuiltinType::Pointer => POINTER,
        BuiltinType::I32 => types::I32,
        BuiltinType::I64 => types::I64,
    };
    let call_conv = if builtin.uses_tail_convention() {
        CallConv::Tail
    } else if builtin.preserves_registers() {
        CallConv::PreserveAll
    } else {
        CallConv::SystemV
    };
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(params.iter().map(|t| AbiParam::new(ir(t))));
    sig.returns
        .extend(result.iter().map(|t| AbiParam::new(ir(t))));
    sig
}

/// Calls `builtin` (whose signature was imported as `sig`) with `vmctx`
/// followed by `args`: a plain call, for builtins that do not unwind.
pub(crate) fn call_builtin(
    b: &mut FunctionBuilder<'_>,
    sig: ir::SigRef,
    vmctx: ir::Value,
    builtin: Builtin,
    args: &[ir::Value],
) -> Option<ir::Value> {
    call_builtin_with(b, sig, vmctx, builtin, args, Placement::Hoistable)
}

/// Where the address of a called builtin is loaded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Wherever Cranelift likes: out of loops, shared by calls.
    Hoistable,
    /// At the call: for a cold block inside a loop, where a hoisted address
    /// would hold a callee-saved register through the hot path, which
    /// regalloc then shuffles around the call.
    AtCall,
}

/// [`call_builtin`] with the builtin's address loaded as `placement` says.
pub(crate) fn call_builtin_with(
    b: &mut FunctionBuilder<'_>,
    sig: ir::SigRef,
    vmctx: ir::Value,
    builtin: Builtin,
    args: &[ir::Value],
    placement: Placement,
) -> Option<ir::Value> {
    let callee = builtin_pointer_with(b, vmctx, builtin, placement);
    let mut call_args = Vec::with_capacity(args.len() + 1);
    call_args.push(vmctx);
    call_args.extend_from_slice(args);
    let call = b.ins().call_indirect(sig, callee, &call_args);
    b.inst_results(call).first().copied()
}

/// The address of `builtin`, from the table `vmctx` points to.
pub(crate) fn builtin_pointer(
    b: &mut FunctionBuilder<'_>,
    vmctx: ir::Value,
    builtin: Builtin,
) -> ir::Value {
    builtin_pointer_with(b, vmctx, builtin, Placement::Hoistable)
}

fn builtin_pointer_with(
    b: &mut FunctionBuilder<'_>,
    vmctx: ir::Value,
    builtin: Builtin,
    placement: Placement,
) -> ir::Value {
    let flags = match placement {
        Placement::Hoistable => ir::MemFlagsData::trusted().with_readonly().with_can_move(),
        Placement::AtCall => ir::MemFlagsData::trusted(),
    };
    let table = b
        .ins()
        .load(POINTER, flags, vmctx, offsets::VMCTX_BUILTINS as i32);
    let slot = builtin as u32 * POINTER.bytes();
    b.ins().load(POINTER, flags, table, slot as i32)
}

/// The Cranelift trap code that stands for `kind`.
pub(crate) fn trap_code(kind: TrapKind) -> ir::TrapCode {
    match kind {
        TrapKind::StackOverflow => ir::TrapCode::STACK_OVERFLOW,
        TrapKind::MemoryOutOfBounds => ir::TrapCode::HEAP_OUT_OF_BOUNDS,
        TrapKind::IntegerOverflow => ir::TrapCode::INTEGER_OVERFLOW,
        TrapKind::IntegerDivisionByZero => ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
        TrapKind::BadConversionToInteger => ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => ir::TrapCode::unwrap_user(other as u8),
    }
}

/// The trap kind a Cranelift trap code stands for.
pub(crate) fn trap_kind(code: ir::TrapCode) -> Option<TrapKind> {
    TrapKind::ALL.into_iter().find(|k| trap_code(*k) == code)
}
