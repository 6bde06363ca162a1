#!/usr/bin/env bash
# Cross-builds onionmaild for arm64 (aarch64) on a Debian 12 x86-64 machine,
# with the same -Werror and hardening flags (plus -mbranch-protection=standard),
# and with --test runs the single-threaded unit tests under qemu-user.
#
# Usage: provisioning/cross-arm64.sh [--help] [--test | --vm | --vm-suite [RUN ...]]
#        (env: BUILD_DIR, JOBS)
# --vm boots Debian 12's arm64 kernel under qemu-system-aarch64 (software
# emulation, an initramfs of busybox and the arm64 libraries) and runs every
# seccomp test there: the policies under a real arm64 kernel.
# --vm-suite boots it with a Debian 12 arm64 system and runs integration
# tests there: the whole server with SoftHSM2, swtpm and real clients, and
# the unit-test binaries (provisioning/arm64-vm-suite.sh; RUNs as it takes
# them), from a build with the test-only hooks in build-arm64-test/.
# As root it first installs what is missing: the arm64 architecture in dpkg,
# crossbuild-essential-arm64, the libraries' arm64 -dev packages and
# qemu-user-static. The binaries land in build-arm64/ (or $BUILD_DIR).
# qemu-user cannot prove everything: it refuses seccomp filters, and Debian
# 12's qemu 7.2 spins in tests that share work between threads, so --test
# leaves out death tests, concurrent tests, libargon2's lanes (threads) and
# the RLIMIT_AS test, which limits qemu itself (docs/portability.md).
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
mode=${1:-build}
case "$mode" in
  build | --test | --vm | --vm-suite) ;;
  *) echo "cross-arm64: unknown option $mode (try --help)" >&2; exit 2 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-arm64}
hooks=OFF
targets=()  # all
if [[ "$mode" == "--vm-suite" ]]; then
  # The integration tests need the test-only hooks: a build of its own, not for
  # deployment, of the server and every test.
  build=${BUILD_DIR:-$top/build-arm64-test}
  hooks=ON
fi
jobs=${JOBS:-$(nproc)}

packages=(crossbuild-essential-arm64 qemu-user-static)
if [[ "$mode" == "--vm" ]]; then
  packages+=(qemu-system-arm cpio)
elif [[ "$mode" == "--vm-suite" ]]; then
  packages+=(qemu-system-arm cpio debootstrap binfmt-support)
fi
for lib in libssl-dev libargon2-dev libsodium-dev libtomlplusplus-dev libgtest-dev libgmock-dev \
  libseccomp-dev libp11-kit-dev libtss2-dev; do
  packages+=("$lib:arm64")
done
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "cross-arm64: missing packages: ${missing[*]} (run as root)" >&2
    exit 1
  fi
  echo "cross-arm64: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DONIONMAIL_TEST_HOOKS="$hooks" \
  -DCMAKE_TOOLCHAIN_FILE="$top/cmake/aarch64-linux-gnu.cmake" >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]}"
aarch64-linux-gnu-readelf -h "$build/src/server/onionmaild" | grep -q "AArch64" ||
  { echo "cross-arm64: onionmaild is not an arm64 binary" >&2; exit 1; }
echo "cross-arm64: built for arm64 in $build"
if [[ "$mode" == "--vm" ]]; then
  exec "$top/provisioning/arm64-vm-seccomp.sh" "$build"
elif [[ "$mode" == "--vm-suite" ]]; then
  shift
  exec "$top/provisioning/arm64-vm-suite.sh" "$build" "$@"
fi
[[ "$mode" == "--test" ]] || exit 0

# Unit tests of the parsers, codecs, record formats and single-threaded crypto:
# where byte order, char signedness and type sizes would show.
tests=(
  crypto/aead_test crypto/ec_p256_test crypto/hex_test crypto/inbox_key_test crypto/kdf_test
  crypto/private_key_info_test crypto/segment_stream_test keys/device_factor_test
  keys/user_record_test ipc/ipc_codec_test ipc/ipc_torm_messages_test smtp/smtp_address_test
  smtp/smtp_auth_test smtp/smtp_command_test smtp/smtp_data_reader_test smtp/smtp_reply_test
  smtp/smtp_session_test pop3/pop3_command_test pop3/pop3_message_stream_test
  pop3/pop3_sasl_plain_test pop3/pop3_session_test mail/local_part_test config/config_test
  store/message_file_test crypto/argon2id_test crypto/hpke_test crypto/algorithms_test
)
failed=0
for t in "${tests[@]}"; do
  log="$build/qemu-${t//\//-}.log"
  if timeout 300 qemu-aarch64-static -L /usr/aarch64-linux-gnu "$build/tests/$t" --gtest_brief=1 \
    --gtest_filter='-*Death*:*Concurrent*:*SeveralLanes*:*OutOfMemory*' >"$log" 2>&1; then
    echo "cross-arm64: $t passed under qemu-aarch64"
  else
    echo "cross-arm64: $t FAILED under qemu-aarch64 (see $log)" >&2
    failed=1
  fi
done
exit "$failed"
