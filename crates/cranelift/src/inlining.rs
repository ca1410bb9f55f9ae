//! Small functions inlined into their callers: those that switch stacks,
//! and tiny ones.
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
//! Tiny functions (wrappers, the empty functions that linkers leave
//! behind) cost more in their call, frame and stack check than in their
//! body: a fiber that benchfx's skynet starts on a C function goes through
//! an export wrapper that calls the function and then a wrapper of two
//! empty ones, 40 of the 270 instructions each fiber took.
//!
//! Inlined, at direct `call`s and up to [`MAX_INLINED_PER_CALLER`]
//! instructions into any one function, are defined functions that
//! - contain a `stack_switch`, have at most [`MAX_INSTRUCTIONS`]
//!   instructions outside cold blocks (a `resume` has cold paths for a
//!   continuation without a stack yet, for allocating one and for traps,
//!   which cost nothing where it runs) and call no wasm function, or
//! - have no `stack_switch`, cannot trap, call nothing but such
//!   functions (directly: so inlining ends, a cycle of calls is never
//!   inlined), and have at most [`MAX_TINY_INSTRUCTIONS`] instructions
//!   with those inlined into them. Code that cannot trap or call never
//!   shows in a backtrace, so inlining them changes none.
//!
//! A `stack_switch` is a call to Cranelift's inliner, which gives each
//! inlined one the stack map of the call it replaces as well as its own,
//! so the collector still finds the caller's references in a paused
//! frame. An inlined helper that switches leaves no frame of its own; its
//! instructions keep their offsets in the module, from which backtraces
//! name it before its caller (the runtime's `CodeObject::pc_kind`).

use cranelift_codegen::Context;
use cranelift_codegen::dominator_tree::DominatorTree;
use cranelift_codegen::flowgraph::ControlFlowGraph;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, DebugTag, ExternalName, Opcode};
use cranelift_codegen::loop_analysis::LoopAnalysis;
use fxtime_environ::{WasmError, WasmResult};
use std::borrow::Cow;

/// The largest function that switches inlined, in Cranelift
/// instructions: a `resume` with its handler dispatch and a few table
/// accesses.
const MAX_INSTRUCTIONS: usize = 400;

/// The largest function without a switch inlined, in Cranelift
/// instructions with its callees inlined: about what a call, a frame and
/// a stack check cost.
const MAX_TINY_INSTRUCTIONS: usize = 24;

/// The largest body, in bytes, that [`may_inline`] admits of a function
/// that switches: bodies of [`MAX_INSTRUCTIONS`] instructions are far
/// smaller.
const MAX_BODY_BYTES: u64 = 2048;

/// The same for a function without a switch, whose limit is
/// [`MAX_TINY_INSTRUCTIONS`].
const MAX_TINY_BODY_BYTES: u64 = 64;

/// Whether a function body may be inlined, from its operators: small,
/// and either with a `resume`, `suspend` or `switch` and no call, or
/// tiny with no calls but direct calls of defined functions (indices from
/// `num_imported` on). Those that may are translated before the others,
/// and [`Inlinable::new`] decides from their code; the others are
/// translated and compiled one by one, as before.
pub(crate) fn may_inline(body: &wasmparser::FunctionBody<'_>, num_imported: u32) -> bool {
    let range = body.range();
    let size = range.end - range.start;
    if size > MAX_BODY_BYTES {
        return false;
    }
    let Ok(mut reader) = body.get_operators_reader() else {
        return false;
    };
    let mut switches = false;
    let mut calls = false;
    while !reader.eof() {
        let Ok(op) = reader.read() else {
            return false;
        };
        match op {
            wasmparser::Operator::Call { function_index } if function_index >= num_imported => {
                calls = true
            }
            op if crate::translate::is_call(&op) => return false,
            op => {
                switches |= crate::translate::is_resume_or_switch(&op)
                    || matches!(op, wasmparser::Operator::Suspend { .. })
            }
        }
    }
    match switches {
        true => !calls,
        false => size <= MAX_TINY_BODY_BYTES,
    }
}

/// The most instructions inlined into one function: past it, its further
/// calls stay calls, so that a module with many calls of a helper grows
/// by a bounded amount per function.
const MAX_INLINED_PER_CALLER: usize = 4000;

/// A function inlined at its direct calls.
struct Body {
    /// A copy of its body as translated, its own callees inlined (see
    /// [`with_srcloc_tags`]).
    func: ir::Function,
    /// Its size in instructions.
    size: usize,
    /// Whether it is tiny (no switch): its own code is compiled from
    /// `func` too (see [`Inlinable::own_code`]).
    tiny: bool,
}

/// The functions of a module that are inlined at their direct calls, by
/// defined index.
pub(crate) struct Inlinable {
    bodies: Vec<Option<Body>>,
    /// Where each forwarder goes, by defined index (see `forwarding`).
    forwards: Vec<Option<usize>>,
    /// Whether any function is inlined at all.
    any: bool,
    num_imported: u32,
}

/// Inlines into one function, within a budget of instructions.
struct Inliner<'a> {
    inlinable: &'a Inlinable,
    budget: usize,
}

/// Where the walk of [`Inlinable::new`] is with a function.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    /// Its callees are being decided.
    Open,
    Done,
}

/// What a function that [`may_inline`] admitted calls.
struct Scan {
    switches: bool,
    /// The defined functions it calls directly.
    callees: Vec<usize>,
    /// Its size before its callees are inlined.
    size: Size,
}

/// A function's size in instructions.
#[derive(Clone, Copy)]
struct Size {
    all: usize,
    /// Outside cold blocks.
    hot: usize,
}

impl Size {
    fn of(func: &ir::Function) -> Size {
        let mut size = Size { all: 0, hot: 0 };
        for block in func.layout.blocks() {
            let count = func.layout.block_insts(block).count();
            size.all += count;
            if !func.layout.is_cold(block) {
                size.hot += count;
            }
        }
        size
    }
}

impl Scan {
    /// Whether a function of `size` is small enough to inline: a function
    /// that switches by its hot instructions, a tiny one by all.
    fn fits(&self, size: Size) -> bool {
        match self.switches {
            true => size.hot <= MAX_INSTRUCTIONS,
            false => size.all <= MAX_TINY_INSTRUCTIONS,
        }
    }
}

/// A translated function that may be inlined once its callees are
/// decided (see [`candidate`]).
pub(crate) struct Candidate {
    func: ir::Function,
    scan: Scan,
}

impl Inlinable {
    /// Picks the functions to inline among `candidates`, by defined
    /// index (see [`candidate`]). A function is decided once all it calls
    /// are, with its callees inlined into it first.
    ///
    /// Each translation is dropped once decided: the code of a tiny
    /// function that is inlined comes from [`Inlinable::own_code`], the
    /// others are translated again, so that a module of many small
    /// functions never holds them all.
    pub(crate) fn new(
        mut candidates: Vec<Option<Candidate>>,
        num_imported: usize,
    ) -> WasmResult<Inlinable> {
        let mut inlinable = Inlinable {
            bodies: candidates.iter().map(|_| None).collect(),
            forwards: candidates.iter().map(|_| None).collect(),
            any: false,
            num_imported: num_imported as u32,
        };
        // Depth first through the calls, each function decided once its
        // callees are: linear in the calls, however long a chain of
        // wrappers. A callee still open is on a cycle, and not inlined.
        let mut visit: Vec<_> = candidates
            .iter()
            .map(|c| if c.is_some() { Visit::New } else { Visit::Done })
            .collect();
        for root in 0..candidates.len() {
            if visit[root] != Visit::New {
                continue;
            }
            visit[root] = Visit::Open;
            let mut path = vec![(root, 0)];
            while let Some((index, next)) = path.last_mut() {
                let index = *index;
                let callees = &candidates[index].as_ref().expect("open").scan.callees;
                if let Some(&callee) = callees.get(*next) {
                    *next += 1;
                    if visit[callee] == Visit::New {
                        visit[callee] = Visit::Open;
                        path.push((callee, 0));
                    }
                    continue;
                }
                path.pop();
                visit[index] = Visit::Done;
                let candidate = candidates[index].take().expect("open");
                inlinable.decide(index, candidate)?;
            }
        }
        crate::forwarding::break_cycles(&mut inlinable.forwards);
        Ok(inlinable)
    }

    /// Makes `candidate`, defined function `index`, inlinable if all it
    /// calls is and it is small enough with them inlined into it.
    fn decide(&mut self, index: usize, candidate: Candidate) -> WasmResult<()> {
        let Candidate { mut func, scan } = candidate;
        if !scan.callees.is_empty() {
            self.inline(&mut func, usize::MAX)?;
        }
        if scan.callees.iter().any(|&c| self.bodies[c].is_none()) {
            // Not inlined, but perhaps a wrapper of what is not.
            if !scan.switches {
                self.forwards[index] = crate::forwarding::target(&func, self.num_imported);
            }
            return Ok(());
        }
        let size = match scan.callees.is_empty() {
            true => scan.size,
            false => Size::of(&func),
        };
        if scan.fits(size) {
            self.bodies[index] = Some(Body {
                func: with_srcloc_tags(func),
                size: size.all,
                tiny: !scan.switches,
            });
            self.any = true;
        }
        Ok(())
    }

    /// Whether defined function `index` is a forwarder that may skip its
    /// stack check (see `forwarding`).
    pub(crate) fn forwards(&self, index: usize) -> bool {
        self.forwards.get(index).is_some_and(Option::is_some)
    }

    /// The code to compile for defined function `index` itself when
    /// [`Inlinable::new`] took its translation: its body as inlined, which
    /// has its callees inlined already, without the tags.
    pub(crate) fn own_code(&self, index: usize) -> Option<ir::Function> {
        let body = self.bodies.get(index)?.as_ref().filter(|b| b.tiny)?;
        let mut func = body.func.clone();
        for inst in crate::instructions(&func) {
            func.debug_tags.set(inst, []);
        }
        Some(func)
    }

    /// Inlines the calls of `func` to inlinable functions, up to
    /// [`MAX_INLINED_PER_CALLER`] instructions. A function that switches
    /// stacks itself is left as it is: Cranelift's inliner does not expect
    /// a `stack_switch` among the calls it visits.
    pub(crate) fn inline_into(&self, func: &mut ir::Function) -> WasmResult<()> {
        if !self.any || switches(func) {
            return Ok(());
        }
        if self.inline(func, MAX_INLINED_PER_CALLER)? {
            hoist_handler_lists(func);
        }
        Ok(())
    }

    /// Inlines into `func` within `budget` instructions; whether anything
    /// was.
    fn inline(&self, func: &mut ir::Function, budget: usize) -> WasmResult<bool> {
        let mut context = Context::for_function(std::mem::replace(func, ir::Function::new()));
        let inliner = Inliner {
            inlinable: self,
            budget,
        };
        let inlined = context
            .inline(inliner)
            .map_err(|e| WasmError::Bug(format!("inlining: {e:?}")))?;
        *func = context.func;
        if inlined {
            srclocs_from_tags(func);
        }
        Ok(inlined)
    }

    /// The body to inline for a call of `callee` from `caller`, if any.
    fn body(&self, caller: &ir::Function, callee: ir::FuncRef) -> Option<&Body> {
        let defined = defined_callee(caller, callee, self.num_imported)?;
        self.bodies.get(defined)?.as_ref()
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

/// The defined index of the wasm function that `callee` of `caller`
/// names, if it names one (not a builtin of the runtime).
fn defined_callee(caller: &ir::Function, callee: ir::FuncRef, num_imported: u32) -> Option<usize> {
    let ExternalName::User(name) = &caller.dfg.ext_funcs[callee].name else {
        return None;
    };
    let name = &caller.params.user_named_funcs()[*name];
    if name.namespace != 0 {
        return None;
    }
    Some(name.index.checked_sub(num_imported)? as usize)
}

/// `func`, a translation that [`may_inline`] admitted, if it may still be
/// inlined once its callees are decided: what cannot be, whatever it
/// calls, is dropped before the others are translated.
pub(crate) fn candidate(func: ir::Function, num_imported: u32) -> Option<Candidate> {
    let scan = scan(&func, num_imported)?;
    let small = !scan.callees.is_empty() || scan.fits(scan.size);
    small.then_some(Candidate { func, scan })
}

/// What `func` calls, if it may be inlined once its callees are: it
/// neither tail-calls nor calls with handlers; a function that switches
/// stacks calls no wasm function (calls of the runtime's builtins are
/// fine); one that does not switch cannot trap and calls nothing but
/// defined wasm functions, so that its inlined code never shows in a
/// backtrace.
fn scan(func: &ir::Function, num_imported: u32) -> Option<Scan> {
    let mut scan = Scan {
        switches: false,
        callees: Vec::new(),
        size: Size::of(func),
    };
    let mut traps_or_calls_the_runtime = false;
    for inst in crate::instructions(func) {
        let data = &func.dfg.insts[inst];
        let opcode = data.opcode();
        traps_or_calls_the_runtime |=
            opcode.can_trap() || data.memflags_trap_code(&func.dfg).is_some();
        match opcode {
            Opcode::StackSwitch => scan.switches = true,
            Opcode::ReturnCall | Opcode::ReturnCallIndirect | Opcode::TryCall => return None,
            Opcode::Call => {
                let call = data.analyze_call(&func.dfg.value_lists, &func.dfg.exception_tables);
                let ir::instructions::CallInfo::Direct(callee, _) = call else {
                    return None;
                };
                match defined_callee(func, callee, num_imported) {
                    Some(defined) => scan.callees.push(defined),
                    None => traps_or_calls_the_runtime = true,
                }
            }
            _ => traps_or_calls_the_runtime |= opcode.is_call(),
        }
    }
    match scan.switches {
        true => scan.callees.is_empty(),
        false => !traps_or_calls_the_runtime,
    }
    .then_some(scan)
}

/// Moves the stores that build the handler lists of inlined `resume`s,
/// with the constants and tag addresses they store, out of the loops
/// around them: to the branch into the outermost one. They were a
/// helper's prologue, which inlining put where its call was, and the
/// lists are the same on every run (see
/// `fxtime_wasmfx::emit::HANDLER_LIST_SLOT`). Not to the function's
/// entry: a function that resumes only on some paths would build them
/// on every call.
fn hoist_handler_lists(func: &mut ir::Function) {
    let stores: Vec<_> = crate::instructions(func)
        .into_iter()
        .filter(|&inst| builds_handler_list(func, inst))
        .collect();
    if stores.is_empty() {
        return;
    }
    let cfg = ControlFlowGraph::with_function(func);
    let domtree = DominatorTree::with_function(func, &cfg);
    let mut loops = LoopAnalysis::new();
    loops.compute(func, &cfg, &domtree);
    for store in stores {
        let Some(mut outermost) = func
            .layout
            .inst_block(store)
            .and_then(|b| loops.innermost_loop(b))
        else {
            continue;
        };
        while let Some(parent) = loops.loop_parent(outermost) {
            outermost = parent;
        }
        let header = loops.loop_header(outermost);
        let mut entries = cfg
            .pred_iter(header)
            .filter(|pred| !loops.is_in_loop(pred.block, outermost));
        let (Some(entry), None) = (entries.next(), entries.next()) else {
            continue;
        };
        let mut chain = Vec::new();
        let place = Place {
            domtree: &domtree,
            block: entry.block,
        };
        if place.can_take(func, store, &mut chain) {
            for moved in chain {
                func.layout.remove_inst(moved);
                func.layout.insert_inst(moved, entry.inst);
            }
        }
    }
}

/// The end of a block that code may move to.
struct Place<'a> {
    domtree: &'a DominatorTree,
    block: ir::Block,
}

impl Place<'_> {
    /// Whether `inst`, with what it uses that is not available at this
    /// place already, can move here: constants, stack addresses, loads
    /// that cannot trap from memory that never changes, and the store of
    /// a handler list. Pushes what must move to `chain`, each after what
    /// it uses.
    fn can_take(&self, func: &ir::Function, inst: ir::Inst, chain: &mut Vec<ir::Inst>) -> bool {
        if chain.contains(&inst) {
            return true;
        }
        let data = &func.dfg.insts[inst];
        let ok = match data.opcode() {
            Opcode::Iconst | Opcode::StackAddr | Opcode::Store => true,
            Opcode::Load => data
                .memflags_data(&func.dfg)
                .is_some_and(|flags| flags.readonly() && flags.trap_code().is_none()),
            _ => false,
        };
        if !ok {
            return false;
        }
        for &arg in func.dfg.inst_args(inst) {
            let available = match func.dfg.value_def(func.dfg.resolve_aliases(arg)) {
                ir::ValueDef::Param(block, _) => self.domtree.block_dominates(block, self.block),
                ir::ValueDef::Result(def, _) => {
                    // A definition in this block comes before its end.
                    let block = func.layout.inst_block(def);
                    block.is_some_and(|b| self.domtree.block_dominates(b, self.block))
                        || self.can_take(func, def, chain)
                }
                _ => false,
            };
            if !available {
                return false;
            }
        }
        chain.push(inst);
        true
    }
}

/// Whether `inst` stores into a handler list's slot.
fn builds_handler_list(func: &ir::Function, inst: ir::Inst) -> bool {
    if func.dfg.insts[inst].opcode() != Opcode::Store {
        return false;
    }
    let address = func.dfg.resolve_aliases(func.dfg.inst_args(inst)[1]);
    let ir::ValueDef::Result(def, _) = func.dfg.value_def(address) else {
        return false;
    };
    let ir::InstructionData::StackAddr { stack_slot, .. } = func.dfg.insts[def] else {
        return false;
    };
    let key = func.sized_stack_slots[stack_slot].key;
    key == Some(ir::StackSlotKey::new(
        fxtime_wasmfx::emit::HANDLER_LIST_SLOT,
    ))
}

/// Marks an instruction's source location in a body to inline.
const SRCLOC: u32 = u32::from_le_bytes(*b"inSL");

/// `func` with its instructions carrying their source locations as
/// debug tags too: Cranelift's inliner copies an instruction's tags but
/// not its location, which traps and backtraces need.
fn with_srcloc_tags(mut func: ir::Function) -> ir::Function {
    for inst in crate::instructions(&func) {
        let loc = func.srcloc(inst);
        if !loc.is_default() {
            let tags = [DebugTag::User(SRCLOC), DebugTag::User(loc.bits())];
            func.debug_tags.set(inst, tags);
        }
    }
    func
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CodegenOptions, Compiler};
    use fxtime_environ::{RelocTarget, VMOffsets, translate_module};
    use wasmparser::WasmFeatures;

    /// The functions of `wat`, translated and inlined into, not compiled.
    fn translated(wat: &str) -> Vec<ir::Function> {
        let wasm = wat::parse_str(wat).unwrap();
        let translation = translate_module(&wasm, WasmFeatures::all()).unwrap();
        let offsets = VMOffsets::new(&translation.info);
        let compiler = Compiler::new(CodegenOptions::default()).unwrap();
        compiler
            .translate_functions(translation, &offsets, Ok)
            .unwrap()
    }

    /// For each function of `wat`, the functions its code still calls.
    fn calls_left(wat: &str, options: CodegenOptions) -> Vec<Vec<u32>> {
        let wasm = wat::parse_str(wat).unwrap();
        let translation = translate_module(&wasm, WasmFeatures::all()).unwrap();
        let offsets = VMOffsets::new(&translation.info);
        let compiled = Compiler::new(options)
            .unwrap()
            .compile_functions(translation, &offsets)
            .unwrap();
        compiled
            .iter()
            .map(|c| {
                let relocations = &c.function.relocations;
                relocations
                    .iter()
                    .filter_map(|r| match r.target {
                        RelocTarget::Function(f) => Some(f.0),
                        RelocTarget::LibCall(_) => None,
                    })
                    .collect()
            })
            .collect()
    }

    const WRAPPERS: &str = r#"(module
      (global $g (mut i32) (i32.const 0))
      (func $empty)
      (func $two_empty (call $empty) (call $empty))
      (func $bump (global.set $g (i32.add (global.get $g) (i32.const 1))))
      (func $divide (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))
      (func $even (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (call $odd (i32.sub (local.get 0) (i32.const 1))))
          (else (i32.const 1))))
      (func $odd (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (call $even (i32.sub (local.get 0) (i32.const 1))))
          (else (i32.const 0))))
      (func (export "main") (param i32) (result i32)
        (call $two_empty)
        (call $bump)
        (i32.add (call $divide (local.get 0)) (call $even (local.get 0)))))"#;

    #[test]
    fn tiny_functions_are_inlined_unless_they_trap_call_the_runtime_or_recurse() {
        let calls = calls_left(WRAPPERS, CodegenOptions::default());
        assert_eq!(calls[1], [0u32; 0], "a wrapper's tiny callees are inlined");
        // What stays: the division (it can trap) and the cycle.
        assert_eq!(calls[6], [3, 4]);
        assert_eq!(calls[4], [5]);
        // With fuel, a function that calls checks the fuel first, a call of
        // the runtime when it runs out: the wrapper stays a call, the leaf
        // that only counts its fuel does not.
        let fuel = CodegenOptions {
            consume_fuel: true,
            ..CodegenOptions::default()
        };
        let calls = calls_left(WRAPPERS, fuel);
        assert_eq!(calls[6], [1, 3, 4]);
    }

    /// benchfx skynet's `handle`: `cont.new`, a resume, and a second
    /// resume for a fiber that suspended. Each resume has cold paths (a
    /// pending continuation's move to a stack, allocation, traps) which
    /// double its code but not what runs.
    const HANDLE: &str = r#"(module
      (type $f (func (param i32 i64) (result i64)))
      (type $ct (cont $f))
      (type $fy (func (result i64)))
      (type $cy (cont $fy))
      (tag $yield (param i64))
      (func $fiber (param i32 i64) (result i64) (suspend $yield (local.get 1)) (i64.const -1))
      (elem declare func $fiber)
      (func $handle (param i32 i64) (result i64)
        (block $on_yield (result i64 (ref $cy))
          (resume $ct (on $yield $on_yield) (local.get 0) (local.get 1)
            (cont.new $ct (ref.func $fiber)))
          (return))
        (resume $cy)
        (drop))
      (func (export "run") (param i32) (result i64)
        (call $handle (local.get 0) (i64.const 7))))"#;

    #[test]
    fn a_helper_is_measured_by_its_hot_code() {
        let calls = calls_left(HANDLE, CodegenOptions::default());
        assert_eq!(calls[2], [0u32; 0], "handle is inlined");
        let handle = &translated(HANDLE)[1];
        let size = Size::of(handle);
        assert!(size.hot <= MAX_INSTRUCTIONS && size.all > size.hot + 100);
    }

    /// A generator's `next`, small enough to inline, called in a loop
    /// nested in another, and once outside any loop.
    const NEXT_IN_LOOPS: &str = r#"(module
      (type $g (func))
      (type $k (cont $g))
      (tag $yield (param i32))
      (global $k (mut (ref null $k)) (ref.null $k))
      (func $next (result i32)
        (block $on_yield (result i32 (ref $k))
          (resume $k (on $yield $on_yield) (ref.as_non_null (global.get $k)))
          (return (i32.const -1)))
        (global.set $k))
      (func (export "drain") (param $n i32) (result i32) (local $s i32)
        (local.set $s (call $next))
        (loop $outer
          (loop $inner
            (br_if $inner (i32.ge_s (call $next) (i32.const 0))))
          (br_if $outer (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $s)))"#;

    #[test]
    fn handler_lists_of_inlined_resumes_are_built_outside_loops() {
        let funcs = translated(NEXT_IN_LOOPS);
        let drain = &funcs[1];
        let cfg = ControlFlowGraph::with_function(drain);
        let domtree = DominatorTree::with_function(drain, &cfg);
        let mut loops = LoopAnalysis::new();
        loops.compute(drain, &cfg, &domtree);
        let stores: Vec<_> = crate::instructions(drain)
            .into_iter()
            .filter(|&inst| builds_handler_list(drain, inst))
            .collect();
        // Two lists, one per inlined `resume`, each of several words.
        assert!(stores.len() >= 4, "{drain}");
        for store in stores {
            let block = drain.layout.inst_block(store).unwrap();
            assert_eq!(
                loops.innermost_loop(block),
                None,
                "{store} in a loop: {drain}"
            );
        }
    }
}
