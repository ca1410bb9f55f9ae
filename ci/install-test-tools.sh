#!/usr/bin/env bash
# Installs what the tests need beyond Rust, from Debian's packages, when it
# is missing: gdb (the debugger test), and clang, lld, wasi-libc and the
# wasm32 compiler runtime (the WASI tests compile C programs for
# wasm32-wasi). Safe to run again: it installs nothing that is there.
set -euo pipefail

# Where the `clang` on PATH looks for its wasm32 runtime: another LLVM
# version's runtime beside it does not count, clang would not find it.
runtime() { clang --target=wasm32-wasi -print-libgcc-file-name; }

packages=()
command -v gdb >/dev/null 2>&1 || packages+=(gdb)
command -v wasm-ld >/dev/null 2>&1 || packages+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || packages+=(wasi-libc)
if ! command -v clang >/dev/null 2>&1; then
  # Debian's default clang, and the runtime that goes with it.
  packages+=(clang libclang-rt-dev-wasm32)
elif [ ! -f "$(runtime)" ]; then
  # clang N (Debian's default too) has its runtime in libclang-rt-N-dev-wasm32.
  packages+=("libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev-wasm32")
fi

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
echo "installing ${packages[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
[ -f "$(runtime)" ] || { echo "clang's wasm32 runtime is still missing: $(runtime)" >&2; exit 1; }
