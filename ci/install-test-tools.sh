#!/usr/bin/env bash
# Installs what the tests need beyond Rust, from Debian's packages, when it
# is missing: gdb (the debugger test), and clang, lld, wasi-libc and the
# wasm32 compiler runtime (the WASI tests compile C programs for
# wasm32-wasi). Safe to run again: it installs nothing that is there.
set -euo pipefail

packages=()
command -v gdb >/dev/null 2>&1 || packages+=(gdb)
command -v clang >/dev/null 2>&1 || packages+=(clang)
command -v wasm-ld >/dev/null 2>&1 || packages+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || packages+=(wasi-libc)
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null ||
  packages+=(libclang-rt-dev-wasm32)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
echo "installing ${packages[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
