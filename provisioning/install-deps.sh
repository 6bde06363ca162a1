#!/usr/bin/env bash
# Installs the Debian 12 packages onionmaild needs to build, test and run,
# and only those that are missing. Idempotent; safe to run again.
#
# Usage: provisioning/install-deps.sh [--help]
set -euo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries
  libssl-dev libargon2-dev libsodium-dev libtomlplusplus-dev libgtest-dev libgmock-dev
  libseccomp-dev libp11-kit-dev libtss2-dev
  # hardware stand-ins for tests and the demo: SoftHSM2 (PKCS#11) and swtpm (TPM 2.0)
  softhsm2 swtpm swtpm-tools tpm2-tools
  # sanitizers and fuzzing
  clang libclang-rt-14-dev
  # tests: real clients and tools
  # (swaks needs Net::SSLeay for STARTTLS, only a Recommends of swaks; the TLS-key and unseal
  # integration tests read certificates with python3-cryptography)
  python3 python3-cryptography swaks libnet-ssleay-perl curl openssl procps fetchmail mutt
  # tests/integration/test_tor.py runs a private Tor network on loopback (tests/integration/torlab.py)
  tor
  # house style, checked by tests/style: clang-format (14 in Debian 12) and shellcheck
  clang-format shellcheck
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# No package here is installed to run as a system service: the tests start their own tor (and
# swtpm) on loopback. Without this, tor's postinst would start a system tor that dials the
# public network. A policy-rc.d already in place is the machine's own and is kept.
guard=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  guard=1
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
if ((guard)); then
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
echo "install-deps: done"
