#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then runs
#   1. an AddressSanitizer + UBSan build of everything with all its tests,
#   2. every libFuzzer target for FUZZ_SECONDS (default 30) on its seed corpus,
#   3. the release build's whole CTest suite (unit, seccomp death tests,
#      SoftHSM2 and swtpm hardware tests, integration tests with real clients,
#      and the README's demo (tests/provisioning/test_demo.py)),
#   4. as root, two smoke runs of the benchmark against Postfix + Dovecot
#      (bench/run.sh --quick, then --quick --keys tpm2 (onionmaild's keys in a
#      swtpm), with the binaries of step 3: tiny counts, times
#      nothing, fails unless every phase did all its work; it installs
#      postfix and dovecot without starting their services). BENCH_SMOKE=0
#      skips it.
# As root it first creates the role users (create-users.sh): the tests then
# run onionmailctl and the server's roles as those users.
# This is what .ci/run calls. --quick runs step 3 only. Each step ends with a
# line "test.sh: <step> took N s" on stderr, so a slow CI run shows where its
# time went.
#
# Usage: provisioning/test.sh [--help] [--quick] [extra ctest args]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
quick=0
if [[ "${1:-}" == "--quick" ]]; then
  quick=1
  shift
fi
top=$(cd "$(dirname "$0")/.." && pwd)
step_start=$SECONDS
step_done() {  # step_done NAME: how long the step that ends here took
  echo "test.sh: $1 took $((SECONDS - step_start)) s" >&2
  step_start=$SECONDS
}
"$top/provisioning/install-deps.sh"
if [[ $(id -u) -eq 0 ]]; then
  # As root, onionmailctl and the server's roles drop to these users (the
  # integration harness also creates them if they are missing).
  "$top/provisioning/create-users.sh"
fi
# The tested build has the test-only hooks (tests/integration/
# test_least_privilege.py), so it lives apart from build/ (demo, deploy).
export BUILD_DIR=${BUILD_DIR:-$top/build-test}
step_done "installing what is missing"
TEST_HOOKS=ON "$top/provisioning/build.sh"
step_done "the release build"
if ((quick == 0)); then
  BUILD_DIR="$top/build-asan" CMAKE_EXTRA_ARGS="-DONIONMAIL_TEST_HOOKS=ON" \
    "$top/provisioning/sanitize.sh"
  step_done "step 1 (ASan + UBSan build and tests)"
  BUILD_DIR="$top/build-fuzz" FUZZ_SECONDS=${FUZZ_SECONDS:-30} "$top/provisioning/fuzz.sh"
  step_done "step 2 (fuzzers)"
fi
(cd "$BUILD_DIR" && ctest --output-on-failure --timeout 900 -j 2 "$@")
step_done "step 3 (the release build's tests)"
if ((quick == 0)) && [[ "${BENCH_SMOKE:-1}" != 0 ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    bench_out=$(mktemp -d /tmp/onionmail-bench-smoke.XXXXXX)
    # Both key backends: SoftHSM2 (the default) and a private swtpm (--keys tpm2).
    for keys in pkcs11 tpm2; do
      OM_BIN_DIR="$BUILD_DIR" "$top/bench/run.sh" --quick --keys "$keys" --out "$bench_out"
    done
    rm -rf "$bench_out"
    step_done "step 4 (benchmark smoke runs)"
  else
    echo "test.sh: the benchmark's smoke run needs root (Postfix and Dovecot); skipped" >&2
  fi
fi
