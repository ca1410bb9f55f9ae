//! [`Module`]: a compiled WebAssembly module.

use crate::Engine;
use anyhow::{Result, anyhow};
use fxtime_environ::{
    EntityIndex, FuncType, GlobalIndex, GlobalType, MemoryType, ModuleInfo, TableIndex, TableType,
    VMOffsets, WasmError, translate_module,
};
use fxtime_runtime::code::{CodeKind, CodeObject};
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

    /// Compiles a module from its binary format.
    ///
    /// A module that fails validation but would pass with features fxtime
    /// lacks (or that are switched off) is an error that names them
    /// ("unsupported feature: ..."), with the validation error as its
    /// cause (a [`WasmError::Invalid`] in the error's chain).
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        compile(engine, wasm).map_err(|e| match e {
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

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Module, WasmError> {
    let translation = translate_module(wasm, engine.features().wasm_features())?;
    let info = Arc::new(translation.info.clone());
    let offsets = VMOffsets::new(&info);
    let mut compiled = engine.compiler().compile_functions(translation, &offsets)?;
    // Continuation entries follow the module's functions in its code.
    let mut continuation_entries = vec![None; info.types.len()].into_boxed_slice();
    for (ty, entry) in engine.compiler().compile_continuation_entries(&info)? {
        let func = info.cont_func_type(ty);
        continuation_entries[ty.index()] = Some(ContinuationEntry {
            code_index: compiled.len() as u32,
            values: func.params.len().max(func.results.len()) as u32,
        });
        compiled.push(entry);
    }
    let (functions, unwind): (Vec<_>, Vec<_>) =
        compiled.into_iter().map(|c| (c.function, c.unwind)).unzip();
    let type_ids: Box<[u32]> = engine.types().register_module(&info).into();
    let bug = |e: anyhow::Error| WasmError::Bug(format!("{e:#}"));
    engine.ensure_trampolines(&type_ids).map_err(bug)?;
    let code = CodeObject::new(&functions, CodeKind::Module, Some(info.clone()))
        .map_err(|e| WasmError::Limit(format!("code memory: {e}")))?;
    engine.code_loaded(&code, &unwind)?;
    Ok(Module {
        engine: engine.clone(),
        runtime: Arc::new(RuntimeModule {
            info,
            offsets,
            code,
            type_ids,
            types: engine.types_arc(),
            wasm: wasm.into(),
            continuation_entries,
        }),
    })
}
