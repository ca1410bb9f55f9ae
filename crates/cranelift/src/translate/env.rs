//! How generated code reaches the runtime: loads from the `VMContext`, the
//! store context, and calls of builtins.

use super::FuncTranslator;
use super::exceptions::Callee;
use crate::abi::{self, POINTER, builtin_pointer, builtin_signature, trap_code};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value};
use fxtime_environ::TrapKind;
use fxtime_environ::vm::{Builtin, offsets};

/// Flags for loads of runtime structures that are always valid and
/// aligned.
pub(crate) fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags for loads of fields that never change while the instance lives.
pub(crate) fn trusted_readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Makes the prologue check the stack pointer against the store's stack
/// limit, trapping with "call stack exhausted".
pub(crate) fn install_stack_limit(func: &mut ir::Function) {
    let readonly = func.dfg.mem_flags.insert_unchecked(trusted_readonly());
    let plain = func.dfg.mem_flags.insert_unchecked(trusted());
    let vmctx = func.create_global_value(ir::GlobalValueData::VMContext);
    let store = func.create_global_value(ir::GlobalValueData::Load {
        base: vmctx,
        offset: (offsets::VMCTX_STORE_CONTEXT as i32).into(),
        global_type: POINTER,
        flags: readonly,
    });
    let limit = func.create_global_value(ir::GlobalValueData::Load {
        base: store,
        offset: (offsets::STORE_STACK_LIMIT as i32).into(),
        global_type: POINTER,
        flags: plain,
    });
    func.stack_limit = Some(limit);
}

impl FuncTranslator<'_> {
    /// Loads a pointer-sized field at `offset` from `base`.
    pub(crate) fn load_pointer(&mut self, base: Value, offset: u32, flags: MemFlagsData) -> Value {
        self.builder.ins().load(POINTER, flags, base, offset as i32)
    }

    /// Loads a field of this function's `VMContext` that never changes.
    pub(crate) fn vmctx_field(&mut self, offset: u32) -> Value {
        let vmctx = self.vmctx;
        self.load_pointer(vmctx, offset, trusted_readonly())
    }

    /// Traps with `kind` when `condition` is non-zero.
    pub(crate) fn trap_if(&mut self, condition: Value, kind: TrapKind) {
        self.builder.ins().trapnz(condition, trap_code(kind));
    }

    /// Traps with `kind` when `value` is zero.
    pub(crate) fn trap_if_zero(&mut self, value: Value, kind: TrapKind) {
        self.builder.ins().trapz(value, trap_code(kind));
    }

    /// [`call_builtin`](Self::call_builtin) from a cold block in a loop
    /// (see `abi::Placement::AtCall`).
    pub(crate) fn call_builtin_cold(&mut self, builtin: Builtin, args: &[Value]) -> Option<Value> {
        let sig = self.builtin_sig(builtin);
        abi::call_builtin_with(
            &mut self.builder,
            sig,
            self.vmctx,
            builtin,
            args,
            abi::Placement::AtCall,
        )
    }

    /// Calls `builtin` with this function's vmctx followed by `args`.
    pub(crate) fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) -> Option<Value> {
        let sig = self.builtin_sig(builtin);
        if builtin == Builtin::Throw {
            // The one builtin that unwinds: handlers may catch it.
            let callee = builtin_pointer(&mut self.builder, self.vmctx, builtin);
            let mut call_args = vec![self.vmctx];
            call_args.extend_from_slice(args);
            return self
                .emit_call(Callee::Indirect(sig, callee), sig, &call_args)
                .first()
                .copied();
        }
        abi::call_builtin(&mut self.builder, sig, self.vmctx, builtin, args)
    }

    /// The signature of `builtin`, imported into this function once.
    pub(crate) fn builtin_sig(&mut self, builtin: Builtin) -> ir::SigRef {
        match self.builtin_sigs.get(&builtin) {
            Some(sig) => *sig,
            None => {
                let sig = self.builder.import_signature(builtin_signature(builtin));
                self.builtin_sigs.insert(builtin, sig);
                sig
            }
        }
    }

    /// Calls a builtin that returns 0 on an out-of-bounds access, and traps
    /// then with the bounds trap of its kind of storage.
    pub(crate) fn call_checked(&mut self, builtin: Builtin, args: &[Value]) {
        let kind = match builtin {
            Builtin::MemoryFill | Builtin::MemoryCopy | Builtin::MemoryInit => {
                TrapKind::MemoryOutOfBounds
            }
            _ => TrapKind::TableOutOfBounds,
        };
        let ok = self
            .call_builtin(builtin, args)
            .expect("checked builtins return a status");
        self.trap_if_zero(ok, kind);
    }

    /// An `i32` constant.
    pub(crate) fn i32_const(&mut self, value: u32) -> Value {
        self.builder.ins().iconst(ir::types::I32, i64::from(value))
    }
}
