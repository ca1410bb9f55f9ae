//! The stack-switching instructions: `cont.new`, `cont.bind`, `resume`,
//! `resume_throw(_ref)`, `suspend` and `switch`.
//!
//! The switching itself is CLIF from `fxtime_wasmfx::emit`; this module
//! connects it to the operand stack, labels, tags and builtins.
//!
//! At a `resume`, control comes back with the root of the chain that came
//! back and the reason in its `transfer`, which a `br_table` dispatches:
//! 0 returned (results in its buffer, stack released), 1 threw (the
//! exception in its buffer, raised again here), 2 + k suspended to the
//! k-th `(on $tag $label)` clause (payload in its buffer, then a reference
//! to it branches to the label). A woken `suspend` or `switch` looks at the
//! same field: 0 continue with the values in the buffer, 1 raise the
//! exception there (`resume_throw`).

use super::FuncTranslator;
use super::env::{trusted, trusted_readonly};
use crate::abi::{self, POINTER, ir_type, trap_code};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{self, BlockArg, BlockCall, InstBuilder, JumpTableData, Value};
use cranelift_frontend::FunctionBuilder;
use fxtime_environ::vm::{
    Builtin, CONT_INLINE_VALUES, CONT_LIMIT_BYTES, CONT_LIMIT_COUNT, PENDING_FROM_LIVE,
    TRANSFER_RESUME, TRANSFER_SUSPEND, TRANSFER_THROW, offsets,
};
use fxtime_environ::{
    HeapType, TagIndex, TrapKind, TypeIndex, TypeRef, WasmError, WasmResult, WasmValType,
};
use fxtime_wasmfx::emit::{self, Traps};
use wasmparser::{Handle, Operator, ResumeTable};

/// The trap codes of the switching paths.
pub(crate) fn traps() -> Traps {
    Traps {
        null: trap_code(TrapKind::NullContinuationReference),
        consumed: trap_code(TrapKind::ContinuationAlreadyConsumed),
        unhandled: trap_code(TrapKind::UnhandledTag),
        too_deep: trap_code(TrapKind::StackOverflow),
    }
}

fn ir_types(types: impl Iterator<Item = WasmValType>) -> Vec<ir::Type> {
    types.map(ir_type).collect()
}

impl FuncTranslator<'_> {
    pub(super) fn translate_stack_switching(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::ContNew { cont_type_index } => self.cont_new(TypeIndex(*cont_type_index)),
            Operator::ContBind {
                argument_index,
                result_index,
            } => self.cont_bind(TypeIndex(*argument_index), TypeIndex(*result_index))?,
            Operator::Resume {
                cont_type_index,
                resume_table,
            } => self.resume(TypeIndex(*cont_type_index), resume_table, Throw::No)?,
            Operator::ResumeThrow {
                cont_type_index,
                tag_index,
                resume_table,
            } => self.resume(
                TypeIndex(*cont_type_index),
                resume_table,
                Throw::Tag(TagIndex(*tag_index)),
            )?,
            Operator::ResumeThrowRef {
                cont_type_index,
                resume_table,
            } => self.resume(TypeIndex(*cont_type_index), resume_table, Throw::Ref)?,
            Operator::Suspend { tag_index } => self.suspend(TagIndex(*tag_index)),
            Operator::Switch {
                cont_type_index,
                tag_index,
            } => self.switch(TypeIndex(*cont_type_index), TagIndex(*tag_index))?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn cont_new(&mut self, cont_type: TypeIndex) {
        let func = self.pop();
        if !self.is_defined_func_ref(func) {
            let is_null = self.is_null(func);
            self.trap_if(is_null, TrapKind::NullFunctionReference);
        }
        let ty = self.module.cont_func_type(cont_type);
        let values = ty.params.len().max(ty.results.len());
        let done = self.builder.create_block();
        let cont = self.builder.append_block_param(done, POINTER);
        if values <= CONT_INLINE_VALUES {
            // A free object if there is one: no call. A pending one (no
            // stack yet) while many continuations are live.
            let free_list = self.free_list();
            let live =
                self.builder
                    .ins()
                    .load(I64, trusted(), free_list, offsets::FREE_LIST_LIVE as i32);
            let many = self.builder.ins().icmp_imm_u(
                IntCC::UnsignedGreaterThanOrEqual,
                live,
                PENDING_FROM_LIVE as i64,
            );
            let with_stack = self.builder.create_block();
            let pending = self.builder.create_block();
            self.builder.ins().brif(many, pending, &[], with_stack, &[]);
            let allocate = self.builder.create_block();
            for (block, list, reuse) in [
                (
                    with_stack,
                    offsets::FREE_LIST_HEAD,
                    emit::reuse_free as ReuseFree,
                ),
                (pending, offsets::FREE_LIST_PENDING, emit::reuse_pending),
            ] {
                self.enter_block(block);
                let head = self
                    .builder
                    .ins()
                    .load(POINTER, trusted(), free_list, list as i32);
                let take = self.builder.create_block();
                self.builder.ins().brif(head, take, &[], allocate, &[]);
                self.enter_block(take);
                let entry = self.vmctx_field(self.offsets.continuation_entry(cont_type));
                reuse(&mut self.builder, free_list, head, entry, func);
                self.builder.ins().jump(done, &[head.into()]);
            }
            self.builder.set_cold_block(allocate);
            self.enter_block(allocate);
        }
        let index = self.i32_const(cont_type.0);
        let allocated = self
            .call_builtin(Builtin::ContNew, &[func, index])
            .expect("ContNew returns the continuation");
        check_allocated(&mut self.builder, allocated);
        self.builder.ins().jump(done, &[allocated.into()]);
        self.enter_block(done);
        let reference = emit::reference(&mut self.builder, cont);
        self.stack.push(reference);
        self.fresh_continuation = Some(reference);
    }

    /// Consumes `reference` (see `emit::consume`): the object and its new
    /// revision. A reference that `cont.new` or `cont.bind` made, with
    /// nothing run since that could have consumed it, needs no check.
    fn consume(&mut self, reference: Value) -> (Value, Value) {
        if self.fresh_continuation.take() == Some(reference) {
            emit::consume_fresh(&mut self.builder, reference)
        } else {
            emit::consume(&mut self.builder, reference, traps())
        }
    }

    /// The store's `VMContinuationFreeList`.
    fn free_list(&mut self) -> Value {
        free_list(&mut self.builder, self.vmctx)
    }

    fn cont_bind(&mut self, from: TypeIndex, to: TypeIndex) -> WasmResult<()> {
        let params = self.module.cont_func_type(from).params.len();
        let bound = params - self.module.cont_func_type(to).params.len();
        let reference = self.pop();
        let args = self.pop_values(bound);
        let (cont, revision) = self.consume(reference);
        // The first arguments of `from`; a later use stores the rest.
        self.store_arguments(cont, &args, params);
        // Argument i lies in slot params - 1 - i; the collector must see
        // the references among them until the continuation takes them.
        let (mut gc_mask, mut cont_mask) = (0u64, 0u64);
        for (i, ty) in self.module.cont_func_type(from).params[..bound]
            .iter()
            .enumerate()
        {
            let mask = if ty.is_gc_reference() {
                &mut gc_mask
            } else if ty.is_cont_reference() {
                &mut cont_mask
            } else {
                continue;
            };
            let slot = params - 1 - i;
            if slot >= 64 {
                return Err(WasmError::Limit(
                    "cont.bind of a reference into a continuation of more than 64 parameters"
                        .into(),
                ));
            }
            *mask |= 1 << slot;
        }
        if gc_mask != 0 {
            emit::add_bound(&mut self.builder, cont, offsets::CONT_GC_BOUND, gc_mask);
        }
        if cont_mask != 0 {
            emit::add_bound(&mut self.builder, cont, offsets::CONT_CONT_BOUND, cont_mask);
        }
        let reference = self.builder.ins().iconcat(cont, revision);
        self.stack.push(reference);
        self.fresh_continuation = Some(reference);
        Ok(())
    }

    fn resume(
        &mut self,
        cont_type: TypeIndex,
        table: &ResumeTable,
        throw: Throw,
    ) -> WasmResult<()> {
        let ty = self.module.cont_func_type(cont_type).clone();
        let reference = self.pop();
        let (values, transfer) = match throw {
            Throw::No => (self.pop_values(ty.params.len()), TRANSFER_RESUME),
            Throw::Tag(tag) => {
                let args = self.pop_values(self.module.tag_type(tag).params.len());
                (vec![self.new_exception(tag, &args)], TRANSFER_THROW)
            }
            Throw::Ref => {
                let exception = self.pop();
                self.trap_if_zero(exception, TrapKind::NullExceptionReference);
                (vec![exception], TRANSFER_THROW)
            }
        };
        let (cont, revision) = self.consume(reference);

        let mut suspend_tags = Vec::new();
        let mut switch_tags = Vec::new();
        let mut labels = Vec::new();
        for handle in &table.handlers {
            match *handle {
                Handle::OnLabel { tag, label } => {
                    suspend_tags.push(TagIndex(tag));
                    labels.push((TagIndex(tag), label));
                }
                Handle::OnSwitch { tag } => switch_tags.push(TagIndex(tag)),
            }
        }
        let slot = self.handler_list(&suspend_tags, &switch_tags);
        let store_context = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
        let take = self.builtin_sig(Builtin::ContTakeStack);
        let root = on_stack(
            &mut self.builder,
            (self.vmctx, take),
            cont,
            revision,
            values.len(),
            &mut |b, cont| {
                emit::store_values(b, cont, &values, values.len(), None);
                let handlers = b.ins().stack_addr(POINTER, slot, 0);
                emit::resume(b, store_context, cont, handlers, transfer)
            },
        );

        // Dispatch on why control came back: a suspension first (the
        // frequent case), then a return or an exception.
        let why = emit::transfer(&mut self.builder, root);
        let returned = self.builder.create_block();
        let threw = self.builder.create_block();
        let ended = self.builder.create_block();
        let clauses: Vec<_> = labels.iter().map(|_| self.builder.create_block()).collect();
        if clauses.len() <= MAX_COMPARED_CLAUSES {
            // A compare per clause: cheaper than a jump table for a few.
            for (k, clause) in clauses.iter().enumerate() {
                let transfer = TRANSFER_SUSPEND + k as u64;
                let this = self
                    .builder
                    .ins()
                    .icmp_imm_u(IntCC::Equal, why, transfer as i64);
                let next = self.builder.create_block();
                self.builder.ins().brif(this, *clause, &[], next, &[]);
                self.enter_block(next);
            }
            self.builder.ins().jump(ended, &[]);
        } else {
            let clause = self.builder.ins().ireduce(I32, why);
            let clause = self
                .builder
                .ins()
                .iadd_imm_s(clause, -(TRANSFER_SUSPEND as i64));
            let pool = &mut self.builder.func.dfg.value_lists;
            let targets: Vec<_> = clauses
                .iter()
                .map(|b| BlockCall::new(*b, [], pool))
                .collect();
            // Below TRANSFER_SUSPEND, `clause` wraps around to a large
            // index: the default.
            let default = BlockCall::new(ended, [], pool);
            let jump_table = self
                .builder
                .create_jump_table(JumpTableData::new(default, &targets));
            self.builder.ins().br_table(clause, jump_table);
        }
        self.enter_block(ended);
        let threw_out = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, why, TRANSFER_THROW as i64);
        self.builder
            .ins()
            .brif(threw_out, threw, &[], returned, &[]);

        for ((tag, label), block) in labels.into_iter().zip(clauses) {
            self.enter_block(block);
            let payload = ir_types(self.module.tag_type(tag).params());
            let mut args: Vec<_> = emit::take_values(&mut self.builder, root, &payload)
                .into_iter()
                .map(BlockArg::Value)
                .collect();
            let continuation = emit::reference(&mut self.builder, root);
            args.push(BlockArg::Value(continuation));
            let (target, _) = self.branch_target(label);
            self.builder.ins().jump(target, &args);
        }

        self.builder.set_cold_block(threw);
        self.enter_block(threw);
        let exception = emit::take_values(&mut self.builder, root, &[POINTER])[0];
        let free_list = self.free_list();
        emit::release(&mut self.builder, free_list, root);
        self.throw_exception(exception);

        self.enter_block(returned);
        self.reachable = true;
        let results = ir_types(ty.results());
        let results = emit::take_values(&mut self.builder, root, &results);
        let free_list = self.free_list();
        emit::release(&mut self.builder, free_list, root);
        self.stack.extend(results);
        Ok(())
    }

    fn suspend(&mut self, tag: TagIndex) {
        let ty = self.module.tag_type(tag).clone();
        let args = self.pop_values(ty.params.len());
        let tag_address = self.tag_address(tag);
        let store_context = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
        let sig = self.builtin_sig(Builtin::ContReserve);
        let vmctx = self.vmctx;
        let mut at_handler = |b: &mut FunctionBuilder<'_>, handler: emit::Handler| {
            // A payload may outgrow the buffer (`store_values` checks only
            // when it can).
            let mut reserve = |b: &mut FunctionBuilder<'_>, cont: Value, needed: Value| {
                abi::call_builtin(b, sig, vmctx, Builtin::ContReserve, &[cont, needed]);
            };
            emit::store_values(b, handler.root, &args, args.len(), Some(&mut reserve));
            emit::suspend(b, store_context, handler)
        };
        let root = emit::find_handler(
            &mut self.builder,
            store_context,
            tag_address,
            false,
            traps(),
            &mut at_handler,
        );
        let takes_references = ty.results().any(|t| t.is_traced());
        self.wake(root, &ir_types(ty.results()), takes_references);
    }

    fn switch(&mut self, cont_type: TypeIndex, tag: TagIndex) -> WasmResult<()> {
        let ty = self.module.cont_func_type(cont_type).clone();
        // The target's last parameter is the continuation of the switcher,
        // whose parameters are what the switcher receives when resumed.
        let Some(WasmValType::Ref(last)) = ty.params.last() else {
            return Err(WasmError::Bug(
                "switch to a type without continuation".into(),
            ));
        };
        let HeapType::ConcreteCont(TypeRef::Module(own_type)) = last.heap else {
            return Err(WasmError::Bug(
                "switch to a type without continuation".into(),
            ));
        };
        let received = ir_types(self.module.cont_func_type(own_type).params());
        let takes_references = self
            .module
            .cont_func_type(own_type)
            .params()
            .any(|t| t.is_traced());
        let target = self.pop();
        let args = self.pop_values(ty.params.len() - 1);
        let (target, revision) = self.consume(target);
        let tag_address = self.tag_address(tag);
        let store_context = self.vmctx_field(offsets::VMCTX_STORE_CONTEXT);
        let take = (self.vmctx, self.builtin_sig(Builtin::ContTakeStack));
        let params = ty.params.len();
        let mut at_handler = |b: &mut FunctionBuilder<'_>, handler: emit::Handler| {
            on_stack(b, take, target, revision, params, &mut |b, target| {
                // The switcher's continuation goes last (always room: see
                // `store_arguments`).
                let mut args = args.clone();
                args.push(emit::reference(b, handler.root));
                emit::store_values(b, target, &args, args.len(), None);
                emit::switch(b, store_context, handler, target)
            })
        };
        let root = emit::find_handler(
            &mut self.builder,
            store_context,
            tag_address,
            true,
            traps(),
            &mut at_handler,
        );
        self.wake(root, &received, takes_references);
        Ok(())
    }

    /// After a suspended chain with root `root` is resumed: raises the
    /// exception of a `resume_throw`, or pushes the values of `types`
    /// (GC references among them when `takes_references`, which may have
    /// been bound: they leave the buffer, and the collector's record of
    /// them too).
    fn wake(&mut self, root: Value, types: &[ir::Type], takes_references: bool) {
        let why = emit::transfer(&mut self.builder, root);
        let throw = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, why, TRANSFER_THROW as i64);
        let raise = self.builder.create_block();
        let resumed = self.builder.create_block();
        self.builder.ins().brif(throw, raise, &[], resumed, &[]);
        self.builder.set_cold_block(raise);
        self.enter_block(raise);
        emit::set_transfer(&mut self.builder, root, TRANSFER_RESUME);
        emit::clear_bound(&mut self.builder, root);
        let exception = emit::take_values(&mut self.builder, root, &[POINTER])[0];
        self.throw_exception(exception);
        self.enter_block(resumed);
        self.reachable = true;
        if takes_references {
            emit::clear_bound(&mut self.builder, root);
        }
        let values = emit::take_values(&mut self.builder, root, types);
        self.stack.extend(values);
    }

    /// Switches to `block`, whose predecessors are all known.
    pub(super) fn enter_block(&mut self, block: ir::Block) {
        emit::enter_sealed(&mut self.builder, block);
    }

    /// The handler list of a `resume` with these clauses, built in the
    /// prologue.
    fn handler_list(&mut self, suspend: &[TagIndex], switch: &[TagIndex]) -> ir::StackSlot {
        let vmctx = self.vmctx;
        let offsets: Vec<u32> = suspend
            .iter()
            .chain(switch)
            .map(|tag| self.offsets.tag(*tag))
            .collect();
        let mut pos = self.prologue();
        let mut tags: Vec<Value> = offsets
            .into_iter()
            .map(|offset| {
                pos.ins()
                    .load(POINTER, trusted_readonly(), vmctx, offset as i32)
            })
            .collect();
        let switch_tags = tags.split_off(suspend.len());
        emit::handler_list(&mut pos, &tags, &switch_tags)
    }

    /// The address of tag `tag`: its identity.
    fn tag_address(&mut self, tag: TagIndex) -> Value {
        self.vmctx_field(self.offsets.tag(tag))
    }

    /// Stores `values`, the first of `count` arguments of its type, into the
    /// buffer of continuation object `cont`, where they always fit (see
    /// `fxtime_wasmfx::emit::store_values`).
    fn store_arguments(&mut self, cont: Value, values: &[Value], count: usize) {
        emit::store_values(&mut self.builder, cont, values, count, None);
    }
}

/// Up to this many `(on $tag $label)` clauses, a `resume` dispatches with
/// a compare per clause; beyond, with a jump table.
const MAX_COMPARED_CLAUSES: usize = 4;

/// The store's `VMContinuationFreeList`.
fn free_list(b: &mut FunctionBuilder<'_>, vmctx: Value) -> Value {
    // A plain load, not a read-only one, so that Cranelift neither hoists
    // it nor merges it with an earlier one: a free-list pointer shared by
    // a `cont.new` before a resume loop and the release after it would
    // live across every switch of the loop, and regalloc reloads and
    // spills it again on each iteration.
    b.ins().load(
        POINTER,
        trusted(),
        vmctx,
        offsets::VMCTX_CONTINUATIONS as i32,
    )
}

/// Traps unless `allocated`, what `ContNew` or `ContTakeStack` returned,
/// is an object.
fn check_allocated(b: &mut FunctionBuilder<'_>, allocated: Value) {
    b.ins()
        .trapz(allocated, trap_code(TrapKind::ContinuationAllocation));
    for (code, kind) in [
        (CONT_LIMIT_COUNT, TrapKind::TooManyContinuations),
        (CONT_LIMIT_BYTES, TrapKind::ContinuationStackBytes),
    ] {
        let limited = b.ins().icmp_imm_u(IntCC::Equal, allocated, code as i64);
        b.ins().trapnz(limited, trap_code(kind));
    }
}

/// The vmctx and the signature of `ContTakeStack`: what moving a pending
/// continuation to a stack needs.
type TakeStack = (Value, ir::SigRef);

/// What a `resume` or `switch` of consumed continuation `cont` (of new
/// revision `revision`) emits with `run`, given the object that runs it:
/// `cont` itself or, for a pending continuation (see `PENDING_REVISION`),
/// the object of the stack it takes first. `run` stores values into buffer
/// slots below `first_unbound` and switches. It is emitted twice, once off
/// the path of every continuation that has a stack, so that path pays a
/// test of the revision and nothing else (merging the two objects before
/// the switch cost suspend/resume loops a few moves and a spill).
/// Returns what `run` returned: the root of the chain that comes back.
fn on_stack(
    b: &mut FunctionBuilder<'_>,
    take: TakeStack,
    cont: Value,
    revision: Value,
    first_unbound: usize,
    run: &mut dyn FnMut(&mut FunctionBuilder<'_>, Value) -> Value,
) -> Value {
    let is_pending = b.ins().icmp_imm_s(IntCC::SignedLessThan, revision, 0);
    let with_stack = b.create_block();
    let pending = b.create_block();
    let back = b.create_block();
    let root = b.append_block_param(back, POINTER);
    b.ins().brif(is_pending, pending, &[], with_stack, &[]);
    emit::enter_sealed(b, with_stack);
    let came_back = run(b, cont);
    b.ins().jump(back, &[came_back.into()]);
    b.set_cold_block(pending);
    emit::enter_sealed(b, pending);
    let object = take_stack(b, take, cont, first_unbound);
    let came_back = run(b, object);
    b.ins().jump(back, &[came_back.into()]);
    emit::enter_sealed(b, back);
    root
}

/// Moves pending continuation `cont` (consumed) to a stack: the first free
/// one, or one `ContTakeStack` finds. Returns the stack's object. Buffer
/// slots below `first_unbound` are not moved (the caller stores into them
/// next).
fn take_stack(
    b: &mut FunctionBuilder<'_>,
    (vmctx, sig): TakeStack,
    cont: Value,
    first_unbound: usize,
) -> Value {
    let free_list = free_list(b, vmctx);
    let head = b.ins().load(
        POINTER,
        trusted(),
        free_list,
        offsets::FREE_LIST_HEAD as i32,
    );
    let reuse = b.create_block();
    let allocate = b.create_block();
    let ready = b.create_block();
    let object = b.append_block_param(ready, POINTER);
    b.ins().brif(head, reuse, &[], allocate, &[]);
    b.set_cold_block(reuse);
    emit::enter_sealed(b, reuse);
    emit::take_free_stack(b, free_list, head, cont, first_unbound);
    b.ins().jump(ready, &[head.into()]);
    b.set_cold_block(allocate);
    emit::enter_sealed(b, allocate);
    let allocated = abi::call_builtin_with(
        b,
        sig,
        vmctx,
        Builtin::ContTakeStack,
        &[cont],
        abi::Placement::AtCall,
    )
    .expect("ContTakeStack returns the object");
    check_allocated(b, allocated);
    b.ins().jump(ready, &[allocated.into()]);
    b.set_cold_block(ready);
    emit::enter_sealed(b, ready);
    object
}

/// `emit::reuse_free` or `emit::reuse_pending`.
type ReuseFree = fn(&mut FunctionBuilder<'_>, Value, Value, Value, Value);

/// How a `resume` starts the continuation.
enum Throw {
    /// With arguments.
    No,
    /// By raising a new exception of this tag at its suspension.
    Tag(TagIndex),
    /// By raising the exception on the operand stack.
    Ref,
}
