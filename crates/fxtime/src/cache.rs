//! The compilation cache (`Config::cache`): precompiled modules on disk,
//! each in a file named by a SHA-256 of the module's bytes and of the
//! header its precompiled form carries (fxtime's build, features, code
//! settings, CPU features), so that a hit is code this engine would have
//! compiled itself.

use crate::{Engine, Module, precompiled};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What an engine's compilation cache has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Modules loaded from the cache.
    pub hits: u64,
    /// Modules compiled because the cache had none for them.
    pub misses: u64,
    /// Modules written to the cache.
    pub stores: u64,
    /// Entries that failed to load (and were replaced) or to be written.
    pub errors: u64,
}

/// A cache directory and what was done with it.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    hits: AtomicU64,
    misses: AtomicU64,
    stores: AtomicU64,
    errors: AtomicU64,
}

/// `$XDG_CACHE_HOME/fxtime`, or `$HOME/.cache/fxtime`.
pub(crate) fn default_directory() -> Option<PathBuf> {
    let absolute = |var| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("fxtime"))
}

impl Cache {
    pub(crate) fn new(dir: PathBuf) -> Cache {
        Cache {
            dir,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            stores: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            stores: get(&self.stores),
            errors: get(&self.errors),
        }
    }

    /// The module of `wasm` from the cache, or else from `compile` (and
    /// then stored). Failing to read or write the cache is never an error:
    /// it only costs a compilation.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        compile: impl FnOnce(&[u8]) -> Result<Module>,
    ) -> Result<Module> {
        let path = self.dir.join(format!("{}.cwasm", key(engine, wasm)));
        if path.exists() {
            // SAFETY: entries are precompiled modules written by this
            // build (the key covers it), whole, by `store`, and never
            // changed in place (a new entry is a new file renamed over
            // the old one); a damaged one fails its checksum and is
            // refused.
            match unsafe { Module::deserialize_file(engine, &path) } {
                Ok(module) if *module.runtime.wasm == *wasm => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(module);
                }
                _ => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let module = compile(wasm)?;
        match store(&self.dir, &path, &module) {
            Ok(()) => self.stores.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.errors.fetch_add(1, Ordering::Relaxed),
        };
        trim(&self.dir, MAX_BYTES);
        Ok(module)
    }
}

/// How many bytes of entries a cache directory keeps: past this, a store
/// removes the entries written longest ago, down to three quarters of it.
const MAX_BYTES: u64 = 1 << 30;

/// Keeps the entries of `dir` within `max` bytes, removing the oldest
/// (by when they were written) first. Entries of other builds of fxtime,
/// which no engine of this build reads, go this way too.
fn trim(dir: &Path, max: u64) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = listing
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let path = entry.path();
            if path.extension()? != "cwasm" {
                return None;
            }
            let meta = entry.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), path))
        })
        .collect();
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    if total <= max {
        return;
    }
    entries.sort();
    for (_, len, path) in entries {
        if total <= max / 4 * 3 {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// The cache key of `wasm` for `engine`, in hex.
fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hash = Sha256::new();
    let header = precompiled::header(engine);
    hash.update((header.len() as u64).to_le_bytes());
    hash.update(header);
    hash.update(wasm);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `module` to `path` whole: into a file of this process's own,
/// then renamed over `path`, so that a reader sees a whole entry or none,
/// whoever else writes the same one at the same time.
fn store(dir: &Path, path: &Path, module: &Module) -> Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bytes = module.serialize()?;
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&temporary, &bytes)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_removes_the_oldest_entries_first() {
        let dir = std::env::temp_dir().join(format!("fxtime-trim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..8 {
            std::fs::write(dir.join(format!("{i}.cwasm")), [0u8; 100]).unwrap();
            // Distinct write times, in order.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::fs::write(dir.join("other.txt"), [0u8; 1000]).unwrap();
        trim(&dir, 1000);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            9,
            "within the limit"
        );
        trim(&dir, 400);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["5.cwasm", "6.cwasm", "7.cwasm", "other.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
