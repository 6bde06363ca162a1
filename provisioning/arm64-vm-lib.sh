# shellcheck shell=bash
# Sourced (not run) by the arm64 VM scripts (arm64-vm-seccomp.sh,
# arm64-vm-suite.sh): fetching Debian 12's arm64 kernel and booting it once
# under qemu-system-aarch64 (software emulation, -cpu max: PAC and BTI on).
# Both functions print "arm64-vm: ..." and return non-zero on failure.

# arm64_vm_kernel WORK: downloads the linux-image-arm64 package that Debian 12
# currently points to, unpacks it under WORK/kernel and prints the vmlinuz path.
arm64_vm_kernel() {
  local work=$1 pkg
  pkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-/ {print $2; exit}')
  [[ -n "$pkg" ]] || { echo "arm64-vm: no arm64 kernel package found" >&2; return 1; }
  (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
    { echo "arm64-vm: apt-get download $pkg failed" >&2; return 1; }
  dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
  ls "$work"/kernel/boot/vmlinuz-*
}

# arm64_vm_boot KERNEL INITRD LOG SECONDS CPUS MEM_MIB: boots the kernel with
# the initramfs (its /init runs the work and powers off), no network device
# (the guest has loopback only), the serial console teed to LOG. Returns
# qemu's status (124 when SECONDS ran out).
arm64_vm_boot() {
  local kernel=$1 initrd=$2 log=$3 seconds=$4 cpus=$5 mem=$6
  timeout "$seconds" qemu-system-aarch64 -M virt -cpu max -m "$mem" -smp "$cpus" -nographic \
    -nic none -no-reboot -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyAMA0 rdinit=/init quiet panic=-1" |
    grep -av --line-buffered '^Running main' | tee "$log"
  return "${PIPESTATUS[0]}"
}
