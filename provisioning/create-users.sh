#!/usr/bin/env bash
# Creates the system users onionmaild's roles drop to when it starts as root
# (one user and one group of the same name each; [sandbox] in the config):
#   onionmail       the key role: state directory, key store (TPM / token)
#   onionmail-smtp  the SMTP front end (opens no file)
#   onionmail-pop3  the POP3 front end (opens no file)
#   onionmail-peer  the peer role: connects out to the unseal peers (no file)
#   onionmail-relay the relay role: carries users' mail to other onion servers
#                   through Tor, when [relay] is enabled (no file)
# Each is a --system user with home /nonexistent (not created) and shell
# /usr/sbin/nologin. If the group `tss` exists (tpm2-tools / tpm-udev), the key
# user is added to it for /dev/tpmrm0. Idempotent: existing users and groups
# are left as they are. Uses useradd and usermod (Debian's passwd
# package) only. Root only.
#
# Usage: provisioning/create-users.sh [--key-user U] [--smtp-user U]
#          [--pop3-user U] [--peer-user U] [--relay-user U] [--help]
#   --key-user U   name of the key role's user   (default onionmail)
#   --smtp-user U  name of the SMTP front end's  (default onionmail-smtp)
#   --pop3-user U  name of the POP3 front end's  (default onionmail-pop3)
#   --peer-user U  name of the peer role's       (default onionmail-peer)
#   --relay-user U name of the relay role's      (default onionmail-relay)
# Other names must also be set in the config's [sandbox] section.
set -euo pipefail

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

key_user=onionmail
smtp_user=onionmail-smtp
pop3_user=onionmail-pop3
peer_user=onionmail-peer
relay_user=onionmail-relay
while (($# > 0)); do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --key-user) key_user="${2:?--key-user needs a value}"; shift 2 ;;
    --smtp-user) smtp_user="${2:?--smtp-user needs a value}"; shift 2 ;;
    --pop3-user) pop3_user="${2:?--pop3-user needs a value}"; shift 2 ;;
    --peer-user) peer_user="${2:?--peer-user needs a value}"; shift 2 ;;
    --relay-user) relay_user="${2:?--relay-user needs a value}"; shift 2 ;;
    *) echo "create-users: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The same rule as the config parser ([sandbox] *_user).
users=("$key_user" "$smtp_user" "$pop3_user" "$peer_user" "$relay_user")
for u in "${users[@]}"; do
  if ! [[ "$u" =~ ^[a-z_][a-z0-9_-]*$ ]] || ((${#u} > 32)); then
    echo "create-users: bad user name '$u' ([a-z_][a-z0-9_-]*, at most 32 characters)" >&2
    exit 2
  fi
done
if [[ $(printf '%s\n' "${users[@]}" | sort -u | wc -l) -ne ${#users[@]} ]]; then
  echo "create-users: the five users must be distinct (one per role)" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "create-users: run as root (or: sudo $0)" >&2
  exit 1
fi
PATH="$PATH:/usr/sbin:/sbin"
for tool in useradd usermod; do
  command -v "$tool" >/dev/null 2>&1 || { echo "create-users: $tool not found (package passwd)" >&2; exit 1; }
done
nologin=/usr/sbin/nologin
[[ -x "$nologin" ]] || nologin=/sbin/nologin

ensure_user() {
  local name="$1"
  if getent passwd "$name" >/dev/null; then
    echo "create-users: user $name exists ($(id "$name"))"
    return
  fi
  local group=(--user-group)
  # A group of that name left behind (e.g. by userdel): reuse it.
  if getent group "$name" >/dev/null; then group=(--gid "$name"); fi
  useradd --system --no-create-home --home-dir /nonexistent --shell "$nologin" \
    "${group[@]}" --comment "onionmaild role" "$name"
  echo "create-users: user $name created ($(id "$name"))"
}

ensure_user "$key_user"
ensure_user "$smtp_user"
ensure_user "$pop3_user"
ensure_user "$peer_user"
ensure_user "$relay_user"

if getent group tss >/dev/null; then
  if id -nG "$key_user" | tr ' ' '\n' | grep -qx tss; then
    echo "create-users: $key_user is in group tss (TPM device access)"
  else
    usermod --append --groups tss "$key_user"
    echo "create-users: $key_user added to group tss (TPM device access)"
  fi
else
  echo "create-users: no group tss on this host (with the tpm2 backend on a device, give $key_user rw access to /dev/tpmrm0)"
fi
