//! Parses and validates a module binary into a [`ModuleTranslation`].
//!
//! Module-level validation happens here as sections stream by; function
//! bodies are only handed out with their validators, because the compiler
//! validates each body while translating it (in parallel, one pass).

use crate::gc::StructLayout;
use crate::heap::{CompositeKind, composite_kind, convert_sub_type};
use crate::{
    CompositeType, ConstExpr, DataSegment, DataSegmentKind, ElemSegment, ElemSegmentKind,
    EntityIndex, Export, FuncIndex, Global, GlobalIndex, GlobalType, Import, IndexType, Limits,
    MemoryIndex, MemoryType, ModuleInfo, TableIndex, TableType, TagIndex, TypeIndex, WasmError,
    WasmResult,
};
use wasmparser::{
    ExternalKind, FuncToValidate, FunctionBody, KnownCustom, Name, Parser, Payload, TypeRef,
    ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

/// A defined function's body with the validator that checks it.
pub struct FunctionBodyData<'a> {
    /// The body's bytes (locals and operators).
    pub body: FunctionBody<'a>,
    /// Validates the body as the compiler reads it.
    pub validator: FuncToValidate<ValidatorResources>,
}

/// The result of translating a module binary.
pub struct ModuleTranslation<'a> {
    /// Everything but the function bodies.
    pub info: ModuleInfo,
    /// One entry per defined function, in order.
    pub bodies: Vec<FunctionBodyData<'a>>,
}

/// Parses `wasm`, validating everything but function bodies with `features`.
pub fn translate_module(wasm: &[u8], features: WasmFeatures) -> WasmResult<ModuleTranslation<'_>> {
    let mut validator = Validator::new_with_features(features);
    let mut t = ModuleTranslation {
        info: ModuleInfo::default(),
        bodies: Vec::new(),
    };
    // The parser checks some encodings itself (compact imports), by its
    // own feature set: give it the engine's, not wasmparser's defaults.
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Func(validator, body) => {
                let range = body.range();
                t.info
                    .body_ranges
                    .push(range.start as usize..range.end as usize);
                t.bodies.push(FunctionBodyData { body, validator });
                continue;
            }
            ValidPayload::Parser(_) => {
                return Err(WasmError::Unsupported("component model".into()));
            }
            ValidPayload::Ok | ValidPayload::End(_) => {}
        }
        translate_payload(&mut t.info, wasm, payload)?;
    }
    // Functions the name section leaves unnamed are known by their export.
    for export in &t.info.exports {
        if let EntityIndex::Function(f) = export.index {
            t.info
                .func_names
                .entry(f)
                .or_insert_with(|| export.name.clone());
        }
    }
    Ok(t)
}

fn translate_payload(info: &mut ModuleInfo, wasm: &[u8], payload: Payload<'_>) -> WasmResult<()> {
    match payload {
        Payload::TypeSection(reader) => {
            for group in reader {
                let types: Vec<_> = group?.into_types().collect();
                let start = info.types.len() as u32;
                // References within a group may point forward: learn the
                // kinds of the whole group before converting any of it.
                let mut kinds: Vec<CompositeKind> =
                    (0..start).filter_map(|i| info.kind_of(i)).collect();
                for ty in &types {
                    kinds.push(composite_kind(&ty.composite_type)?);
                }
                let kind_of = |i: u32| kinds.get(i as usize).copied();
                for ty in &types {
                    let ty = convert_sub_type(ty, &kind_of)?;
                    info.struct_layouts.push(match &ty.composite {
                        CompositeType::Struct(fields) => Some(StructLayout::new(fields)),
                        _ => None,
                    });
                    info.types.push(ty);
                }
                info.rec_groups.push(start..info.types.len() as u32);
            }
        }
        Payload::ImportSection(reader) => {
            for import in reader.into_imports() {
                let import = import?;
                let index = match import.ty {
                    TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                        info.num_imported_funcs += 1;
                        info.functions.push(TypeIndex(ty));
                        EntityIndex::Function(FuncIndex(info.functions.len() as u32 - 1))
                    }
                    TypeRef::Table(ty) => {
                        info.num_imported_tables += 1;
                        info.tables.push(convert_table_type(info, &ty)?);
                        EntityIndex::Table(TableIndex(info.tables.len() as u32 - 1))
                    }
                    TypeRef::Memory(ty) => {
                        info.num_imported_memories += 1;
                        info.memories.push(convert_memory_type(&ty)?);
                        EntityIndex::Memory(MemoryIndex(info.memories.len() as u32 - 1))
                    }
                    TypeRef::Global(ty) => {
                        info.num_imported_globals += 1;
                        info.globals.push(Global {
                            ty: convert_global_type(info, &ty)?,
                            init: None,
                        });
                        EntityIndex::Global(GlobalIndex(info.globals.len() as u32 - 1))
                    }
                    TypeRef::Tag(tag) => {
                        info.num_imported_tags += 1;
                        info.tags.push(TypeIndex(tag.func_type_idx));
                        EntityIndex::Tag(TagIndex(info.tags.len() as u32 - 1))
                    }
                };
                info.imports.push(Import {
                    module: import.module.to_string(),
                    name: import.name.to_string(),
                    index,
                });
            }
        }
        Payload::FunctionSection(reader) => {
            for ty in reader {
                info.functions.push(TypeIndex(ty?));
            }
        }
        Payload::TableSection(reader) => {
            for table in reader {
                let table = table?;
                info.tables.push(convert_table_type(info, &table.ty)?);
                info.table_inits.push(match table.init {
                    wasmparser::TableInit::RefNull => None,
                    wasmparser::TableInit::Expr(e) => Some(ConstExpr::from_wasmparser(&e)?),
                });
            }
        }
        Payload::MemorySection(reader) => {
            for memory in reader {
                info.memories.push(convert_memory_type(&memory?)?);
            }
        }
        Payload::TagSection(reader) => {
            for tag in reader {
                info.tags.push(TypeIndex(tag?.func_type_idx));
            }
        }
        Payload::GlobalSection(reader) => {
            for global in reader {
                let global = global?;
                info.globals.push(Global {
                    ty: convert_global_type(info, &global.ty)?,
                    init: Some(ConstExpr::from_wasmparser(&global.init_expr)?),
                });
            }
        }
        Payload::ExportSection(reader) => {
            for export in reader {
                let export = export?;
                let i = export.index;
                let index = match export.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => {
                        EntityIndex::Function(FuncIndex(i))
                    }
                    ExternalKind::Table => EntityIndex::Table(TableIndex(i)),
                    ExternalKind::Memory => EntityIndex::Memory(MemoryIndex(i)),
                    ExternalKind::Global => EntityIndex::Global(GlobalIndex(i)),
                    ExternalKind::Tag => EntityIndex::Tag(TagIndex(i)),
                };
                info.exports.push(Export {
                    name: export.name.to_string(),
                    index,
                });
            }
        }
        Payload::StartSection { func, .. } => info.start = Some(FuncIndex(func)),
        Payload::ElementSection(reader) => {
            for element in reader {
                info.elements.push(translate_element(info, element?)?);
            }
        }
        Payload::DataSection(reader) => {
            for data in reader {
                let data = data?;
                let kind = match data.kind {
                    wasmparser::DataKind::Passive => DataSegmentKind::Passive,
                    wasmparser::DataKind::Active {
                        memory_index,
                        offset_expr,
                    } => DataSegmentKind::Active {
                        memory: MemoryIndex(memory_index),
                        offset: ConstExpr::from_wasmparser(&offset_expr)?,
                    },
                };
                let start = data.data.as_ptr() as usize - wasm.as_ptr() as usize;
                info.data.push(DataSegment {
                    kind,
                    bytes: start..start + data.data.len(),
                });
            }
        }
        Payload::CustomSection(section) => {
            if let KnownCustom::Name(names) = section.as_known() {
                // A malformed name section is ignored, as the spec requires.
                let _ = read_names(info, names);
            }
        }
        _ => {}
    }
    Ok(())
}

fn translate_element(
    info: &ModuleInfo,
    element: wasmparser::Element<'_>,
) -> WasmResult<ElemSegment> {
    let kind = match element.kind {
        wasmparser::ElementKind::Passive => ElemSegmentKind::Passive,
        wasmparser::ElementKind::Declared => ElemSegmentKind::Declared,
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => ElemSegmentKind::Active {
            table: TableIndex(table_index.unwrap_or(0)),
            offset: ConstExpr::from_wasmparser(&offset_expr)?,
        },
    };
    let (ty, items) = match element.items {
        wasmparser::ElementItems::Functions(funcs) => {
            let items = funcs
                .into_iter()
                .map(|f| {
                    Ok(ConstExpr {
                        ops: vec![crate::ConstOp::RefFunc(FuncIndex(f?))],
                    })
                })
                .collect::<WasmResult<Vec<_>>>()?;
            (crate::RefType::FUNCREF, items)
        }
        wasmparser::ElementItems::Expressions(ty, exprs) => {
            let items = exprs
                .into_iter()
                .map(|e| ConstExpr::from_wasmparser(&e?))
                .collect::<WasmResult<Vec<_>>>()?;
            (info.convert_ref_type(ty)?, items)
        }
    };
    Ok(ElemSegment { kind, ty, items })
}

fn read_names(
    info: &mut ModuleInfo,
    names: wasmparser::NameSectionReader<'_>,
) -> wasmparser::Result<()> {
    for name in names {
        match name? {
            Name::Module { name, .. } => info.name = Some(name.to_string()),
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    info.func_names
                        .insert(FuncIndex(naming.index), naming.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn convert_table_type(info: &ModuleInfo, ty: &wasmparser::TableType) -> WasmResult<TableType> {
    if ty.shared {
        return Err(WasmError::Unsupported("shared-everything-threads".into()));
    }
    Ok(TableType {
        element: info.convert_ref_type(ty.element_type)?,
        limits: Limits {
            min: ty.initial,
            max: ty.maximum,
        },
        index_type: index_type(ty.table64),
    })
}

fn index_type(is_64: bool) -> IndexType {
    if is_64 {
        IndexType::I64
    } else {
        IndexType::I32
    }
}

fn convert_memory_type(ty: &wasmparser::MemoryType) -> WasmResult<MemoryType> {
    if ty.shared {
        return Err(WasmError::Unsupported("threads".into()));
    }
    if ty.page_size_log2.is_some() {
        return Err(WasmError::Unsupported("custom-page-sizes".into()));
    }
    Ok(MemoryType {
        limits: Limits {
            min: ty.initial,
            max: ty.maximum,
        },
        index_type: index_type(ty.memory64),
    })
}

fn convert_global_type(info: &ModuleInfo, ty: &wasmparser::GlobalType) -> WasmResult<GlobalType> {
    if ty.shared {
        return Err(WasmError::Unsupported("shared-everything-threads".into()));
    }
    Ok(GlobalType {
        content: info.convert_val_type(ty.content_type)?,
        mutable: ty.mutable,
    })
}
