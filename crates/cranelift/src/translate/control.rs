//! Structured control flow: blocks, loops, ifs, branches and returns.
//!
//! Every wasm block gets a Cranelift block for the code after it (its
//! `destination`), whose parameters are the wasm block's results; a loop
//! also gets a `header` whose parameters are the loop's parameters. Branches
//! jump to one of those with the top operands as arguments.

use super::FuncTranslator;
use crate::abi::{ir_type, trap_code};
use cranelift_codegen::ir::{self, BlockArg, BlockCall, InstBuilder, JumpTableData, Value};
use fxtime_environ::{TrapKind, TypeIndex, WasmResult};
use wasmparser::{BlockType, Operator};

/// What kind of construct a control frame is.
pub(crate) enum FrameKind {
    Block,
    Loop {
        header: ir::Block,
    },
    TryTable,
    If {
        /// Where a false condition goes; `None` once `else` was seen.
        else_block: Option<ir::Block>,
        /// The block's parameters, for the else branch.
        params: Vec<Value>,
    },
}

/// An open block, loop or if.
pub(crate) struct ControlFrame {
    pub(crate) kind: FrameKind,
    /// The code after the construct; its parameters are the results.
    pub(crate) destination: ir::Block,
    pub(crate) num_params: usize,
    pub(crate) num_results: usize,
    /// Operand stack height below the construct's parameters.
    pub(crate) height: usize,
    /// Whether anything jumps (or falls through) to `destination`.
    pub(crate) destination_reached: bool,
}

impl ControlFrame {
    /// Where a branch to this frame goes, and how many operands it takes.
    fn branch_target(&mut self) -> (ir::Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => {
                self.destination_reached = true;
                (self.destination, self.num_results)
            }
        }
    }
}

fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl FuncTranslator<'_> {
    /// Opens the frame of the function body itself.
    pub(super) fn begin_function_body(&mut self) {
        let results: Vec<_> = self
            .module
            .func_type(self.current_func())
            .results
            .iter()
            .map(|t| ir_type(*t))
            .collect();
        let destination = self.block_with_params(&results);
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            destination,
            num_params: 0,
            num_results: results.len(),
            height: 0,
            destination_reached: false,
        });
    }

    pub(super) fn translate_control(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match op {
            Operator::Nop => {}
            Operator::Unreachable => {
                // Cranelift folds a branch to a block that does nothing but
                // trap into a conditional trap at the branch, which would
                // report an `if (...) (then unreachable)` at the `if`. A
                // conditional trap that always fires is not folded, and
                // keeps this instruction's offset; the `trap` after it only
                // ends the block.
                let code = trap_code(TrapKind::Unreachable);
                let never = self.builder.ins().iconst(ir::types::I32, 0);
                self.builder.ins().trapz(never, code);
                self.builder.ins().trap(code);
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                let (params, results) = self.block_type(*blockty)?;
                let destination = self.block_with_params(&results);
                self.push_frame(FrameKind::Block, destination, params.len(), results.len());
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_type(*blockty)?;
                let header = self.block_with_params(&params);
                let args = block_args(self.peekn(params.len()));
                self.builder.ins().jump(header, &args);
                self.builder.switch_to_block(header);
                let at = self.stack.len() - params.len();
                self.stack.truncate(at);
                self.stack
                    .extend_from_slice(self.builder.block_params(header));
                self.loop_interruption_point();
                let destination = self.block_with_params(&results);
                self.push_frame(
                    FrameKind::Loop { header },
                    destination,
                    params.len(),
                    results.len(),
                );
            }
            Operator::If { blockty } => {
                let condition = self.pop();
                let (params, results) = self.block_type(*blockty)?;
                let then_block = self.builder.create_block();
                let else_block = self.builder.create_block();
                self.builder
                    .ins()
                    .brif(condition, then_block, &[], else_block, &[]);
                self.builder.seal_block(then_block);
                self.builder.seal_block(else_block);
                self.builder.switch_to_block(then_block);
                let destination = self.block_with_params(&results);
                let kind = FrameKind::If {
                    else_block: Some(else_block),
                    params: self.peekn(params.len()).to_vec(),
                };
                self.push_frame(kind, destination, params.len(), results.len());
            }
            Operator::Else => self.translate_else(),
            Operator::End => self.translate_end(),
            Operator::Br { relative_depth } => {
                let (target, arity) = self.branch_target(*relative_depth);
                let args = block_args(self.peekn(arity));
                self.builder.ins().jump(target, &args);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let condition = self.pop();
                let (target, arity) = self.branch_target(*relative_depth);
                let args = block_args(self.peekn(arity));
                let next = self.builder.create_block();
                self.builder.ins().brif(condition, target, &args, next, &[]);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
            }
            Operator::BrTable { targets } => {
                let index = self.pop();
                let mut depths = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    depths.push(depth?);
                }
                let (default, arity) = self.branch_target(targets.default());
                let args = block_args(self.peekn(arity));
                let pool = &mut self.builder.func.dfg.value_lists;
                let default = BlockCall::new(default, args.iter().copied(), pool);
                let mut calls = Vec::with_capacity(depths.len());
                for depth in depths {
                    let (target, _) = self.branch_target(depth);
                    let pool = &mut self.builder.func.dfg.value_lists;
                    calls.push(BlockCall::new(target, args.iter().copied(), pool));
                }
                let table = self
                    .builder
                    .create_jump_table(JumpTableData::new(default, &calls));
                self.builder.ins().br_table(index, table);
                self.reachable = false;
            }
            Operator::BrOnNull { relative_depth } => {
                // Branch with the operands below the reference when it is
                // null; otherwise continue with it.
                let value = self.pop();
                let (target, arity) = self.branch_target(*relative_depth);
                let args = block_args(self.peekn(arity));
                let is_null = self.is_null(value);
                let next = self.builder.create_block();
                self.builder.ins().brif(is_null, target, &args, next, &[]);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
                self.stack.push(value);
            }
            Operator::BrOnNonNull { relative_depth } => {
                // Branch with the reference on top when it is not null;
                // otherwise drop it and continue.
                let value = *self.stack.last().expect("validated operand");
                let (target, arity) = self.branch_target(*relative_depth);
                let args = block_args(self.peekn(arity));
                let next = self.builder.create_block();
                let is_null = self.is_null(value);
                self.builder.ins().brif(is_null, next, &[], target, &args);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
                self.pop();
            }
            Operator::Return => {
                let arity = self.control[0].num_results;
                let results = self.peekn(arity).to_vec();
                self.fuel_to_memory();
                self.builder.ins().return_(&results);
                self.reachable = false;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let [a, b, condition] = self.popn();
                let value = self.builder.ins().select(condition, a, b);
                self.stack.push(value);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub(super) fn translate_else(&mut self) {
        let reachable = self.reachable;
        let frame = self.control.last_mut().expect("validated: else inside if");
        let FrameKind::If { else_block, params } = &mut frame.kind else {
            unreachable!("validated: else inside if");
        };
        let else_block = else_block.take().expect("validated: one else per if");
        let params = params.clone();
        let (destination, height, arity) = (frame.destination, frame.height, frame.num_results);
        if reachable {
            frame.destination_reached = true;
            let args = block_args(self.peekn(arity));
            self.builder.ins().jump(destination, &args);
        }
        self.stack.truncate(height);
        self.stack.extend(params);
        self.builder.switch_to_block(else_block);
        self.reachable = true;
    }

    pub(super) fn translate_end(&mut self) {
        let mut frame = self.control.pop().expect("validated: end closes a frame");
        if self.reachable {
            frame.destination_reached = true;
            let args = block_args(self.peekn(frame.num_results));
            self.builder.ins().jump(frame.destination, &args);
        }
        match frame.kind {
            // An if without else: a false condition passes its parameters
            // straight on (validation made them the results).
            FrameKind::If {
                else_block: Some(else_block),
                params,
            } => {
                frame.destination_reached = true;
                self.builder.switch_to_block(else_block);
                let args = block_args(&params);
                self.builder.ins().jump(frame.destination, &args);
            }
            FrameKind::Loop { header } => self.builder.seal_block(header),
            FrameKind::TryTable => self.end_try_table(),
            _ => {}
        }
        self.stack.truncate(frame.height);
        self.reachable = frame.destination_reached;
        if frame.destination_reached {
            self.builder.switch_to_block(frame.destination);
            self.builder.seal_block(frame.destination);
            self.stack
                .extend_from_slice(self.builder.block_params(frame.destination));
        }
        if self.control.is_empty() && self.reachable {
            let results = self.stack.clone();
            self.fuel_to_memory();
            self.builder.ins().return_(&results);
            self.reachable = false;
        }
    }

    pub(super) fn push_frame(
        &mut self,
        kind: FrameKind,
        destination: ir::Block,
        num_params: usize,
        num_results: usize,
    ) {
        self.control.push(ControlFrame {
            kind,
            destination,
            num_params,
            num_results,
            height: self.stack.len() - num_params,
            destination_reached: false,
        });
    }

    pub(super) fn branch_target(&mut self, relative_depth: u32) -> (ir::Block, usize) {
        let index = self.control.len() - 1 - relative_depth as usize;
        self.control[index].branch_target()
    }

    pub(super) fn block_with_params(&mut self, types: &[ir::Type]) -> ir::Block {
        let block = self.builder.create_block();
        for ty in types {
            self.builder.append_block_param(block, *ty);
        }
        block
    }

    /// Parameter and result types of a block type.
    pub(super) fn block_type(&self, ty: BlockType) -> WasmResult<(Vec<ir::Type>, Vec<ir::Type>)> {
        Ok(match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![ir_type(self.module.convert_val_type(t)?)]),
            BlockType::FuncType(index) => {
                let ty = self.module.func_type_at(TypeIndex(index));
                let types =
                    |v: &[fxtime_environ::WasmValType]| v.iter().map(|t| ir_type(*t)).collect();
                (types(&ty.params), types(&ty.results))
            }
        })
    }
}
