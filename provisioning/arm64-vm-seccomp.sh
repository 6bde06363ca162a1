#!/usr/bin/env bash
# Runs the seccomp tests (tests/seccomp, death tests included) of an arm64
# build under a real arm64 kernel: Debian 12's linux-image-arm64 booted by
# qemu-system-aarch64 (software emulation, -cpu max: PAC and BTI on), with an
# initramfs of busybox-static, the arm64 libraries and the test binary.
# Fails unless the test binary exits 0 in the guest.
#
# Usage: provisioning/arm64-vm-seccomp.sh BUILD_DIR   (provisioning/cross-arm64.sh --vm calls it)
set -euo pipefail
build=${1:?usage: arm64-vm-seccomp.sh BUILD_DIR}
test_bin="$build/tests/seccomp/seccomp_test"
[[ -x "$test_bin" ]] || { echo "arm64-vm: $test_bin not built" >&2; exit 1; }
work=$(mktemp -d /tmp/onionmail-arm64-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT

# shellcheck source=provisioning/arm64-vm-lib.sh
source "$(dirname "$0")/arm64-vm-lib.sh"
kernel=$(arm64_vm_kernel "$work")
(cd "$work" && apt-get download -q busybox-static:arm64 >/dev/null 2>&1) ||
  { echo "arm64-vm: apt-get download busybox-static:arm64 failed" >&2; exit 1; }
dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"

root="$work/root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp,etc,lib,usr/lib}
cp "$work/busybox/bin/busybox" "$root/bin/"
for applet in sh mount poweroff cat ip true; do ln -s busybox "$root/bin/$applet"; done
cp -a /usr/aarch64-linux-gnu/lib "$root/lib/aarch64-linux-gnu"
cp -a /usr/lib/aarch64-linux-gnu "$root/usr/lib/aarch64-linux-gnu"
ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$root/lib/ld-linux-aarch64.so.1"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cp "$test_bin" "$root/bin/seccomp_test"
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
ip link set lo up
export LD_LIBRARY_PATH=/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu TMPDIR=/tmp HOME=/tmp
echo "arm64-vm: kernel $(cat /proc/sys/kernel/osrelease), $(uname -m)"
cd /tmp
/bin/seccomp_test --gtest_brief=1 2>&1
echo "arm64-vm: seccomp_test exit $?"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet >"$work/initrd.cpio")

arm64_vm_boot "$kernel" "$work/initrd.cpio" "$build/arm64-vm-seccomp.log" 1200 1 2048 || true
grep -q "^arm64-vm: seccomp_test exit 0" "$build/arm64-vm-seccomp.log" ||
  { echo "arm64-vm: the seccomp tests failed under the arm64 kernel" >&2; exit 1; }
echo "arm64-vm: every seccomp test passed under an arm64 kernel"
