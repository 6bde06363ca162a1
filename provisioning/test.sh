#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (unit and integration) with CTest. This is what .ci/run calls.
#
# Usage: provisioning/test.sh [--help] [extra ctest args]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/provisioning/install-deps.sh"
"$top/provisioning/build.sh"
cd "${BUILD_DIR:-$top/build}"
ctest --output-on-failure --timeout 900 -j 2 "$@"
