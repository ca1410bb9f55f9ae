//! WebAssembly to native code with Cranelift.
//!
//! [`Compiler`] owns the target ISA (the host's x86-64, with frame pointers
//! kept and the stack-limit check in every prologue). It translates each
//! defined function (`translate`) and compiles it in parallel, and builds
//! the trampolines between the host's C calling convention and wasm's tail
//! calling convention (`trampolines`). Its output is
//! [`fxtime_environ::CompiledFunction`]s that the runtime links.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod abi;
mod forwarding;
mod inlining;
mod placement;
mod stack_maps;
mod trampolines;
mod unwind;

pub use unwind::UnwindInfo;

/// A compiled function with its unwind information.
#[derive(Debug)]
pub struct Compiled {
    /// Code, relocations, trap sites and call sites.
    pub function: CompiledFunction,
    /// For [`Compiler::build_eh_frame`] once the code is placed.
    pub unwind: UnwindInfo,
}
mod translate;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedRelocTarget, binemit};
use fxtime_environ::{
    CallSite, CompiledFunction, CompositeKind, DefinedFuncIndex, ExceptionHandler, FuncIndex,
    FuncType, FunctionBodyData, LibCall, ModuleInfo, ModuleTranslation, RelocKind, RelocTarget,
    Relocation, TagIndex, TrapSite, TypeIndex, VMOffsets, WasmError, WasmResult,
};
use rayon::prelude::*;

/// What generated code does beyond the semantics of wasm: the checks that
/// let an embedder stop it. Fixed per engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodegenOptions {
    /// Count fuel (`Config::consume_fuel`).
    pub consume_fuel: bool,
    /// Check the epoch deadline (`Config::epoch_interruption`).
    pub epoch_interruption: bool,
    /// Give relaxed SIMD operators their deterministic results
    /// (`Config::relaxed_simd_deterministic`).
    pub relaxed_simd_deterministic: bool,
}

/// The target as function translation sees it.
#[derive(Clone, Copy)]
pub(crate) struct Host<'a> {
    pub(crate) isa: &'a dyn TargetIsa,
    /// Whether the CPU has SSE4.1, which the x64 backend needs for SIMD.
    pub(crate) sse41: bool,
}

/// A second handle on a function body, for translating it twice.
fn copy_body<'a>(body: &FunctionBodyData<'a>) -> FunctionBodyData<'a> {
    let validator = &body.validator;
    FunctionBodyData {
        body: body.body.clone(),
        validator: wasmparser::FuncToValidate {
            resources: validator.resources.clone(),
            index: validator.index,
            ty: validator.ty,
            features: validator.features,
        },
    }
}

/// Compiles modules and trampolines for the host.
pub struct Compiler {
    isa: OwnedTargetIsa,
    options: CodegenOptions,
    sse41: bool,
}

impl Compiler {
    /// A compiler for the host CPU. Fails on anything but x86-64.
    pub fn new(options: CodegenOptions) -> WasmResult<Compiler> {
        if !cfg!(target_arch = "x86_64") {
            return Err(WasmError::Unsupported(
                "this host architecture: fxtime runs on x86-64 only".into(),
            ));
        }
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, name: &str, value: &str| {
            flags
                .set(name, value)
                .map_err(|e| WasmError::Bug(format!("Cranelift setting {name}: {e}")))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "preserve_frame_pointers", "true")?;
        set(&mut flags, "unwind_info", "true")?;
        set(&mut flags, "enable_probestack", "false")?;
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        set(&mut flags, "stack_switch_model", "basic")?;
        // Block offsets and edges, for `placement`.
        set(&mut flags, "machine_code_cfg_info", "true")?;
        let verify = if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        };
        set(&mut flags, "enable_verifier", verify)?;
        let isa = cranelift_native::builder()
            .map_err(|e| WasmError::Unsupported(format!("this host CPU: {e}")))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| WasmError::Bug(format!("building the target ISA: {e}")))?;
        let sse41 = isa
            .isa_flags()
            .iter()
            .any(|flag| flag.name == "has_sse41" && flag.as_bool() == Some(true));
        Ok(Compiler {
            isa,
            options,
            sse41,
        })
    }

    fn host(&self) -> Host<'_> {
        Host {
            isa: &*self.isa,
            sse41: self.sse41,
        }
    }

    /// The checks this compiler emits.
    pub fn options(&self) -> CodegenOptions {
        self.options
    }

    /// Every setting the code this compiler makes depends on, apart from
    /// the CPU's features: (name, value) of Cranelift's settings and of
    /// fxtime's own options, in a fixed order.
    pub fn settings(&self) -> Vec<(String, String)> {
        let shared = self
            .isa
            .flags()
            .iter()
            // The verifier checks the compiler; it does not change code.
            .filter(|v| v.name != "enable_verifier")
            .map(|v| (format!("cranelift.{}", v.name), v.value_string()));
        let isa = self
            .isa
            .isa_flags()
            .into_iter()
            .filter(|v| v.as_bool().is_none())
            .map(|v| (format!("isa.{}", v.name), v.value_string()));
        let CodegenOptions {
            consume_fuel,
            epoch_interruption,
            relaxed_simd_deterministic,
        } = self.options;
        let own = [
            ("consume_fuel", consume_fuel),
            ("epoch_interruption", epoch_interruption),
            ("relaxed_simd_deterministic", relaxed_simd_deterministic),
        ]
        .map(|(name, on)| (name.to_string(), on.to_string()));
        shared.chain(isa).chain(own).collect()
    }

    /// The CPU features the code this compiler makes may use (Cranelift's
    /// names: `has_avx2`, ...).
    pub fn cpu_features(&self) -> Vec<String> {
        self.isa
            .isa_flags()
            .into_iter()
            .filter(|v| v.as_bool() == Some(true))
            .map(|v| v.name.to_string())
            .collect()
    }

    /// Compiles every function body of `translation`, in parallel.
    pub fn compile_functions(
        &self,
        translation: ModuleTranslation<'_>,
        offsets: &VMOffsets,
    ) -> WasmResult<Vec<Compiled>> {
        self.translate_functions(translation, offsets, |func| self.compile(func))
    }

    /// Translates every function body of `translation`, inlines into it
    /// (see `inlining`) and hands it to `finish`, in parallel. Functions
    /// that may be inlined into their callers are translated first; the
    /// others are translated and finished one by one.
    fn translate_functions<T: Send>(
        &self,
        translation: ModuleTranslation<'_>,
        offsets: &VMOffsets,
        finish: impl Fn(ir::Function) -> WasmResult<T> + Sync,
    ) -> WasmResult<Vec<T>> {
        let module = &translation.info;
        let translate = |i: usize, body| {
            let index = DefinedFuncIndex(i as u32);
            translate::translate_function(module, offsets, index, body, self.host(), self.options)
        };
        let num_imported = module.num_imported_funcs;
        let bodies = translation.bodies;
        // Functions that may be inlined into their callers are translated
        // first, from copies of their bodies; what cannot be inlined
        // whatever it calls is dropped at once.
        let early = bodies
            .par_iter()
            .enumerate()
            .map(|(i, body)| {
                if !inlining::may_inline(&body.body, num_imported as u32) {
                    return Ok(None);
                }
                let func = translate(i, copy_body(body))?;
                Ok(inlining::candidate(func, num_imported as u32))
            })
            .collect::<WasmResult<Vec<_>>>()?;
        let inlinable = inlining::Inlinable::new(early, num_imported)?;
        bodies
            .into_par_iter()
            .enumerate()
            .map(|(i, body)| {
                let mut func = match inlinable.own_code(i) {
                    Some(func) => func,
                    None => translate(i, body)?,
                };
                inlinable.inline_into(&mut func)?;
                if inlinable.forwards(i) {
                    forwarding::skip_stack_check(&mut func);
                }
                stack_maps::tag_switch_sites(&mut func);
                finish(func)
            })
            .collect()
    }

    /// Compiles the continuation entry of every continuation type of
    /// `module` (see `trampolines::continuation_entry`), with the type
    /// index each is for.
    pub fn compile_continuation_entries(
        &self,
        module: &ModuleInfo,
    ) -> WasmResult<Vec<(TypeIndex, Compiled)>> {
        (0..module.types.len() as u32)
            .map(TypeIndex)
            .filter(|t| module.kind_of(t.0) == Some(CompositeKind::Cont))
            .map(|t| {
                let func = trampolines::continuation_entry(
                    module.cont_func_type(t),
                    self.isa.frontend_config(),
                );
                Ok((t, self.compile(func)?))
            })
            .collect()
    }

    /// Compiles the trampoline through which the host calls a wasm function
    /// of type `ty`: `extern "C" fn(callee_vmctx, caller_vmctx, code,
    /// values)`, arguments and results in `values`.
    pub fn compile_entry_trampoline(&self, ty: &FuncType) -> WasmResult<Compiled> {
        self.compile(trampolines::entry(ty, self.isa.frontend_config()))
    }

    /// Compiles the trampoline through which wasm calls a host function of
    /// type `ty` (see `VMHostFuncContext`).
    pub fn compile_host_trampoline(&self, ty: &FuncType) -> WasmResult<Compiled> {
        self.compile(trampolines::host(ty, self.isa.frontend_config()))
    }

    fn compile(&self, func: ir::Function) -> WasmResult<Compiled> {
        let mut context = Context::for_function(func);
        let compiled = context
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|e| WasmError::Bug(format!("Cranelift: {:?}", e.inner)))?;
        let unwind = compiled
            .create_unwind_info(&*self.isa)
            .map_err(|e| WasmError::Bug(format!("unwind info: {e:?}")))?;
        let buffer = compiled.buffer.clone();
        let line_offset = placement::line_offset(&compiled.bb_edges);
        let mut relocations = Vec::new();
        for reloc in buffer.relocs() {
            relocations.push(convert_relocation(&context.func, reloc)?);
        }
        let traps = buffer
            .traps()
            .iter()
            .filter_map(|trap| {
                abi::trap_kind(trap.code).map(|kind| TrapSite {
                    offset: trap.offset,
                    kind,
                })
            })
            .collect();
        let call_sites = buffer
            .call_sites()
            .filter(|site| !site.exception_handlers.is_empty())
            .map(convert_call_site)
            .collect::<WasmResult<Vec<_>>>()?;
        let (stack_maps, switch_maps) = stack_maps::collect(&buffer);
        let address_map = buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|s| !s.loc.is_default())
            .map(|s| (s.start, s.loc.bits()))
            .collect();
        Ok(Compiled {
            function: CompiledFunction {
                code: buffer.data().to_vec(),
                alignment: buffer.alignment,
                line_offset,
                relocations,
                traps,
                call_sites,
                address_map,
                stack_maps,
                switch_maps,
            },
            unwind: UnwindInfo(unwind),
        })
    }
}

/// Every instruction of `func` in layout order, collected so that the
/// function can be changed while they are visited.
pub(crate) fn instructions(func: &ir::Function) -> Vec<ir::Inst> {
    func.layout
        .blocks()
        .flat_map(|block| func.layout.block_insts(block))
        .collect()
}

fn convert_relocation(
    func: &ir::Function,
    reloc: &cranelift_codegen::FinalizedMachReloc,
) -> WasmResult<Relocation> {
    let kind = match reloc.kind {
        binemit::Reloc::X86CallPCRel4 | binemit::Reloc::X86PCRel4 => RelocKind::PcRel4,
        binemit::Reloc::Abs8 => RelocKind::Abs8,
        other => return Err(WasmError::Bug(format!("unexpected relocation {other:?}"))),
    };
    let target = match &reloc.target {
        FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
            let name = &func.params.user_named_funcs()[*name];
            RelocTarget::Function(FuncIndex(name.index))
        }
        FinalizedRelocTarget::ExternalName(ExternalName::LibCall(libcall)) => {
            RelocTarget::LibCall(convert_libcall(*libcall)?)
        }
        other => {
            return Err(WasmError::Bug(format!(
                "unexpected relocation target {other:?}"
            )));
        }
    };
    Ok(Relocation {
        offset: reloc.offset,
        kind,
        target,
        addend: reloc.addend,
    })
}

fn convert_call_site(site: cranelift_codegen::FinalizedMachCallSite<'_>) -> WasmResult<CallSite> {
    use cranelift_codegen::{ExceptionContextLoc, FinalizedMachExceptionHandler as H};
    let mut vmctx_sp_offset = None;
    let mut handlers = Vec::new();
    for handler in site.exception_handlers {
        match *handler {
            H::Tag(tag, offset) => handlers.push(ExceptionHandler {
                tag: Some(TagIndex(tag.as_u32())),
                offset,
            }),
            H::Default(offset) => handlers.push(ExceptionHandler { tag: None, offset }),
            H::Context(ExceptionContextLoc::SPOffset(offset)) => vmctx_sp_offset = Some(offset),
            H::Context(other) => {
                return Err(WasmError::Bug(format!("exception context in {other:?}")));
            }
        }
    }
    let (Some(frame_offset), Some(vmctx_sp_offset)) = (site.frame_offset, vmctx_sp_offset) else {
        return Err(WasmError::Bug(
            "a call site without frame offset or context".into(),
        ));
    };
    Ok(CallSite {
        return_offset: site.ret_addr,
        frame_offset,
        vmctx_sp_offset,
        handlers,
    })
}

fn convert_libcall(libcall: ir::LibCall) -> WasmResult<LibCall> {
    use ir::LibCall as L;
    Ok(match libcall {
        L::CeilF32 => LibCall::CeilF32,
        L::CeilF64 => LibCall::CeilF64,
        L::FloorF32 => LibCall::FloorF32,
        L::FloorF64 => LibCall::FloorF64,
        L::TruncF32 => LibCall::TruncF32,
        L::TruncF64 => LibCall::TruncF64,
        L::NearestF32 => LibCall::NearestF32,
        L::NearestF64 => LibCall::NearestF64,
        L::FmaF32 => LibCall::FmaF32,
        L::FmaF64 => LibCall::FmaF64,
        other => return Err(WasmError::Bug(format!("unexpected libcall {other:?}"))),
    })
}
