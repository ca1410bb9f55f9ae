#!/usr/bin/env bash
# Builds SQLite (its amalgamation, about 9 MB of C) and benches/sqlite/main.c
# for wasm32-wasi into target/sqlite/sqlite.wasm: a big real module for
# measuring start-up time. Needs Debian's clang, lld and wasi-libc
# (ci/install-test-tools.sh installs them) and cargo.
#
# SQLite's source is not in the repository: the crate libsqlite3-sys bundles
# the amalgamation (sqlite3/sqlite3.c and sqlite3.h), so a throwaway cargo
# project under target/sqlite/src-fetch depends on a pinned version of it and
# `cargo fetch` brings it into cargo's registry cache; `cargo metadata` then
# says where it is.
#
# Idempotent: nothing is rebuilt while sqlite.wasm is newer than main.c and
# this script (sqlite3.o, the slow part, is kept while it is newer than this
# script). Run from anywhere: benches/sqlite/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

# libsqlite3-sys 0.40.0 bundles SQLite 3.54.1.
SQLITE_SYS_VERSION=0.40.0

out=target/sqlite
wasm=$out/sqlite.wasm
main=benches/sqlite/main.c
script=benches/sqlite/build.sh

if [ -f "$wasm" ] && [ "$wasm" -nt "$main" ] && [ "$wasm" -nt "$script" ]; then
  echo "$wasm is up to date: $(stat -c %s "$wasm") bytes"
  exit 0
fi

command -v clang >/dev/null 2>&1 && [ -f /usr/lib/wasm32-wasi/libc.a ] || {
  echo "clang and wasi-libc are needed: run ci/install-test-tools.sh" >&2
  exit 1
}

# The amalgamation, from cargo's registry cache (fetched if missing).
fetch=$out/src-fetch
mkdir -p "$fetch/src"
cat >"$fetch/Cargo.toml" <<EOF
[package]
name = "sqlite-src-fetch"
version = "0.0.0"
edition = "2021"
publish = false

# Its own workspace, not a member of the repository's.
[workspace]

[dependencies]
libsqlite3-sys = { version = "=$SQLITE_SYS_VERSION", default-features = false }
EOF
: >"$fetch/src/lib.rs"
cargo fetch --quiet --manifest-path "$fetch/Cargo.toml"
manifest=$(cargo metadata --offline --format-version 1 --manifest-path "$fetch/Cargo.toml" |
  grep -o "\"manifest_path\":\"[^\"]*/libsqlite3-sys-$SQLITE_SYS_VERSION/Cargo.toml\"" |
  head -n 1 | cut -d'"' -f4)
src=$(dirname "$manifest")/sqlite3
[ -f "$src/sqlite3.c" ] && [ -f "$src/sqlite3.h" ] || {
  echo "no sqlite3.c in libsqlite3-sys $SQLITE_SYS_VERSION (looked in '$src')" >&2
  exit 1
}
version=$(sed -n 's/^#define SQLITE_VERSION  *"\(.*\)"$/\1/p' "$src/sqlite3.h")
echo "SQLite $version from libsqlite3-sys $SQLITE_SYS_VERSION"

# SQLite detects __wasi__ itself (no WAL shared memory, no extension
# loading, no threads); these flags make the rest explicit and trim what an
# in-memory database does not use. No wasi-libc emulation library is needed.
SQLITE_FLAGS=(
  -DSQLITE_THREADSAFE=0
  -DSQLITE_OMIT_LOAD_EXTENSION
  -DSQLITE_OMIT_WAL
  -DSQLITE_MAX_MMAP_SIZE=0
  -DSQLITE_OMIT_SHARED_CACHE
  -DSQLITE_OMIT_DEPRECATED
  -DSQLITE_DEFAULT_MEMSTATUS=0
  -DSQLITE_DQS=0
  -DSQLITE_TEMP_STORE=3 # temporary tables and indices in memory
  # wasm32's long double is a 128-bit software float: use plain double.
  -DLONGDOUBLE_TYPE=double
)

mkdir -p "$out"
obj=$out/sqlite3.o
if [ ! -f "$obj" ] || [ ! "$obj" -nt "$script" ] || [ ! "$obj" -nt "$src/sqlite3.c" ]; then
  echo "compiling sqlite3.c (about a minute)"
  clang --target=wasm32-wasi -O2 "${SQLITE_FLAGS[@]}" -c "$src/sqlite3.c" -o "$obj.tmp"
  mv "$obj.tmp" "$obj"
fi
clang --target=wasm32-wasi -O2 -Wall -Werror -I"$src" "$main" "$obj" -o "$wasm.tmp"
mv "$wasm.tmp" "$wasm"
echo "$wasm: $(stat -c %s "$wasm") bytes"
