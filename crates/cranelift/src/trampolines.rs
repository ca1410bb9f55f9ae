//! Trampolines between the host's C calling convention and wasm's.
//!
//! - The entry trampoline lets Rust call any wasm function of a type through
//!   one `extern "C"` signature: arguments and results travel in an array of
//!   16-byte slots.
//! - The host trampoline is what a host function's `VMFuncRef` points to: it
//!   has the wasm signature, spills the arguments into such an array, calls
//!   the host callback, and then returns the results, traps with "host
//!   function error" (the error itself waits in the store), or throws on
//!   the exception the host function's callee threw. It records its frame pointer in the store context
//!   first, so that host code can walk the wasm frames below it.

use crate::abi::{
    POINTER, builtin_signature, enter_function, ir_type, trap_code, value_flags, wasm_signature,
};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem, InstBuilder,
    MemFlagsData, Signature, StackSlotData, StackSlotKind, UserFuncName,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use fxtime_environ::vm::{Builtin, TRANSFER_RETURN, TRANSFER_THROW, VAL_RAW_SIZE, offsets};
use fxtime_environ::{FuncType, TrapKind};
use fxtime_wasmfx::emit;

fn slot_offset(i: usize) -> i32 {
    (i as u32 * VAL_RAW_SIZE) as i32
}

fn c_signature(params: usize, result: Option<ir::Type>) -> Signature {
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params
        .extend((0..params).map(|_| AbiParam::new(POINTER)));
    sig.returns.extend(result.map(AbiParam::new));
    sig
}

/// `extern "C" fn(callee_vmctx, caller_vmctx, code, values)`.
pub(crate) fn entry(ty: &FuncType, frontend: TargetFrontendConfig) -> ir::Function {
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(1, 0), c_signature(4, None));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let [callee_vmctx, caller_vmctx, code, values] = enter_function(&mut b)[..] else {
        unreachable!("four parameters")
    };
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, param) in ty.params.iter().enumerate() {
        let value = b
            .ins()
            .load(ir_type(*param), value_flags(), values, slot_offset(i));
        args.push(value);
    }
    let sig = b.import_signature(wasm_signature(ty));
    let call = b.ins().call_indirect(sig, code, &args);
    let results = b.inst_results(call).to_vec();
    for (i, result) in results.into_iter().enumerate() {
        b.ins().store(value_flags(), result, values, slot_offset(i));
    }
    b.ins().return_(&[]);
    b.finalize(frontend);
    func
}

/// The wasm-signature trampoline of host functions of type `ty`.
pub(crate) fn host(ty: &FuncType, frontend: TargetFrontendConfig) -> ir::Function {
    let mut func = ir::Function::with_name_signature(UserFuncName::user(1, 1), wasm_signature(ty));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let params = enter_function(&mut b);
    let (host_ctx, caller_vmctx) = (params[0], params[1]);
    let flags = MemFlagsData::trusted();

    // Let host code find the wasm frames below it.
    let store_context = b.ins().load(
        POINTER,
        flags,
        caller_vmctx,
        offsets::VMCTX_STORE_CONTEXT as i32,
    );
    let fp = b.ins().get_frame_pointer(POINTER);
    b.ins().store(
        flags,
        fp,
        store_context,
        offsets::STORE_LAST_WASM_EXIT_FP as i32,
    );

    let slots = ty.params.len().max(ty.results.len()).max(1);
    let size = slots as u32 * VAL_RAW_SIZE;
    let slot = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4));
    let values = b.ins().stack_addr(POINTER, slot, 0);
    for (i, param) in params[2..].iter().enumerate() {
        b.ins().store(value_flags(), *param, values, slot_offset(i));
    }
    let callback = b
        .ins()
        .load(POINTER, flags, host_ctx, offsets::HOST_FUNC_CALLBACK as i32);
    let count = b.ins().iconst(POINTER, slots as i64);
    let sig = b.import_signature(c_signature(4, Some(POINTER)));
    let call = b
        .ins()
        .call_indirect(sig, callback, &[host_ctx, caller_vmctx, values, count]);
    let outcome = b.inst_results(call)[0];

    // 1: done; 0: an error waits in the store; anything else: an
    // exception to throw on into the wasm caller.
    let done = b.create_block();
    let not_done = b.create_block();
    let failed = b.create_block();
    let rethrow = b.create_block();
    let is_done = b.ins().icmp_imm_u(IntCC::Equal, outcome, 1);
    b.ins().brif(is_done, done, &[], not_done, &[]);
    b.switch_to_block(not_done);
    b.ins().brif(outcome, rethrow, &[], failed, &[]);
    for block in [done, not_done, failed, rethrow] {
        b.seal_block(block);
    }

    // Trapping here unwinds to the host like any other trap, with this
    // frame in the backtrace.
    b.switch_to_block(failed);
    b.ins().trap(trap_code(TrapKind::HostError));

    b.switch_to_block(rethrow);
    let throw_sig = b.import_signature(builtin_signature(Builtin::Throw));
    let table = b
        .ins()
        .load(POINTER, flags, caller_vmctx, offsets::VMCTX_BUILTINS as i32);
    let slot_in_table = (Builtin::Throw as u32 * POINTER.bytes()) as i32;
    let throw = b.ins().load(POINTER, flags, table, slot_in_table);
    b.ins()
        .call_indirect(throw_sig, throw, &[caller_vmctx, outcome]);
    b.ins().trap(trap_code(TrapKind::Unreachable));

    b.switch_to_block(done);
    let mut results = Vec::with_capacity(ty.results.len());
    for (i, result) in ty.results.iter().enumerate() {
        results.push(
            b.ins()
                .load(ir_type(*result), value_flags(), values, slot_offset(i)),
        );
    }
    b.ins().return_(&results);
    b.finalize(frontend);
    func
}

/// The continuation entry for continuations of functions of type `ty`:
/// `extern "C" fn(cont) -> cont`, the first function a fresh continuation's
/// stack runs (the start trampoline calls it, and switches to the parent
/// with its result as the payload).
///
/// It calls the continuation's function with the arguments from its
/// buffer and leaves the results there (`TRANSFER_RETURN`). An exception
/// the function does not catch stops here, by a catch-all, and waits in
/// the buffer (`TRANSFER_THROW`) for the resumer to raise it again on its
/// own stack; so does the exception of a `resume_throw` that arrives before
/// the function started. Either way, it makes the parent the running
/// continuation again before it returns. On the first run, it also sets
/// the continuation's nesting depth.
pub(crate) fn continuation_entry(ty: &FuncType, frontend: TargetFrontendConfig) -> ir::Function {
    // Cranelift's `winch` convention keeps no register for its caller: the
    // start trampoline keeps nothing across the call, and switches to a
    // resumer whose code expects every register clobbered. A fresh start
    // thus saves and restores no callee-saved registers (a cache line of
    // stores into a stack that may be cold; see ARCHITECTURE.md). Its
    // argument and result registers are System V's.
    let mut signature = c_signature(1, Some(POINTER));
    signature.call_conv = CallConv::Winch;
    let mut func = ir::Function::with_name_signature(UserFuncName::user(1, 2), signature);
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let [cont] = enter_function(&mut b)[..] else {
        unreachable!("one parameter")
    };
    let flags = MemFlagsData::trusted();
    let run = b.create_block();
    let done = b.create_block();
    let func_ref = b
        .ins()
        .load(POINTER, flags, cont, offsets::CONT_FUNC as i32);
    let vmctx = b
        .ins()
        .load(POINTER, flags, func_ref, offsets::FUNC_REF_VMCTX as i32);
    let store_context = b
        .ins()
        .load(POINTER, flags, vmctx, offsets::VMCTX_STORE_CONTEXT as i32);
    let transfer = emit::transfer(&mut b, cont);
    let throw = b
        .ins()
        .icmp_imm_u(IntCC::Equal, transfer, TRANSFER_THROW as i64);
    // References bound to the continuation leave its buffer whichever way
    // it goes (see `VMContRef::gc_bound`): taken as arguments, or dropped
    // by an exception raised before the start.
    let takes_references = ty.params().any(|t| t.is_traced());
    if takes_references {
        let thrown = b.create_block();
        b.ins().brif(throw, thrown, &[], run, &[]);
        b.switch_to_block(thrown);
        b.seal_block(thrown);
        b.set_cold_block(thrown);
        emit::clear_bound(&mut b, cont);
        b.ins().jump(done, &[]);
    } else {
        b.ins().brif(throw, done, &[], run, &[]);
    }

    b.switch_to_block(run);
    b.seal_block(run);
    let max_depth = b.ins().load(
        POINTER,
        flags,
        store_context,
        offsets::STORE_MAX_CONTINUATION_DEPTH as i32,
    );
    emit::check_depth(&mut b, cont, max_depth, crate::translate::traps());
    let code = b
        .ins()
        .load(POINTER, flags, func_ref, offsets::FUNC_REF_WASM_CALL as i32);
    let params: Vec<_> = ty.params().map(ir_type).collect();
    if takes_references {
        emit::clear_bound(&mut b, cont);
    }
    let mut args = vec![vmctx, vmctx];
    args.extend(emit::take_values(&mut b, cont, &params));
    let sig = b.import_signature(wasm_signature(ty));
    let results: Vec<_> = ty.results().map(ir_type).collect();
    let returned = b.create_block();
    for ty in &results {
        b.append_block_param(returned, *ty);
    }
    let caught = b.create_block();
    let exception = b.append_block_param(caught, POINTER);
    let pool = &mut b.func.dfg.value_lists;
    let normal = BlockCall::new(
        returned,
        (0..results.len()).map(|i| BlockArg::TryCallRet(i as u32)),
        pool,
    );
    let catch_all = BlockCall::new(caught, [BlockArg::TryCallExn(0)], pool);
    let table = b.func.dfg.exception_tables.push(ExceptionTableData::new(
        sig,
        normal,
        [
            ExceptionTableItem::Context(vmctx),
            ExceptionTableItem::Default(catch_all),
        ],
    ));
    b.ins().try_call_indirect(code, &args, table);

    b.switch_to_block(returned);
    b.seal_block(returned);
    let values = b.block_params(returned).to_vec();
    emit::store_values(&mut b, cont, &values, values.len(), None);
    emit::set_transfer(&mut b, cont, TRANSFER_RETURN);
    b.ins().jump(done, &[]);

    b.switch_to_block(caught);
    b.seal_block(caught);
    emit::store_values(&mut b, cont, &[exception], 1, None);
    emit::set_transfer(&mut b, cont, TRANSFER_THROW);
    b.ins().jump(done, &[]);

    b.switch_to_block(done);
    b.seal_block(done);
    // The start trampoline switches to the parent.
    emit::leave(&mut b, store_context, cont);
    b.ins().return_(&[cont]);
    b.finalize(frontend);
    func
}
