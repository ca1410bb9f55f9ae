#!/usr/bin/env bash
# Start-up time of a big module: SQLite (built by build.sh) filling 100 rows,
# which takes well under a millisecond, so a run is nearly all start-up.
# Measures fxtime uncached (-C cache=n), from a precompiled file (fxtime
# compile, then run --allow-precompiled) and from its cache, beside
# Wasmtime uncached (-C cache=n) and from its cache, taking turns. Prints
# the median and the best wall-clock time of N runs of each (after one
# warm-up run, which fills the caches).
#
#   benches/sqlite/startup.sh [N]      (FXTIME=..., WASMTIME=... to choose binaries)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
fxtime=${FXTIME:-target/release/fxtime}
wasmtime=${WASMTIME:-$(command -v wasmtime || true)}

bash benches/sqlite/build.sh >/dev/null
wasm=target/sqlite/sqlite.wasm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A cache of fxtime's own for this measurement.
export XDG_CACHE_HOME=$work/cache
"$fxtime" compile "$wasm" -o "$work/sqlite.cwasm"

configs=(
  "fxtime uncached|$fxtime run -C cache=n $wasm 100"
  "fxtime precompiled|$fxtime run --allow-precompiled $work/sqlite.cwasm 100"
  "fxtime cached|$fxtime run $wasm 100"
)
if [ -n "$wasmtime" ]; then
  # Wasmtime keeps its cache in its own directory, under the real home.
  configs+=(
    "wasmtime uncached|env -u XDG_CACHE_HOME $wasmtime run -C cache=n $wasm 100"
    "wasmtime cached|env -u XDG_CACHE_HOME $wasmtime run $wasm 100"
  )
fi

# Microseconds of one run of the command line $1.
once() {
  local start end
  start=$(date +%s%N)
  $1 >/dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000))
}

declare -A samples
for config in "${configs[@]}"; do
  once "${config#*|}" >/dev/null
done
for _ in $(seq "$runs"); do
  for config in "${configs[@]}"; do
    samples[${config%%|*}]+="$(once "${config#*|}") "
  done
done
for config in "${configs[@]}"; do
  label=${config%%|*}
  # shellcheck disable=SC2086
  printf '%s\n' ${samples[$label]} | sort -n | awk -v label="$label" '
    { t[NR] = $1 }
    END { printf "%-20s median %7.1f ms   best %7.1f ms   (%d runs)\n",
          label, t[int((NR + 1) / 2)] / 1000, t[1] / 1000, NR }'
done
