//! [`Module`]: a compiled WebAssembly module.

use crate::{Engine, precompiled};
use anyhow::{Context, Result, anyhow};
use fxtime_environ::{
    CompositeKind, EhFrame, EntityIndex, FuncType, GlobalIndex, GlobalType, MemoryType, ModuleInfo,
    TableIndex, TableType, TypeIndex, VMOffsets, WasmError, translate_module,
};
use fxtime_runtime::code::{CodeKind, LinkedCode, MappedCode};
use fxtime_runtime::instance::{ContinuationEntry, RuntimeModule};
use std::sync::Arc;

/// A validated and compiled module, ready to instantiate in any store of
/// its engine. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) engine: Engine,
    pub(crate) runtime: Arc<RuntimeModule>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.runtime.info.name)
            .finish_non_exhaustive()
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// An exception tag, by the type of its payload.
    Tag(FuncType),
}

impl Module {
    /// Compiles a module from its binary or text format.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        refuse_precompiled(bytes.as_ref())?;
        let bytes = wat::parse_bytes(bytes.as_ref())?;
        Module::from_binary(engine, &bytes)
    }

    /// Compiles a module from a file in binary or text format.
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
        // Text errors name the file and line, not `<anon>`.
        let bytes = wat::parse_bytes(&bytes).map_err(|mut e| {
            e.set_path(path);
            e
        })?;
        Module::from_binary(engine, &bytes)
    }

    /// Loads a module precompiled by [`Module::serialize`] or
    /// [`Engine::precompile_module`] (or `fxtime compile`), without
    /// compiling it again. The file must come from the same build of
    /// fxtime, with the same features and code settings, for a CPU with
    /// no feature this host lacks: anything else is refused with an error,
    /// and so is a file that is truncated or damaged (a checksum covers it
    /// whole).
    ///
    /// # Safety
    ///
    /// The bytes become executable code: they must be a file fxtime
    /// wrote. A file crafted to pass the checksum and the checks of its
    /// tables can still run arbitrary code. Never load precompiled modules
    /// from sources you would not run native code from.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        load_precompiled(engine, precompiled::read(engine, bytes.as_ref())?)
    }

    /// [`Module::deserialize`] of the file at `path`, mapped rather than
    /// read: the code is not copied, and pages of it that nothing patches
    /// are shared with other processes that map the same file.
    ///
    /// # Safety
    ///
    /// As for [`Module::deserialize`]; and the file must not be changed or
    /// truncated while the module lives (replacing it with a new file, as
    /// the compilation cache does, is fine).
    pub unsafe fn deserialize_file(
        engine: &Engine,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Module> {
        let path = path.as_ref();
        precompiled::read_file(engine, path)
            .and_then(|contents| load_precompiled(engine, contents))
            .with_context(|| format!("cannot load {}", path.display()))
    }

    /// The precompiled form of this module, for [`Module::deserialize`].
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let (linked, eh_frame) = self.runtime.code.linked();
        precompiled::write(&self.engine, &self.runtime.wasm, &linked, &eh_frame)
    }

    /// Whether `bytes` are a precompiled module (rather than WebAssembly
    /// in binary or text form).
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        precompiled::is_precompiled(bytes)
    }

    /// Compiles a module from its binary format.
    ///
    /// A module that fails validation but would pass with features fxtime
    /// lacks (or that are switched off) is an error that names them
    /// ("unsupported feature: ..."), with the validation error as its
    /// cause (a [`WasmError::Invalid`] in the error's chain).
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        refuse_precompiled(wasm)?;
        if let Some(cache) = engine.cache() {
            return cache.get_or_compile(engine, wasm, |wasm| Module::compile(engine, wasm));
        }
        Module::compile(engine, wasm)
    }

    /// Compiles `wasm`, with the missing features an invalid module
    /// would need named in the error.
    fn compile(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        compile_and_load(engine, wasm).map_err(|e| match e {
            WasmError::Invalid { .. } => match engine.features().explain_invalid(wasm) {
                Some(explanation) => anyhow::Error::new(e).context(explanation),
                None => anyhow::Error::new(e),
            },
            other => anyhow::Error::new(other),
        })
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.runtime.info.name.as_deref()
    }

    /// The imports: module name, field name and type.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = (&str, &str, ExternType)> + '_ {
        let info = &self.runtime.info;
        let ids = &self.runtime.type_ids;
        info.imports.iter().map(move |i| {
            (
                i.module.as_str(),
                i.name.as_str(),
                extern_type(info, ids, i.index),
            )
        })
    }

    /// The exports: name and type.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, ExternType)> + '_ {
        let info = &self.runtime.info;
        let ids = &self.runtime.type_ids;
        info.exports
            .iter()
            .map(move |e| (e.name.as_str(), extern_type(info, ids, e.index)))
    }

    /// The engine the module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.runtime.info
    }
}

/// Precompiled modules are not WebAssembly: say so, rather than what the
/// parser would make of them.
fn refuse_precompiled(bytes: &[u8]) -> Result<()> {
    if precompiled::is_precompiled(bytes) {
        anyhow::bail!(
            "these bytes are a precompiled module, not WebAssembly: load them with \
             Module::deserialize"
        );
    }
    Ok(())
}

/// The type of an import or export, canonicalized with `type_ids`.
pub(crate) fn extern_type(info: &ModuleInfo, type_ids: &[u32], index: EntityIndex) -> ExternType {
    match index {
        EntityIndex::Function(f) => ExternType::Func(info.func_type(f).canonicalize(type_ids)),
        EntityIndex::Table(t) => ExternType::Table(canonical_table(info, type_ids, t)),
        EntityIndex::Memory(m) => ExternType::Memory(info.memories[m.index()]),
        EntityIndex::Global(g) => ExternType::Global(canonical_global(info, type_ids, g)),
        EntityIndex::Tag(t) => ExternType::Tag(info.tag_type(t).canonicalize(type_ids)),
    }
}

/// Table `t`'s type with canonical type ids.
pub(crate) fn canonical_table(info: &ModuleInfo, type_ids: &[u32], t: TableIndex) -> TableType {
    let ty = info.tables[t.index()];
    TableType {
        element: ty.element.canonicalize(type_ids),
        ..ty
    }
}

/// Global `g`'s type with canonical type ids.
pub(crate) fn canonical_global(info: &ModuleInfo, type_ids: &[u32], g: GlobalIndex) -> GlobalType {
    let ty = info.globals[g.index()].ty;
    GlobalType {
        content: ty.content.canonicalize(type_ids),
        ..ty
    }
}

fn compile_and_load(engine: &Engine, wasm: &[u8]) -> Result<Module, WasmError> {
    let (info, linked, eh_frame) = compile_code(engine, wasm)?;
    load(
        engine,
        Arc::new(info),
        wasm.into(),
        (linked, None, eh_frame),
    )
}

/// Validates and compiles `wasm`: its description, and its code linked
/// at offsets from an unknown base.
pub(crate) fn compile_code(
    engine: &Engine,
    wasm: &[u8],
) -> Result<(ModuleInfo, LinkedCode, EhFrame), WasmError> {
    let translation = translate_module(wasm, engine.features().wasm_features())?;
    let info = translation.info.clone();
    let offsets = VMOffsets::new(&info);
    let mut compiled = engine.compiler().compile_functions(translation, &offsets)?;
    // Continuation entries follow the module's functions in its code, in
    // the order `continuation_entries` expects.
    for (_, entry) in engine.compiler().compile_continuation_entries(&info)? {
        compiled.push(entry);
    }
    let (linked, eh_frame) = engine.link(compiled, info.num_imported_funcs)?;
    Ok((info, linked, eh_frame))
}

/// A module from the contents of a precompiled file: its description is
/// parsed again from its own bytes (the sections only: the function bodies
/// were validated when it was compiled).
fn load_precompiled(engine: &Engine, contents: precompiled::Contents) -> Result<Module> {
    let wasm: Arc<[u8]> = contents.wasm.into();
    let translation = translate_module(&wasm, engine.features().wasm_features())
        .context("not a valid precompiled module: its WebAssembly")?;
    let info = Arc::new(translation.info);
    let code = (contents.linked, contents.mapped, contents.eh_frame);
    Ok(load(engine, info, wasm, code)?)
}

/// Loads a module's linked code (see `CodeObject::load`): the one way to a
/// [`Module`], for freshly compiled and precompiled code alike.
pub(crate) fn load(
    engine: &Engine,
    info: Arc<ModuleInfo>,
    wasm: Arc<[u8]>,
    (linked, mapped, eh_frame): (LinkedCode, Option<MappedCode>, EhFrame),
) -> Result<Module, WasmError> {
    let continuation_entries = continuation_entries(&info);
    let expected = info.num_defined_funcs() + continuation_entries.iter().flatten().count();
    if linked.tables.functions.len() != expected {
        return Err(WasmError::Bug(format!(
            "the code has {} functions, the module {expected}",
            linked.tables.functions.len()
        )));
    }
    // Trampolines are compiled when first needed (a call from the host,
    // a host function of the type), not for every type of the module.
    let type_ids: Box<[u32]> = engine.types().register_module(&info).into();
    let code = engine.load_code(
        linked,
        mapped,
        eh_frame,
        CodeKind::Module,
        Some(info.clone()),
    )?;
    Ok(Module {
        engine: engine.clone(),
        runtime: Arc::new(RuntimeModule {
            offsets: VMOffsets::new(&info),
            info,
            code,
            type_ids,
            types: engine.types_arc(),
            wasm,
            continuation_entries,
        }),
    })
}

/// Where each continuation type's entry is in a module's code: after the
/// defined functions, in type order.
fn continuation_entries(info: &ModuleInfo) -> Box<[Option<ContinuationEntry>]> {
    let mut next = info.num_defined_funcs() as u32;
    (0..info.types.len() as u32)
        .map(|t| {
            let ty = TypeIndex(t);
            (info.kind_of(t) == Some(CompositeKind::Cont)).then(|| {
                let func = info.cont_func_type(ty);
                let entry = ContinuationEntry {
                    code_index: next,
                    values: func.params.len().max(func.results.len()) as u32,
                };
                next += 1;
                entry
            })
        })
        .collect()
}
