//! C benchmark programs (`benches/simd/*.c`) are compiled by fxbench
//! itself, so that what is measured is always built from the sources in
//! the tree: freestanding wasm32 modules exporting `_start`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles `source` into `out_dir` with clang; returns the module.
pub fn compile_c(source: &Path, out_dir: &Path) -> Result<PathBuf> {
    let stem = source.file_stem().context("a C file without a name")?;
    let wasm = out_dir.join(stem).with_extension("wasm");
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let status = Command::new("clang")
        .args(["--target=wasm32", "-O3", "-msimd128", "-nostdlib"])
        .args(["-Wl,--no-entry", "-Wl,--export=_start", "-o"])
        .arg(&wasm)
        .arg(source)
        .status()
        .context("running clang (ci/install-test-tools.sh installs it)")?;
    if !status.success() {
        bail!("clang failed on {}", source.display());
    }
    Ok(wasm)
}
