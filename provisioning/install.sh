#!/usr/bin/env bash
# Installs onionmaild for real use, as root: installs the Debian packages that are missing,
# builds a release in build/ (or uses --build-dir), installs the programs, the systemd unit and
# the docs under PREFIX (cmake --install), creates the role users and the state directory, and
# writes CONFIG with the onion DOMAIN if CONFIG does not exist yet (an existing one is kept).
# With --keys it also prepares the key store and puts its [keys] lines into CONFIG (tpm2: the
# TPM at --tcti, default the kernel's resource manager; softhsm: a SoftHSM2 token in
# STATE/softhsm, a software stand-in for tests, not for secrets); with --init it then runs
# `onionmailctl init` (the keys are made inside the device); with --enable it starts the
# service through systemd. Idempotent. It prints what is left to do.
#   --domain NAME     this server's .onion name (required while CONFIG does not exist)
#   --prefix DIR      where the programs go (default /usr/local: DIR/bin, the unit in
#                     DIR/lib/systemd/system, the docs in DIR/share/doc/onionmaild)
#   --config FILE     the configuration (default /etc/onionmaild.toml)
#   --state DIR       the state directory (default /var/lib/onionmaild)
#   --build-dir DIR   install the programs built in DIR; build nothing
#   --keys KIND       tpm2 | softhsm (default: neither; the steps are printed)
#   --tcti T          with --keys tpm2 (default device:/dev/tpmrm0)
#   --init            run onionmailctl init once the keys are there
#   --enable          systemctl enable --now the installed unit (needs systemd running)
#
# Usage: provisioning/install.sh [--help] [--domain NAME] [--prefix DIR] [--config FILE]
#          [--state DIR] [--build-dir DIR] [--keys tpm2|softhsm] [--tcti T] [--init] [--enable]
set -euo pipefail
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }

domain='' prefix=/usr/local config=/etc/onionmaild.toml state=/var/lib/onionmaild build=''
keys='' tcti=device:/dev/tpmrm0 init=0 enable=0
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --init) init=1; shift ;;
    --enable) enable=1; shift ;;
    --domain | --prefix | --config | --state | --build-dir | --keys | --tcti)
      [[ $# -ge 2 && -n "$2" ]] || { echo "install.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --domain) domain=$2 ;; --prefix) prefix=$2 ;; --config) config=$2 ;;
        --state) state=$2 ;; --build-dir) build=$2 ;; --keys) keys=$2 ;; --tcti) tcti=$2 ;;
      esac
      shift 2 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root: it creates users and installs under $prefix"
[[ -z "$keys" || "$keys" == tpm2 || "$keys" == softhsm ]] || die "--keys is tpm2 or softhsm"
for path in "$prefix" "$config" "$state"; do
  [[ "$path" == /* ]] || die "$path: give absolute paths"
done
[[ -f "$config" || -n "$domain" ]] || die "--domain NAME.onion is needed to write $config"
top=$(cd "$(dirname "$0")/.." && pwd)

# 1. Packages and programs.
"$top/provisioning/install-deps.sh"
if [[ -z "$build" ]]; then
  build="$top/build"
  BUILD_DIR="$build" TEST_HOOKS=OFF CMAKE_EXTRA_ARGS='' "$top/provisioning/build.sh"
fi
[[ -x "$build/src/server/onionmaild" ]] || die "$build has no onionmaild: build first"
cmake --install "$build" --prefix "$prefix" >/dev/null
unit="$prefix/lib/systemd/system/onionmaild.service"
# The unit as shipped names /etc/onionmaild.toml and /var/lib/onionmaild.
sed -i -e "s|--config /etc/onionmaild.toml|--config $config|" \
  -e "s|/var/lib/onionmaild|$state|g" "$unit"
ctl="$prefix/bin/onionmailctl"
echo "install.sh: programs in $prefix/bin, unit $unit"

# 2. Users, state directory, configuration.
"$top/provisioning/create-users.sh"
install -d -o onionmail -g onionmail -m 0700 "$state"
if [[ ! -f "$config" ]]; then
  install -d -m 0755 "$(dirname "$config")"
  (umask 022 && cat >"$config" <<CONF
# onionmaild, written by provisioning/install.sh. Every setting: docs/configuration.md.
[server]
domain = "$domain"
state_dir = "$state"

[smtp]
listen = "127.0.0.1:2525"    # where Tor's onion service sends port 25 ("Behind Tor")

[pop3]
listen = "127.0.0.1:1110"    # and port 110
CONF
  )
  echo "install.sh: wrote $config"
else
  echo "install.sh: $config exists; left unchanged"
fi

# 3. The key store and the state.
case "$keys" in
  tpm2)
    "$top/provisioning/tpm2-provision.sh" --tcti "$tcti" --key-dir "$state/tpm2" \
      --owner onionmail --config "$config" >/dev/null ;;
  softhsm)
    "$top/provisioning/softhsm-init.sh" --dir "$state/softhsm" --label onionmaild \
      --owner onionmail --config "$config" --non-interactive >/dev/null ;;
esac
grep -q '^\[keys\]' "$config" && has_keys=1 || has_keys=0
if ((init == 1)); then
  ((has_keys == 1)) || die "$config has no [keys] section: give --keys, or add one first"
  if [[ -f "$state/tls/cert.pem" ]]; then
    echo "install.sh: $state is initialised already"
  else
    "$ctl" --config "$config" init
  fi
fi
if ((enable == 1)); then
  [[ -d /run/systemd/system ]] || die "systemd is not running here: start $prefix/bin/onionmaild --config $config yourself"
  systemctl enable --now "$unit"
fi

# 4. What is left.
echo
echo "onionmaild is installed."
step=1
if ((has_keys == 0)); then
  echo "  $step. the key store: $top/provisioning/tpm2-provision.sh --tcti $tcti --key-dir $state/tpm2 --owner onionmail --config $config"
  echo "     (or a PKCS#11 token: $top/provisioning/softhsm-init.sh shows the [keys] lines)"
  step=$((step + 1))
fi
if [[ ! -f "$state/tls/cert.pem" ]]; then
  echo "  $step. $ctl --config $config init"
  step=$((step + 1))
fi
if ((enable == 0)); then
  echo "  $step. systemctl enable --now $unit"
  step=$((step + 1))
fi
echo "  $step. users: $ctl --config $config user add NAME"
echo "  Tor: point the onion service's ports 25 and 110 at the [smtp] and [pop3] listen addresses;"
echo "  day-to-day checks, backups and restores: $prefix/share/doc/onionmaild/docs/operations.md"
