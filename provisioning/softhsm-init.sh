#!/usr/bin/env bash
# Creates a SoftHSM2 token for onionmaild's PKCS#11 key backend (tests, demo,
# or a host without a hardware token). Idempotent: a token that already has
# the label is left alone.
#
# Usage: provisioning/softhsm-init.sh [--dir DIR] [--label L] [--so-pin-file F]
#          [--pin-file F] [--config FILE] [--owner USER] [--non-interactive] [--help]
#   --dir DIR          SoftHSM2 state directory (default /var/lib/onionmaild/softhsm);
#                      writes DIR/softhsm2.conf (tokendir DIR/tokens, log level ERROR)
#   --label L          token label (default onionmaild)
#   --so-pin-file F    security-officer PIN (default DIR/so.pin)
#   --pin-file F       user PIN, the one onionmaild reads (default DIR/user.pin)
#   --config FILE      also write the [keys] section into this onionmaild config
#                      (appended if the file has none; never overwritten)
#   --owner USER       chown -R DIR (and the PIN files) to USER and its group
#                      after creation: the user of onionmaild's key role
#                      (onionmail when it runs as root; see create-users.sh)
#   --non-interactive  never prompt (the default behaviour; accepted for scripts)
# A missing PIN file is created with random content, mode 0600.
#
# Caveat: softhsm2-util accepts PINs only on its command line, so for the
# fraction of a second it runs they are visible in /proc/PID/cmdline to users
# who can see this host's processes (hidepid=2 on /proc hides them). Run it
# on a trusted host; the PINs are never printed by this script.
set -euo pipefail
umask 077

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }

dir=/var/lib/onionmaild/softhsm
label=onionmaild
so_pin_file=
pin_file=
config_file=
owner=

while (($# > 0)); do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --label) label="${2:?--label needs a value}"; shift 2 ;;
    --so-pin-file) so_pin_file="${2:?--so-pin-file needs a value}"; shift 2 ;;
    --pin-file) pin_file="${2:?--pin-file needs a value}"; shift 2 ;;
    --config) config_file="${2:?--config needs a value}"; shift 2 ;;
    --owner) owner="${2:?--owner needs a value}"; shift 2 ;;
    --non-interactive) shift ;;
    *) echo "softhsm-init: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if ((${#label} == 0 || ${#label} > 32)); then
  echo "softhsm-init: the label must be 1 to 32 bytes long" >&2
  exit 2
fi
if [[ -n "$owner" ]] && ! getent passwd "$owner" >/dev/null; then
  echo "softhsm-init: --owner $owner: no such user (see provisioning/create-users.sh)" >&2
  exit 2
fi
so_pin_file="${so_pin_file:-$dir/so.pin}"
pin_file="${pin_file:-$dir/user.pin}"

if ! command -v softhsm2-util >/dev/null 2>&1; then
  echo "softhsm-init: softhsm2-util not found (apt-get install softhsm2)" >&2
  exit 1
fi
module=
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
  if [[ -f "$candidate" ]]; then module="$candidate"; break; fi
done
if [[ -z "$module" ]]; then
  echo "softhsm-init: libsofthsm2.so not found under /usr/lib" >&2
  exit 1
fi

mkdir -p "$dir/tokens"
dir="$(cd "$dir" && pwd)"
conf="$dir/softhsm2.conf"
if [[ ! -f "$conf" ]]; then
  cat >"$conf" <<EOF
# SoftHSM2 configuration written by onionmaild provisioning/softhsm-init.sh
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
library.reset_on_fork = true
EOF
fi
export SOFTHSM2_CONF="$conf"

# PIN files: random printable content, 0600, never printed.
make_pin_file() {
  local f="$1"
  if [[ -f "$f" ]]; then
    chmod 600 "$f"
    return
  fi
  mkdir -p "$(dirname "$f")"
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$f" && echo >>"$f")
}
make_pin_file "$so_pin_file"
make_pin_file "$pin_file"
read_pin() { head -n 1 "$1" | tr -d '\r\n'; }

# The label is in a fixed-width column of --show-slots: compare exactly.
if softhsm2-util --show-slots 2>/dev/null | grep -Eq "^[[:space:]]*Label:[[:space:]]+${label//./\\.}[[:space:]]*$"; then
  status="token \"$label\" already initialised: left unchanged"
else
  # The PINs reach softhsm2-util only through its argv (see the caveat above).
  softhsm2-util --init-token --free --label "$label" \
    --so-pin "$(read_pin "$so_pin_file")" --pin "$(read_pin "$pin_file")" >/dev/null
  status="token \"$label\" initialised"
fi

# The key role opens the token as its own user: hand it the token directory,
# the configuration and the user PIN file (the SO PIN is not needed to run).
if [[ -n "$owner" ]]; then
  group="$(id -gn "$owner")"
  chown -R "$owner:$group" "$dir"
  chown "$owner:$group" "$pin_file"
  status="$status; owned by $owner"
  if command -v runuser >/dev/null 2>&1 && ! runuser -u "$owner" -- test -r "$conf"; then
    echo "softhsm-init: WARNING: $owner cannot reach $dir: a parent directory is not searchable by it (e.g. under /root)" >&2
  fi
fi

cat <<EOF
softhsm-init: $status
  SOFTHSM2_CONF   $conf
  module          $module
  token label     $label
  user PIN file   $pin_file
  SO PIN file     $so_pin_file
onionmaild config: [keys] backend = "pkcs11", pkcs11_module = "$module",
  token_label = "$label", pin_file = "$pin_file"; run the key role with
  SOFTHSM2_CONF=$conf in its environment.
EOF
if [[ -n "$config_file" ]]; then
  "$(dirname "$0")/write-keys-config.sh" "$config_file" <<KEYS
[keys]
backend = "pkcs11"
pkcs11_module = "$module"
token_label = "$label"
pin_file = "$pin_file"
softhsm2_conf = "$conf"
KEYS
fi
