//! Engine-wide canonical types with iso-recursive equivalence.
//!
//! Types are registered a recursion group at a time. A group's key is its
//! definitions with every reference to a type outside the group replaced by
//! that type's canonical id, and every reference inside the group by its
//! position in the group. Two groups are equivalent exactly when their keys
//! are equal, so equal keys share ids: a type id compares equal across
//! modules exactly when the types are equivalent, and a signature check is
//! one integer comparison. Subtyping follows declared supertypes.

use fxtime_environ::{FuncType, ModuleInfo, SubType, TypeRef};
use std::collections::HashMap;
use std::sync::RwLock;

/// Assigns canonical ids to type definitions and answers subtype queries.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    inner: RwLock<Types>,
}

#[derive(Debug, Default)]
struct Types {
    /// Group keys to the id of the group's first type.
    groups: HashMap<Box<[SubType]>, u32>,
    /// By id: the definition with references as engine ids.
    types: Vec<SubType>,
    /// By id: the declared supertype.
    supertypes: Vec<Option<u32>>,
}

impl TypeRegistry {
    /// Canonical ids of every type of `module`, in module order.
    pub fn register_module(&self, module: &ModuleInfo) -> Vec<u32> {
        let mut ids: Vec<u32> = Vec::with_capacity(module.types.len());
        for group in &module.rec_groups {
            let start = group.start;
            let key: Box<[SubType]> = module.types[group.start as usize..group.end as usize]
                .iter()
                .map(|ty| {
                    ty.map_type_refs(&|r| match r {
                        TypeRef::Module(t) if t.0 < start => TypeRef::Engine(ids[t.index()]),
                        TypeRef::Module(t) => TypeRef::RecGroup(t.0 - start),
                        other => other,
                    })
                })
                .collect();
            let base = self.register_group(key);
            ids.extend(base..base + (group.end - group.start));
        }
        ids
    }

    /// The canonical id of the final function type `ty` (a singleton group;
    /// its references must be engine ids).
    pub fn register_func(&self, ty: &FuncType) -> u32 {
        self.register_group(Box::new([SubType::func(ty.clone())]))
    }

    /// The canonical id of the type definition `ty` alone in its group
    /// (its references must be engine ids).
    pub fn register_single(&self, ty: SubType) -> u32 {
        self.register_group(Box::new([ty]))
    }

    fn register_group(&self, key: Box<[SubType]>) -> u32 {
        if let Some(base) = self.read().groups.get(&key) {
            return *base;
        }
        let mut types = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(base) = types.groups.get(&key) {
            return *base;
        }
        let base = types.types.len() as u32;
        let resolve = |r: TypeRef| match r {
            TypeRef::RecGroup(i) => TypeRef::Engine(base + i),
            other => other,
        };
        for ty in key.iter() {
            let ty = ty.map_type_refs(&resolve);
            let supertype = match ty.supertype {
                Some(TypeRef::Engine(id)) => Some(id),
                _ => None,
            };
            types.types.push(ty);
            types.supertypes.push(supertype);
        }
        types.groups.insert(key, base);
        base
    }

    /// The function type with id `id` (`None` for other kinds and unknown
    /// ids).
    pub fn func_type(&self, id: u32) -> Option<FuncType> {
        self.read()
            .types
            .get(id as usize)
            .and_then(SubType::as_func)
            .cloned()
    }

    /// The type definition with id `id`, its references engine ids.
    pub fn sub_type(&self, id: u32) -> Option<fxtime_environ::SubType> {
        self.read().types.get(id as usize).cloned()
    }

    /// Whether type `sub` is `sup` or declares it as a (transitive)
    /// supertype.
    pub fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        if sub == sup {
            return true;
        }
        let types = self.read();
        let mut current = sub;
        while let Some(Some(parent)) = types.supertypes.get(current as usize) {
            if *parent == sup {
                return true;
            }
            current = *parent;
        }
        false
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Types> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxtime_environ::{CompositeType, HeapType, RefType, TypeIndex, WasmValType};

    fn func_ref(t: u32) -> WasmValType {
        WasmValType::Ref(RefType {
            nullable: true,
            heap: HeapType::ConcreteFunc(TypeRef::Module(TypeIndex(t))),
        })
    }

    fn module(types: Vec<SubType>, groups: Vec<std::ops::Range<u32>>) -> ModuleInfo {
        ModuleInfo {
            types,
            rec_groups: groups,
            ..Default::default()
        }
    }

    #[test]
    fn equal_types_share_an_id() {
        let registry = TypeRegistry::default();
        let a = FuncType::new([WasmValType::I32], []);
        let id_a = registry.register_func(&a);
        assert_ne!(id_a, registry.register_func(&FuncType::default()));
        assert_eq!(id_a, registry.register_func(&a.clone()));
        assert_eq!(registry.func_type(id_a), Some(a));
    }

    #[test]
    fn recursive_groups_are_equivalent_by_structure() {
        let registry = TypeRegistry::default();
        // (rec (type $f (func (param (ref null $g)))) (type $g (func (result (ref null $f)))))
        let group = |offset: u32| {
            vec![
                SubType::func(FuncType::new([func_ref(offset + 1)], [])),
                SubType::func(FuncType::new([], [func_ref(offset)])),
            ]
        };
        let whole = std::iter::once(0..2).collect();
        let one = registry.register_module(&module(group(0), whole));
        // The same group after an unrelated type.
        let mut types = vec![SubType::func(FuncType::default())];
        types.extend(group(1));
        let two = registry.register_module(&module(types, vec![0..1, 1..3]));
        assert_eq!(one, two[1..]);
        // The same types in separate groups are different types.
        let split = registry.register_module(&module(group(0), vec![0..1, 1..2]));
        assert_ne!(one[0], split[0]);
    }

    #[test]
    fn subtypes_follow_declared_supertypes() {
        let registry = TypeRegistry::default();
        let open = |supertype: Option<u32>| SubType {
            is_final: false,
            supertype: supertype.map(|t| TypeRef::Module(TypeIndex(t))),
            composite: CompositeType::Func(FuncType::default()),
        };
        let ids = registry.register_module(&module(
            vec![open(None), open(Some(0)), open(Some(1))],
            vec![0..1, 1..2, 2..3],
        ));
        assert!(registry.is_subtype(ids[2], ids[0]));
        assert!(registry.is_subtype(ids[1], ids[0]));
        assert!(!registry.is_subtype(ids[0], ids[1]));
    }
}
