//! Gives the build an identity for precompiled modules: a hash of the
//! sources of every crate that decides what compiled code looks like or
//! how the runtime reads it, and of the lock file (which pins Cranelift).
//! Two builds of the same version but different code refuse each other's
//! precompiled modules and never share cache entries.

use sha2::{Digest, Sha256};
use std::path::Path;

const SOURCES: [&str; 6] = [
    "../environ/src",
    "../cranelift/src",
    "../wasmfx/src",
    "../fibre/src",
    "../runtime/src",
    "src",
];

fn main() {
    let mut hash = Sha256::new();
    for dir in SOURCES {
        println!("cargo::rerun-if-changed={dir}");
        hash_dir(Path::new(dir), &mut hash);
    }
    // The workspace's lock file, when built inside it.
    let lock = Path::new("../../Cargo.lock");
    if let Ok(bytes) = std::fs::read(lock) {
        println!("cargo::rerun-if-changed=../../Cargo.lock");
        hash.update(bytes);
    }
    let digest = hash.finalize();
    let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo::rustc-env=FXTIME_BUILD_ID={id}");
}

/// Hashes every file under `dir`, in name order, with its path.
fn hash_dir(dir: &Path, hash: &mut Sha256) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            hash_dir(&path, hash);
        } else if let Ok(bytes) = std::fs::read(&path) {
            hash.update(path.to_string_lossy().as_bytes());
            hash.update(bytes.len().to_le_bytes());
            hash.update(bytes);
        }
    }
}
