#!/usr/bin/env bash
# Prepares a TPM 2.0 for onionmaild's tpm2 key backend: checks that the TPM
# answers on the TCTI, creates the key directory (0700) and the authValue
# file (0600, random if absent), and prints the [keys] lines for the config.
# The keys themselves are created inside the TPM by `onionmailctl init`.
# Idempotent: an existing directory or auth file is kept (modes are fixed).
#
# Usage: provisioning/tpm2-provision.sh [--tcti T] [--key-dir D] [--auth-file F]
#          [--pcrs LIST] [--config FILE] [--owner USER] [--non-interactive] [--help]
#   --tcti T           TCTI of the TPM (default device:/dev/tpmrm0; for swtpm
#                      e.g. swtpm:host=127.0.0.1,port=2321)
#   --key-dir D        directory of the TPM-wrapped key blobs hmac.tpm2,
#                      rsa.tpm2 and tls-ec.tpm2 (default /var/lib/onionmaild/tpm2)
#   --auth-file F      authValue of the TPM objects (default D/auth); created
#                      with 16 random bytes (hex) if absent
#   --pcrs LIST        optional PCR policy on the SHA-256 bank, e.g. 0,7; use
#                      only PCRs that stay stable across reboots and updates
#   --config FILE      also write the [keys] section into this onionmaild config
#                      (appended if the file has none; never overwritten)
#   --owner USER       chown -R the key dir (and the auth file) to USER and its
#                      group after creation: the user of onionmaild's key role
#                      (onionmail when it runs as root; see create-users.sh)
#   --non-interactive  never prompt (the default behaviour; accepted for scripts)
# Needs tpm2-tools (tpm2_getcap, tpm2_pcrread) for the checks.
set -euo pipefail
umask 077

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "tpm2-provision: $*" >&2; exit 1; }

tcti=device:/dev/tpmrm0
key_dir=/var/lib/onionmaild/tpm2
auth_file=
pcrs=
config_file=
owner=

while (($# > 0)); do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --tcti) tcti="${2:?--tcti needs a value}"; shift 2 ;;
    --key-dir) key_dir="${2:?--key-dir needs a value}"; shift 2 ;;
    --auth-file) auth_file="${2:?--auth-file needs a value}"; shift 2 ;;
    --pcrs) pcrs="${2:?--pcrs needs a value}"; shift 2 ;;
    --config) config_file="${2:?--config needs a value}"; shift 2 ;;
    --owner) owner="${2:?--owner needs a value}"; shift 2 ;;
    --non-interactive) shift ;;
    *) echo "tpm2-provision: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -n "$owner" ]] && ! getent passwd "$owner" >/dev/null; then
  echo "tpm2-provision: --owner $owner: no such user (see provisioning/create-users.sh)" >&2
  exit 2
fi

# PCR list: comma-separated numbers 0..23, no duplicates.
pcr_toml=
if [[ -n "$pcrs" ]]; then
  declare -A seen=()
  IFS=, read -r -a pcr_list <<<"$pcrs"
  for p in "${pcr_list[@]}"; do
    [[ "$p" =~ ^[0-9]+$ ]] && ((10#$p <= 23)) || { echo "tpm2-provision: bad PCR '$p' (0..23)" >&2; exit 2; }
    [[ -z "${seen[$p]:-}" ]] || { echo "tpm2-provision: PCR $p listed twice" >&2; exit 2; }
    seen[$p]=1
  done
  pcr_toml="[$(IFS=,; echo "${pcr_list[*]}" | sed 's/,/, /g')]"
fi

command -v tpm2_getcap >/dev/null 2>&1 || die "tpm2_getcap not found (apt-get install tpm2-tools)"
if [[ "$tcti" == device:* ]]; then
  dev="${tcti#device:}"
  [[ -e "$dev" ]] || die "TPM device $dev does not exist (no TPM, or the kernel driver is not loaded)"
  [[ -r "$dev" && -w "$dev" ]] || die "no read/write access to $dev (run as root or join the tss group)"
fi

# 1. The TPM answers (never rely on tctildr auto-probing: the TCTI is explicit).
export TPM2TOOLS_TCTI="$tcti"
if ! fixed="$(timeout 20 tpm2_getcap properties-fixed 2>&1)"; then
  echo "$fixed" | tail -n 3 >&2
  die "TPM not reachable at $tcti"
fi
family="$(echo "$fixed" | awk '/TPM2_PT_FAMILY_INDICATOR/{f=1} f&&/value:/{gsub(/"/,"",$2); print $2; exit}')"
vendor="$(echo "$fixed" | awk '/TPM2_PT_MANUFACTURER/{f=1} f&&/value:/{gsub(/"/,"",$2); print $2; exit}')"
echo "tpm2-provision: TPM ${family:-?} from ${vendor:-?} answers at $tcti"

variable="$(timeout 20 tpm2_getcap properties-variable 2>/dev/null || true)"
if echo "$variable" | grep -q 'inLockout: *1'; then
  echo "tpm2-provision: WARNING: the TPM is in dictionary-attack lockout; clear it with" >&2
  echo "  TPM2TOOLS_TCTI='$tcti' tpm2_dictionarylockout --clear-lockout" >&2
fi

if [[ -n "$pcrs" ]]; then
  command -v tpm2_pcrread >/dev/null 2>&1 || die "tpm2_pcrread not found (apt-get install tpm2-tools)"
  timeout 20 tpm2_pcrread "sha256:$pcrs" >/dev/null 2>&1 ||
    die "cannot read SHA-256 PCRs $pcrs (is the sha256 bank allocated?)"
  echo "tpm2-provision: current SHA-256 PCRs $pcrs will be sealed into the key policy"
fi

# 2. Key directory, 0700.
if [[ -d "$key_dir" ]]; then
  dir_state="kept"
else
  mkdir -p "$key_dir"
  dir_state="created"
fi
chmod 0700 "$key_dir"
key_dir="$(cd "$key_dir" && pwd)"
auth_file="${auth_file:-$key_dir/auth}"

# 3. authValue file, 0600: 16 random bytes as 32 hex characters (the TPM
#    accepts at most 32 bytes; onionmaild hashes longer values with SHA-256).
if [[ -f "$auth_file" ]]; then
  auth_state="kept"
  [[ -s "$auth_file" ]] || echo "tpm2-provision: WARNING: $auth_file is empty (no authValue)" >&2
else
  mkdir -p "$(dirname "$auth_file")"
  tmp="$(mktemp "$auth_file.XXXXXX")"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp"
  mv "$tmp" "$auth_file"
  auth_state="created"
fi
chmod 0600 "$auth_file"
auth_file="$(cd "$(dirname "$auth_file")" && pwd)/$(basename "$auth_file")"

# The key role reads and writes the blobs as its own user.
owned=
if [[ -n "$owner" ]]; then
  group="$(id -gn "$owner")"
  chown -R "$owner:$group" "$key_dir"
  chown "$owner:$group" "$auth_file"
  owned=", owner $owner"
  if command -v runuser >/dev/null 2>&1 && ! runuser -u "$owner" -- test -r "$auth_file"; then
    echo "tpm2-provision: WARNING: $owner cannot reach $key_dir: a parent directory is not searchable by it (e.g. under /root)" >&2
  fi
fi

blobs="none yet (created by onionmailctl init)"
if [[ -f "$key_dir/hmac.tpm2" && -f "$key_dir/rsa.tpm2" && -f "$key_dir/tls-ec.tpm2" ]]; then
  blobs="present (hmac.tpm2, rsa.tpm2, tls-ec.tpm2): onionmailctl init keeps them"
elif [[ -f "$key_dir/hmac.tpm2" && -f "$key_dir/rsa.tpm2" ]]; then
  blobs="present (hmac.tpm2, rsa.tpm2; the TLS key tls-ec.tpm2 is added by onionmailctl init or tls-key)"
fi

cat <<EOF

tpm2-provision: summary
  TPM         : $tcti (${family:-?}, ${vendor:-?})
  key dir     : $key_dir ($dir_state, 0700$owned)
  auth file   : $auth_file ($auth_state, 0600$owned; never printed)
  key blobs   : $blobs
  PCR policy  : ${pcrs:-none}

Put these lines in the [keys] section of onionmaild.toml:

[keys]
backend = "tpm2"
tcti = "$tcti"
tpm2_key_dir = "$key_dir"
tpm2_auth_file = "$auth_file"
EOF
if [[ -n "$pcr_toml" ]]; then
  echo "pcrs = $pcr_toml"
  cat <<EOF

WARNING: with pcrs the keys work only while PCRs $pcrs keep the values they have at
onionmailctl init. An update that changes them (firmware, bootloader, Secure Boot keys) stops
the server and leaves every stored message unreadable until the old values are back; there is
no re-sealing (docs/keys.md, "Failure behaviour").
EOF
fi
cat <<EOF

Then run: onionmailctl init   (creates the HMAC and RSA keys inside the TPM)
The files must be readable by the user of onionmaild's key role (--owner); the blobs are
useless without this TPM, and losing the TPM (or a TPM2_Clear) loses the keys.
EOF
if [[ -n "$config_file" ]]; then
  {
    printf '[keys]\nbackend = "tpm2"\ntcti = "%s"\ntpm2_key_dir = "%s"\ntpm2_auth_file = "%s"\n' \
      "$tcti" "$key_dir" "$auth_file"
    if [[ -n "$pcr_toml" ]]; then echo "pcrs = $pcr_toml"; fi
  } | "$(dirname "$0")/write-keys-config.sh" "$config_file"
fi
