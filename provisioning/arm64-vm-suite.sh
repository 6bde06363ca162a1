#!/usr/bin/env bash
# Runs integration tests (tests/integration: the whole server, its roles under
# their seccomp policies, real clients, a real SoftHSM2 token or a real swtpm)
# with an arm64 build under a real arm64 kernel: Debian 12's linux-image-arm64
# booted by qemu-system-aarch64 (software emulation, -cpu max: PAC and BTI on),
# from an initramfs that holds a Debian 12 arm64 system (debootstrap: Python,
# SoftHSM2, swtpm, swaks, curl, fetchmail, mutt and the libraries the binaries
# need), the binaries and the repository's tests/ and provisioning/. The guest
# has loopback only. Fails unless every test run named exits 0 in the guest.
#
# It also runs the unit-test binaries there, whole, one after the other: the
# threaded tests, death tests and the RLIMIT_AS test that qemu-user cannot run.
#
# Usage: provisioning/arm64-vm-suite.sh BUILD_DIR [RUN ...]
#   RUN is MODULE (key store in files) or BACKEND:MODULE (pkcs11 or tpm2),
#   e.g. test_mail_path pkcs11:test_hardware; unit:PATH, a unit-test binary
#   (unit:tests/crypto/argon2id_test); "integration" for every integration
#   run CTest makes (tests/integration/CMakeLists.txt), "unit" for every
#   unit-test binary (those gtest_discover_tests registered), "all" for both;
#   without RUNs, the default list below. BUILD_DIR needs onionmaild, its role
#   binaries, onionmailctl and tests/keys/om-test-v1-record, built with the
#   test hooks (never for deployment; provisioning/cross-arm64.sh --vm-suite
#   builds them, and the unit tests, so in build-arm64-test/). The guest sees
#   the source and build directories at their host paths too (tests compiled
#   with those paths find the scripts and the test PKCS#11 module there).
#   The arm64 system is made once, in BUILD_DIR/arm64-rootfs,
#   and again when its package list changes; that needs binfmt_misc for
#   qemu-aarch64 (qemu-user-static), which the script enables. Root only.
#   Env: VM_SECONDS (default 5400), VM_CPUS (2), VM_MEM_MIB (4096),
#   RUN_SECONDS (1200: a run that takes longer is stopped, and the guest
#   shows what still ran and the servers' logs).
set -euo pipefail
build=${1:?usage: arm64-vm-suite.sh BUILD_DIR [RUN ...]}
shift
build=$(cd "$build" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
runs=("$@")
if ((${#runs[@]} == 0)); then
  runs=(test_mail_path test_clients test_bad_input test_durability test_least_privilege test_federation
    pkcs11:test_mail_path pkcs11:test_hardware pkcs11:test_backup_restore
    pkcs11:test_unseal_ctl tpm2:test_mail_path tpm2:test_hardware)
fi
# unit: the binaries gtest_discover_tests registered (each has a
# NAME[1]_include.cmake beside it); integration: the runs CTest lists.
unit_runs() {
  find "$build/tests" -name '*\[1\]_include.cmake' | sed -E "s|^$build/||; s|\[1\]_include\.cmake$||" |
    sort | sed 's/^/unit:/'
}
integration_runs() {
  ctest --test-dir "$build" -N | awk '$3 ~ /^integration\./ {print $3}' |
    sed -E 's/^integration\.//; s/^(pkcs11|tpm2)\./\1:/'
}
asked=("${runs[@]}")
runs=()
for run in "${asked[@]}"; do
  case "$run" in
    unit | integration | all)
      mapfile -t more < <(if [[ "$run" != integration ]]; then unit_runs; fi
        if [[ "$run" != unit ]]; then integration_runs; fi)
      ((${#more[@]} > 0)) || { echo "arm64-suite: $build has no $run test runs" >&2; exit 1; }
      runs+=("${more[@]}") ;;
    *) runs+=("$run") ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "arm64-suite: run as root (debootstrap, chroot)" >&2; exit 1; }

bins=(src/server/onionmaild src/server/onionmail-key src/server/onionmail-smtp
  src/server/onionmail-pop3 src/server/onionmail-peer src/server/onionmail-relay
  src/ctl/onionmailctl
  tests/keys/om-test-v1-record)
for run in "${runs[@]}"; do
  [[ "$run" == unit:* ]] && bins+=("${run#unit:}")
done
for b in "${bins[@]}"; do
  [[ -x "$build/$b" ]] || { echo "arm64-suite: $build/$b not built" >&2; exit 1; }
done
aarch64-linux-gnu-readelf -h "$build/src/server/onionmaild" | grep -q AArch64 ||
  { echo "arm64-suite: $build holds no arm64 build" >&2; exit 1; }
grep -q '^ONIONMAIL_TEST_HOOKS:BOOL=ON$' "$build/CMakeCache.txt" ||
  { echo "arm64-suite: $build is not built with -DONIONMAIL_TEST_HOOKS=ON, which the" \
    "tests need (provisioning/cross-arm64.sh --vm-suite builds so)" >&2; exit 1; }

# binfmt_misc lets debootstrap's second stage and apt run arm64 programs.
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  [[ -e /proc/sys/fs/binfmt_misc/register ]] ||
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] ||
    { echo "arm64-suite: cannot enable binfmt_misc for qemu-aarch64" >&2; exit 1; }
fi

# The arm64 system: the packages that hold the libraries the binaries link
# (asked of dpkg, which has their arm64 -dev packages), the TCTIs tss2 loads
# at run time, and what the tests run.
# The system is made again when that list changes.
# Test tools as provisioning/install-deps.sh has them (swaks needs Net::SSLeay
# for STARTTLS; the tests read certificates with python3-cryptography), with
# the packages that provide what those two depend on by a virtual name, which
# debootstrap does not resolve.
pkgs=(python3 python3-cryptography python3-cffi-backend softhsm2 swtpm swtpm-tools tpm2-tools
  openssl procps iproute2 passwd util-linux tar swaks libnet-ssleay-perl perl-openssl-defaults
  curl ca-certificates fetchmail mutt libtss2-tcti-swtpm0 libtss2-tcti-device0
  libtss2-tcti-tabrmd0)
# The libraries of the server and of every unit-test binary built, whichever
# runs are asked (the same system for all), each asked of dpkg once.
mapfile -t unit_bins < <(unit_runs | sed 's/^unit://')
mapfile -t sonames < <(for f in "${bins[@]}" "${unit_bins[@]}"; do
  [[ -x "$build/$f" ]] || continue
  aarch64-linux-gnu-readelf -d "$build/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
done | sort -u)
for so in "${sonames[@]}"; do
  p=$(dpkg -S "/usr/lib/aarch64-linux-gnu/$so" 2>/dev/null | head -1 | cut -d: -f1) || true
  [[ -z "$p" || " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p")
done
rootfs="$build/arm64-rootfs"
stamp="$rootfs/.onionmail-packages"
wanted=$(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ')
if [[ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
  echo "arm64-suite: making the arm64 system in $rootfs (${pkgs[*]})"
  rm -rf "$rootfs"
  debootstrap --arch=arm64 --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" \
    bookworm "$rootfs" http://deb.debian.org/debian >"$build/arm64-debootstrap.log" 2>&1 ||
    { echo "arm64-suite: debootstrap failed (see $build/arm64-debootstrap.log)" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc "$rootfs"/usr/share/man
  echo "$wanted" >"$stamp"
fi

work=$(mktemp -d /tmp/onionmail-arm64-suite.XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=provisioning/arm64-vm-lib.sh
source "$top/provisioning/arm64-vm-lib.sh"
kernel=$(arm64_vm_kernel "$work")

# The overlay: the binaries where the harness finds them, the tests, the
# scripts, and /init. Linux unpacks the two archives one after the other.
over="$work/overlay"
mkdir -p "$over/onionmail/build"
for b in "${bins[@]}"; do
  install -D -m 0755 "$build/$b" "$over/onionmail/build/$b"
done
# Test-only modules the unit tests load (tests/hsm/pkcs11: om_flaky_p11).
(cd "$build" && find tests -name '*.so' -not -path '*/CMakeFiles/*') | while read -r so; do
  install -D -m 0755 "$build/$so" "$over/onionmail/build/$so"
done
echo "$top" >"$over/onionmail/host_top"
echo "$build" >"$over/onionmail/host_build"
cp -a "$top/tests" "$top/provisioning" "$over/onionmail/"
find "$over/onionmail/tests" -name __pycache__ -prune -exec rm -rf {} +
cat >"$over/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
mount -t tmpfs -o size=1536m tmp /tmp
chmod 1777 /tmp
ip link set lo up
hostname arm64-vm
# debootstrap writes no /etc/hosts; clients that name "localhost" (mutt's
# smtp_url, to match the certificate) need it to resolve.
printf '127.0.0.1\tlocalhost arm64-vm\n::1\tlocalhost ip6-localhost\n' >/etc/hosts
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp LANG=C.UTF-8
export ONIONMAILD=/onionmail/build/src/server/onionmaild
export ONIONMAILCTL=/onionmail/build/src/ctl/onionmailctl
export OM_TEST_V1_RECORD=/onionmail/build/tests/keys/om-test-v1-record
export PYTHONDONTWRITEBYTECODE=1
# The host's source and build paths, which the unit tests were compiled with.
host_top=$(cat /onionmail/host_top)
host_build=$(cat /onionmail/host_build)
[ -e "$host_top" ] || { mkdir -p "$(dirname "$host_top")" && ln -s /onionmail "$host_top"; }
[ -e "$host_build" ] || { mkdir -p "$(dirname "$host_build")" && ln -s /onionmail/build "$host_build"; }
RUN_SECONDS=$(cat /onionmail/run_seconds)
echo "arm64-suite: kernel $(uname -r), $(uname -m), $(nproc) CPUs, $(python3 --version)"
cd /onionmail/tests/integration
for run in $(cat /onionmail/runs); do
  case "$run" in
    *:*) keys=${run%%:*}; module=${run#*:} ;;
    *) keys="file"; module=$run ;;
  esac
  start=$(date +%s)
  # A run that hangs is stopped with SIGABRT, which makes Python print where
  # it waited; then what still runs and the servers' logs are shown.
  if [ "$keys" = unit ]; then
    (cd /tmp && timeout -s ABRT "$RUN_SECONDS" "/onionmail/build/$module" --gtest_brief=1 --gtest_color=no 2>&1)
  else
    ONIONMAIL_TEST_KEYS=$keys timeout -s ABRT "$RUN_SECONDS" \
      python3 -X faulthandler -m unittest -v "$module" 2>&1
  fi
  rc=$?
  if [ "$rc" -eq 124 ]; then
    echo "arm64-suite: $keys $module ran out of $RUN_SECONDS s; processes:"
    ps -eo pid,ppid,stat,pcpu,etime,wchan:20,args
    for f in /tmp/om-*/server.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
  fi
  echo "arm64-suite: $keys $module exit $rc ($(($(date +%s) - start)) s)"
done
echo "arm64-suite: done"
# Debian's minimal system has no poweroff without systemd; the kernel's
# SysRq "o" powers off (and panic=-1 ends the VM if init ever exits).
sync
echo o >/proc/sysrq-trigger
sleep 30
INIT
chmod +x "$over/init"
printf '%s\n' "${runs[@]}" >"$over/onionmail/runs"
echo "${RUN_SECONDS:-1200}" >"$over/onionmail/run_seconds"
(cd "$rootfs" && find . -path ./.onionmail-packages -prune -o -print |
  cpio -o -H newc --quiet) >"$work/initrd.cpio"
(cd "$over" && find . | cpio -o -H newc --quiet) >>"$work/initrd.cpio"

log="$build/arm64-vm-suite.log"
arm64_vm_boot "$kernel" "$work/initrd.cpio" "$log" "${VM_SECONDS:-5400}" "${VM_CPUS:-2}" \
  "${VM_MEM_MIB:-4096}" || true
failed=0
for run in "${runs[@]}"; do
  case "$run" in
    *:*) keys=${run%%:*}; module=${run#*:} ;;
    *) keys="file"; module=$run ;;
  esac
  if ! grep -q "^arm64-suite: $keys $module exit 0 " "$log"; then
    echo "arm64-suite: $keys $module did not pass under the arm64 kernel" >&2
    failed=1
  fi
done
((failed == 0)) || exit 1
echo "arm64-suite: every run passed under an arm64 kernel (${runs[*]}); log in $log"
