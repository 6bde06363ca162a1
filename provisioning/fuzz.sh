#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into
# build-fuzz (or $BUILD_DIR) and runs each for FUZZ_SECONDS (default 30) on a
# temporary copy of its seed corpus (tests/fuzz/corpus/<target>; the repo is
# never written). Exits non-zero if any target crashes, printing the crash
# input. Usage: provisioning/fuzz.sh [--help] [target...]
#   env: FUZZ_SECONDS, BUILD_DIR, JOBS, KEEP_WORK=1 (keep the temp dir)
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-fuzz}
jobs=${JOBS:-$(nproc)}
seconds=${FUZZ_SECONDS:-30}
all_targets=(smtp_command smtp_session pop3_session config stored_blob ipc bot_request
  exit_header)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")

export CC=${CC:-clang} CXX=${CXX:-clang++}
t0=$SECONDS
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DONIONMAIL_FUZZ=ON -DONIONMAIL_SANITIZE=ON >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]/%/_fuzz}"
echo "fuzz.sh: build took $((SECONDS - t0))s"

work=$(mktemp -d "${TMPDIR:-/tmp}/onionmail-fuzz.XXXXXX")
if [[ "${KEEP_WORK:-0}" != 1 ]]; then
  # Crash inputs are reported by path, so keep the directory when one exists.
  trap '[[ -n "$(find "$work" -name "crash-*" -o -name "leak-*" -o -name "timeout-*" -o -name "oom-*" 2>/dev/null)" ]] || rm -rf "$work"' EXIT
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for target in "${targets[@]}"; do
  corpus="$work/$target/corpus"
  artifacts="$work/$target/artifacts/"
  mkdir -p "$corpus" "$artifacts"
  cp "$top/tests/fuzz/corpus/$target/"* "$corpus/"
  t1=$SECONDS
  set +e
  "$build/tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" >"$work/$target/log" 2>&1
  rc=$?
  set -e
  stats=$(grep -E '^stat::number_of_executed_units' "$work/$target/log" | awk '{print $2}')
  if [[ $rc -ne 0 ]]; then
    echo "fuzz.sh: $target FAILED (exit $rc) after $((SECONDS - t1))s"
    grep -E 'ERROR: |SUMMARY: |runtime error|Check failed|ONIONMAIL_CHECK' "$work/$target/log" | head -5 || true
    for crash in "$artifacts"*; do
      [[ -e "$crash" ]] && echo "fuzz.sh: crash input: $crash"
    done
    echo "fuzz.sh: full log: $work/$target/log"
    failed+=("$target")
  else
    echo "fuzz.sh: $target ok ($((SECONDS - t1))s, ${stats:-?} runs)"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (reproduce: $build/tests/fuzz/<target>_fuzz <crash input>)"
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s without a crash (total $((SECONDS - t0))s)"
