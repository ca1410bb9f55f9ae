//! WebAssembly features by name (as Wasmtime spells them for `-W`), which
//! of them fxtime implements, and which one an invalid module needs.

use crate::WasmError;
use wasmparser::{Validator, WasmFeatures};

/// A WebAssembly feature that can be switched on or off.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// Name, as in `-W NAME=y`.
    pub name: &'static str,
    /// The wasmparser flags it turns on (with its prerequisites).
    flags: WasmFeatures,
    /// Whether fxtime implements it.
    pub supported: bool,
    /// Whether it is on by default.
    pub default: bool,
}

impl Feature {
    /// Its flags without those of the features it builds on (the other
    /// features whose flags it includes).
    fn own_flags(&self) -> WasmFeatures {
        FEATURES
            .iter()
            .filter(|g| g.name != self.name && self.flags.contains(g.flags))
            .fold(self.flags, |own, g| own.difference(g.flags))
    }
}

const fn feature(name: &'static str, flags: WasmFeatures, supported: bool) -> Feature {
    Feature {
        name,
        flags,
        supported,
        default: supported,
    }
}

/// A feature fxtime implements but leaves off unless asked for.
const fn opt_in(name: &'static str, flags: WasmFeatures) -> Feature {
    Feature {
        name,
        flags,
        supported: true,
        default: false,
    }
}

/// Every feature known by name.
pub const FEATURES: &[Feature] = &[
    feature("mutable-global", WasmFeatures::MUTABLE_GLOBAL, true),
    feature(
        "saturating-float-to-int",
        WasmFeatures::SATURATING_FLOAT_TO_INT,
        true,
    ),
    feature("sign-extension", WasmFeatures::SIGN_EXTENSION, true),
    feature("multi-value", WasmFeatures::MULTI_VALUE, true),
    feature("bulk-memory", WasmFeatures::BULK_MEMORY, true),
    feature("reference-types", WasmFeatures::REFERENCE_TYPES, true),
    feature("multi-memory", WasmFeatures::MULTI_MEMORY, true),
    feature("extended-const", WasmFeatures::EXTENDED_CONST, true),
    feature("simd", WasmFeatures::SIMD, true),
    feature(
        "relaxed-simd",
        WasmFeatures::SIMD.union(WasmFeatures::RELAXED_SIMD),
        true,
    ),
    feature("tail-call", WasmFeatures::TAIL_CALL, true),
    feature(
        "function-references",
        WasmFeatures::FUNCTION_REFERENCES,
        true,
    ),
    feature(
        "gc",
        WasmFeatures::GC.union(WasmFeatures::FUNCTION_REFERENCES),
        true,
    ),
    feature("exceptions", WasmFeatures::EXCEPTIONS, true),
    feature("memory64", WasmFeatures::MEMORY64, true),
    feature("threads", WasmFeatures::THREADS, false),
    opt_in(
        "stack-switching",
        WasmFeatures::STACK_SWITCHING
            .union(WasmFeatures::FUNCTION_REFERENCES)
            .union(WasmFeatures::EXCEPTIONS),
    ),
    feature("custom-page-sizes", WasmFeatures::CUSTOM_PAGE_SIZES, false),
    feature("wide-arithmetic", WasmFeatures::WIDE_ARITHMETIC, false),
];

/// The features a configuration enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSet {
    enabled: WasmFeatures,
}

/// Features every module may use (the MVP's floats and GC-type machinery
/// that reference types build on).
const BASE: WasmFeatures = WasmFeatures::FLOATS.union(WasmFeatures::GC_TYPES);

impl Default for FeatureSet {
    fn default() -> Self {
        let enabled = FEATURES
            .iter()
            .filter(|f| f.default)
            .fold(BASE, |acc, f| acc.union(f.flags));
        FeatureSet { enabled }
    }
}

impl FeatureSet {
    /// Looks a feature up by name.
    pub fn lookup(name: &str) -> Option<&'static Feature> {
        FEATURES.iter().find(|f| f.name == name)
    }

    /// Turns the feature `name` on or off. Turning on a feature fxtime does
    /// not implement is an error ("unsupported feature: NAME").
    pub fn set(&mut self, name: &str, enable: bool) -> Result<(), WasmError> {
        let Some(feature) = Self::lookup(name) else {
            let known: Vec<_> = FEATURES.iter().map(|f| f.name).collect();
            return Err(WasmError::Unsupported(format!(
                "{name} is not a known WebAssembly feature (known: {})",
                known.join(", ")
            )));
        };
        if enable && !feature.supported {
            return Err(WasmError::Unsupported(name.to_string()));
        }
        if enable {
            self.enabled |= feature.flags;
        } else {
            // Only the feature's own flags: switching stack switching off
            // leaves on the exceptions it builds on.
            self.enabled.remove(feature.own_flags());
            self.enabled |= BASE;
        }
        Ok(())
    }

    /// Whether feature `name` is on.
    pub fn is_enabled(&self, name: &str) -> bool {
        Self::lookup(name).is_some_and(|f| self.enabled.contains(f.flags))
    }

    /// The names of the features that are on, in a fixed order.
    pub fn enabled_names(&self) -> Vec<&'static str> {
        FEATURES
            .iter()
            .filter(|f| self.is_enabled(f.name))
            .map(|f| f.name)
            .collect()
    }

    /// The wasmparser feature flags to validate with.
    pub fn wasm_features(&self) -> WasmFeatures {
        self.enabled
    }

    /// For a module that failed validation: the features that would make
    /// it valid, as an error that names them. `None` when the module is
    /// invalid whatever the features.
    pub fn explain_invalid(&self, wasm: &[u8]) -> Option<WasmError> {
        let valid_with = |features: WasmFeatures| {
            Validator::new_with_features(features)
                .validate_all(wasm)
                .is_ok()
        };
        let mut needed: Vec<&Feature> = FEATURES
            .iter()
            .filter(|f| !self.enabled.contains(f.flags))
            .collect();
        let flags = |set: &[&Feature]| set.iter().fold(self.enabled, |acc, f| acc | f.flags);
        if !valid_with(flags(&needed)) {
            return None;
        }
        // Drop every feature the module stays valid without; larger
        // features (listed later) go first so that their parts remain.
        for i in (0..needed.len()).rev() {
            let mut without = needed.clone();
            without.remove(i);
            if valid_with(flags(&without)) {
                needed = without;
            }
        }
        if needed.is_empty() {
            return None;
        }
        let names = |supported: bool| {
            needed
                .iter()
                .filter(|f| f.supported == supported)
                .map(|f| f.name)
                .collect::<Vec<_>>()
        };
        let (unsupported, disabled) = (names(false), names(true));
        Some(if unsupported.is_empty() {
            let list = disabled.join(", ");
            let flags: Vec<_> = disabled.iter().map(|n| format!("{n}=y")).collect();
            WasmError::Unsupported(format!(
                "{list} (disabled; enable with -W {})",
                flags.join(",")
            ))
        } else {
            WasmError::Unsupported(unsupported.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_supported_features_but_opt_ins() {
        let set = FeatureSet::default();
        for f in FEATURES {
            assert_eq!(set.is_enabled(f.name), f.default, "{}", f.name);
            assert!(f.supported || !f.default, "{}", f.name);
        }
        assert!(!set.is_enabled("stack-switching"));
        let mut set = set;
        set.set("stack-switching", true).unwrap();
        assert!(set.is_enabled("stack-switching") && set.is_enabled("exceptions"));
        // Off again: what it builds on stays on.
        set.set("stack-switching", false).unwrap();
        assert!(!set.is_enabled("stack-switching"));
        assert!(set.is_enabled("exceptions") && set.is_enabled("function-references"));
        set.set("gc", false).unwrap();
        assert!(!set.is_enabled("gc") && set.is_enabled("function-references"));
    }

    #[test]
    fn unsupported_features_cannot_be_enabled() {
        let mut set = FeatureSet::default();
        let err = set.set("threads", true).unwrap_err();
        assert_eq!(err.to_string(), "unsupported feature: threads");
        assert!(set.set("no-such-thing", true).is_err());
        set.set("multi-memory", false).unwrap();
        assert!(!set.is_enabled("multi-memory"));
    }

    #[test]
    fn explains_a_disabled_feature() {
        // (module (memory 1) (memory 1))
        let wasm = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 5, 2, 0, 1, 0, 1];
        let mut set = FeatureSet::default();
        assert!(set.explain_invalid(&wasm).is_none());
        set.set("multi-memory", false).unwrap();
        let err = set.explain_invalid(&wasm).unwrap();
        assert!(err.to_string().contains("multi-memory (disabled"), "{err}");
    }

    #[test]
    fn explains_a_simd_module_when_simd_is_off() {
        // (module (func (result v128) v128.const i64x2 0 0))
        let wasm = [
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // header
            1, 5, 1, 0x60, 0, 1, 0x7b, // type: [] -> [v128]
            3, 2, 1, 0, // func
            10, 22, 1, 20, 0, 0xfd, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
        ];
        let mut set = FeatureSet::default();
        assert!(set.explain_invalid(&wasm).is_none());
        set.set("simd", false).unwrap();
        let err = set.explain_invalid(&wasm).unwrap();
        assert!(err.to_string().contains("simd (disabled"), "{err}");
    }
}
