//! Engine-wide canonical function types, so that a type check is one
//! integer comparison across all modules of an engine.

use fxtime_environ::FuncType;
use std::collections::HashMap;
use std::sync::RwLock;

/// Assigns each distinct function type a canonical id.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    inner: RwLock<Types>,
}

#[derive(Debug, Default)]
struct Types {
    ids: HashMap<FuncType, u32>,
    types: Vec<FuncType>,
}

impl TypeRegistry {
    /// The canonical id of `ty`, registering it if new.
    pub fn register(&self, ty: &FuncType) -> u32 {
        if let Some(id) = self.read().ids.get(ty) {
            return *id;
        }
        let mut types = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = types.ids.get(ty) {
            return *id;
        }
        let id = types.types.len() as u32;
        types.types.push(ty.clone());
        types.ids.insert(ty.clone(), id);
        id
    }

    /// The type with canonical id `id`.
    pub fn get(&self, id: u32) -> Option<FuncType> {
        self.read().types.get(id as usize).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Types> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxtime_environ::WasmValType;

    #[test]
    fn equal_types_share_an_id() {
        let registry = TypeRegistry::default();
        let a = FuncType {
            params: vec![WasmValType::I32].into(),
            results: vec![].into(),
        };
        let b = FuncType::default();
        let id_a = registry.register(&a);
        assert_ne!(id_a, registry.register(&b));
        assert_eq!(id_a, registry.register(&a.clone()));
        assert_eq!(registry.get(id_a), Some(a));
    }
}
