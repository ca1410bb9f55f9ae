//! Small functions that switch stacks, inlined into their callers.
//!
//! The CPU predicts where a `ret` goes from its return stack buffer, a
//! small stack of the addresses that `call`s pushed, and a stack switch
//! does not switch that buffer. A `ret` taken after control has been on
//! another stack finds the other stack's addresses on top when the code
//! there also returned from or called into functions across the switch:
//! a driver that calls `next()` to resume a generator, whose body calls
//! `yield()` to suspend, mispredicts both returns on every round trip,
//! and each of those costs more than the rest of the round trip
//! (ARCHITECTURE.md, "What the paths cost"). Fiber libraries are built
//! exactly so: their `resume` and `yield` are functions.
//!
//! With such a helper inlined, its switch happens in its caller's frame:
//! nothing returns across the switch, and the buffer stays right. It also
//! saves the helper's call, frame and callee-saved registers (a switch
//! clobbers every register, so a function that switches saves all five).
//!
//! Inlined are defined functions that contain a `stack_switch`, have at
//! most [`MAX_INSTRUCTIONS`] instructions and call no wasm function (so
//! inlining never recurses), at direct `call`s, up to
//! [`MAX_INLINED_PER_CALLER`] instructions into any one function. A `stack_switch` is a
//! call to Cranelift's inliner, which gives each inlined one the stack
//! map of the call it replaces as well as its own, so the collector still
//! finds the caller's references in a paused frame. The inlined helper
//! leaves no frame of its own; its instructions keep their offsets in the
//! module, from which backtraces name it before its caller (the runtime's
//! `CodeObject::pc_kind`).

use cranelift_codegen::Context;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, DebugTag, ExternalName, Opcode};
use fxtime_environ::{WasmError, WasmResult};
use std::borrow::Cow;

/// The largest function inlined, in Cranelift instructions: a `resume`
/// with its handler dispatch and a few table accesses.
const MAX_INSTRUCTIONS: usize = 400;

/// The largest body, in bytes, that [`may_inline`] admits: bodies of
/// [`MAX_INSTRUCTIONS`] instructions are far smaller.
const MAX_BODY_BYTES: u64 = 2048;

/// Whether a function body may be inlined, from its operators: small, with
/// a `resume`, `suspend` or `switch`, and no call. Those that may are
/// translated before the others, and [`Inlinable::new`] decides from their
/// code; the others are translated and compiled one by one, as before.
pub(crate) fn may_inline(body: &wasmparser::FunctionBody<'_>) -> bool {
    let range = body.range();
    if range.end - range.start > MAX_BODY_BYTES {
        return false;
    }
    let Ok(mut reader) = body.get_operators_reader() else {
        return false;
    };
    let mut switches = false;
    while !reader.eof() {
        let Ok(op) = reader.read() else {
            return false;
        };
        if crate::translate::is_call(&op) {
            return false;
        }
        switches |= crate::translate::is_resume_or_switch(&op)
            || matches!(op, wasmparser::Operator::Suspend { .. });
    }
    switches
}

/// The most instructions inlined into one function: past it, its further
/// calls stay calls, so that a module with many calls of a helper grows
/// by a bounded amount per function.
const MAX_INLINED_PER_CALLER: usize = 4000;

/// A function inlined at its direct calls.
struct Body {
    /// A copy of its body as translated (see [`with_srcloc_tags`]).
    func: ir::Function,
    /// Its size in instructions.
    size: usize,
}

/// The functions of a module that are inlined at their direct calls, by
/// defined index.
pub(crate) struct Inlinable {
    bodies: Vec<Option<Body>>,
    /// Whether any function is inlined at all.
    any: bool,
    num_imported: u32,
}

/// Inlines into one function, within [`MAX_INLINED_PER_CALLER`].
struct Inliner<'a> {
    inlinable: &'a Inlinable,
    budget: usize,
}

impl Inlinable {
    /// Picks the functions to inline among `funcs`, the module's defined
    /// functions that [`may_inline`] admitted, translated (by defined
    /// index, `None` for the others).
    pub(crate) fn new(funcs: &[Option<ir::Function>], num_imported: usize) -> Inlinable {
        let bodies = funcs
            .iter()
            .map(|func| {
                let func = func.as_ref()?;
                let size = small_switching_leaf_size(func)?;
                Some(Body {
                    func: with_srcloc_tags(func),
                    size,
                })
            })
            .collect::<Vec<_>>();
        Inlinable {
            any: bodies.iter().any(Option::is_some),
            bodies,
            num_imported: num_imported as u32,
        }
    }

    /// Inlines the calls of `func` to inlinable functions. A function that
    /// switches stacks itself is left as it is: Cranelift's inliner does
    /// not expect a `stack_switch` among the calls it visits.
    pub(crate) fn inline_into(&self, func: &mut ir::Function) -> WasmResult<()> {
        if !self.any || switches(func) {
            return Ok(());
        }
        let mut context = Context::for_function(std::mem::replace(func, ir::Function::new()));
        let inliner = Inliner {
            inlinable: self,
            budget: MAX_INLINED_PER_CALLER,
        };
        context
            .inline(inliner)
            .map_err(|e| WasmError::Bug(format!("inlining: {e:?}")))?;
        *func = context.func;
        srclocs_from_tags(func);
        Ok(())
    }

    /// The body to inline for a call of `callee` from `caller`, if any.
    fn body(&self, caller: &ir::Function, callee: ir::FuncRef) -> Option<&Body> {
        let ExternalName::User(name) = &caller.dfg.ext_funcs[callee].name else {
            return None;
        };
        let name = &caller.params.user_named_funcs()[*name];
        if name.namespace != 0 {
            return None;
        }
        let defined = name.index.checked_sub(self.num_imported)?;
        self.bodies.get(defined as usize)?.as_ref()
    }
}

impl Inline for Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        _call: ir::Inst,
        opcode: Opcode,
        callee: ir::FuncRef,
        _args: &[ir::Value],
    ) -> InlineCommand<'_> {
        // A `try_call` would make every call in the body, the switch
        // included, a `try_call` with the caller's handlers.
        let body = match (opcode, self.inlinable.body(caller, callee)) {
            (Opcode::Call, Some(body)) if body.size <= self.budget => body,
            _ => return InlineCommand::KeepCall,
        };
        self.budget -= body.size;
        InlineCommand::Inline {
            callee: Cow::Borrowed(&body.func),
            visit_callee: false,
        }
    }
}

/// The size of `func` in instructions if it switches stacks, is small, and
/// neither calls nor tail-calls a wasm function (calls of the runtime's
/// builtins are fine).
fn small_switching_leaf_size(func: &ir::Function) -> Option<usize> {
    let mut switches = false;
    let mut size = 0;
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            size += 1;
            match func.dfg.insts[inst].opcode() {
                Opcode::StackSwitch => switches = true,
                Opcode::ReturnCall | Opcode::ReturnCallIndirect | Opcode::TryCall => return None,
                Opcode::Call => {
                    let call = func.dfg.insts[inst]
                        .analyze_call(&func.dfg.value_lists, &func.dfg.exception_tables);
                    let ir::instructions::CallInfo::Direct(callee, _) = call else {
                        return None;
                    };
                    if let ExternalName::User(name) = &func.dfg.ext_funcs[callee].name
                        && func.params.user_named_funcs()[*name].namespace == 0
                    {
                        return None;
                    }
                }
                _ => {}
            }
        }
    }
    (switches && size <= MAX_INSTRUCTIONS).then_some(size)
}

/// Marks an instruction's source location in a body to inline.
const SRCLOC: u32 = u32::from_le_bytes(*b"inSL");

/// A copy of `func` whose instructions carry their source locations as
/// debug tags too: Cranelift's inliner copies an instruction's tags but
/// not its location, which traps and backtraces need.
fn with_srcloc_tags(func: &ir::Function) -> ir::Function {
    let mut copy = func.clone();
    for inst in crate::instructions(&copy) {
        let loc = copy.srcloc(inst);
        if !loc.is_default() {
            let tags = [DebugTag::User(SRCLOC), DebugTag::User(loc.bits())];
            copy.debug_tags.set(inst, tags);
        }
    }
    copy
}

/// Gives the inlined instructions of `func` their source locations back
/// from their tags (see [`with_srcloc_tags`]), and drops the tags.
fn srclocs_from_tags(func: &mut ir::Function) {
    for inst in crate::instructions(func) {
        if let [DebugTag::User(SRCLOC), DebugTag::User(bits)] = *func.debug_tags.get(inst) {
            func.set_srcloc(inst, ir::SourceLoc::new(bits));
            func.debug_tags.set(inst, []);
        }
    }
}

/// Whether `func` contains a `stack_switch`.
fn switches(func: &ir::Function) -> bool {
    func.layout
        .blocks()
        .flat_map(|block| func.layout.block_insts(block))
        .any(|inst| func.dfg.insts[inst].opcode() == Opcode::StackSwitch)
}
