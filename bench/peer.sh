# shellcheck shell=bash
# bench/peer.sh: a private, throw-away Postfix + Dovecot instance on loopback, sourced by
# bench/run.sh. Nothing under /etc is touched and no system service is started: Postfix runs with
# `postfix -c DIR` (own main.cf/master.cf, queue and data directories), Dovecot with
# `dovecot -c FILE` (own base_dir, state_dir and log). Postfix smtpd (STARTTLS) hands mail over an
# LMTP unix socket to Dovecot, which writes Maildir; Dovecot serves POP3 (STLS required) and
# authenticates Postfix's SMTP AUTH (Dovecot SASL, same passwd-file, SHA512-CRYPT).
#
# Variants (issue 6): plain (no encryption at rest) and crypt: Dovecot mail_crypt with per-user
# keys protected by the user's password ("folder keys" with mail_crypt_require_encrypted_user_key).
# Each user has an EC key pair (secp521r1, the curve of Dovecot's folder-key examples;
# PEER_CRYPT_CURVE overrides) whose private half is stored encrypted (PBKDF2-SHA256, AES-256-CTR)
# under a key password derived from the login password; INBOX has a folder key pair encrypted to
# it; each message gets a fresh AES-256-GCM key wrapped (ECIES) to the folder's public key. This
# is the closest match to onionmaild (per-recipient wrap; the password unlocks the inbox key):
# LMTP delivery uses public keys only, a POP3 login unlocks the private keys with its password.
# peer_setup generates the keys (doveadm, Dovecot started briefly), so mail can be delivered
# before a user's first login. Dovecot 2.3.19 LMTP logs one harmless "Saving mail: read() failed:
# ... Private key not available" error per delivery (it reads the mail back while saving, for
# the fields of its delivery log line; the mail is saved). Both variants use the same TLS
# certificate and key.
#
# Passwords: passwd-file with SHA512-CRYPT, Dovecot's usual scheme. A user given as NAME:argon2id
# gets an ARGON2ID hash instead, with the parameters of onionmaild's default KDF (m=64 MiB, t=3,
# p=1; Dovecot computes it with libsodium, as onionmaild does), so that first logins can be
# compared with the same password hashing on both sides.
#
# Functions (all take the work directory W, which must be traversable by the postfix user):
#   peer_setup W VARIANT SMTP_PORT POP3_PORT PASSWORD USER...   (PASSWORD: every user's login
#                       password; crypt: also what unlocks their keys; USER: NAME[:argon2id])
#   peer_start W        starts Postfix and Dovecot; prints nothing
#   peer_pids W         prints the two master pids (Postfix master, Dovecot master)
#   peer_stop W         stops both; waits until they are gone
#   peer_maildir_count W USER...   prints the number of files in the users' Maildir new/ + cur/

peer_setup() {
  local w="$1" variant="$2" smtp_port="$3" pop3_port="$4" password="$5"
  shift 5
  local etc="$w/postfix/etc" dv="$w/dovecot" entries=("$@")
  set -- "${entries[@]%%:*}"  # the names alone
  mkdir -p "$etc" "$w/postfix/queue" "$w/postfix/data" "$dv/run" "$dv/state" "$w/mail"
  chmod 0755 "$w" "$w/postfix" "$dv"
  chown mail:mail "$w/mail"
  chown postfix:postfix "$w/postfix/data"

  # --- Postfix -------------------------------------------------------------------------------
  local vmap="$etc/vmailbox"
  : >"$vmap"
  local u
  for u in "$@"; do echo "$u@bench.test OK" >>"$vmap"; done
  cat >"$etc/main.cf" <<CF
# Private benchmark instance; see bench/peer.sh.
compatibility_level = 3.6
queue_directory = $w/postfix/queue
data_directory = $w/postfix/data
mail_owner = postfix
myhostname = bench.test
mydomain = bench.test
myorigin = bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_transport = error:local delivery disabled
relay_transport = error:no relaying
default_transport = error:no relaying
virtual_mailbox_domains = bench.test
virtual_mailbox_maps = texthash:$vmap
virtual_transport = lmtp:unix:$dv/run/lmtp
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_cert_file = $w/tls/cert.pem
smtpd_tls_key_file = $w/tls/key.pem
smtpd_tls_loglevel = 0
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dv/run/auth-client
message_size_limit = 26214400
biff = no
append_dot_mydomain = no
maillog_file_prefixes = $w
maillog_file = $w/postfix/maillog
CF
  # The services of the Debian master.cf up to postlog, without chroot, and smtpd on our port.
  awk -v port="$smtp_port" '
    /^#/ || /^[ \t]/ || NF == 0 { next }
    $1 == "smtp" && $2 == "inet" { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
    { if ($5 == "y") $5 = "n"; print }
    $1 == "postlog" { exit }
  ' /usr/share/postfix/master.cf.dist >"$etc/master.cf"

  # --- Dovecot -------------------------------------------------------------------------------
  # crypt (see the header): folder keys with password-protected user keys, Dovecot's documented
  # Maildir configuration; the keys live in mailbox attributes (mail_attribute_dict, a file in the
  # Maildir root, so not counted as a message). The key password is the hex SHA-256 of the login
  # password (%{sha256:password}), not %w itself: Dovecot var-expands plugin settings, so a '%'
  # in a password would break (its docs advise hashing or encoding).
  local plugins="" plugin_block="" attr_dict="" passdb_extra=""
  if [[ "$variant" == "crypt" ]]; then
    plugins="mail_crypt"
    attr_dict="mail_attribute_dict = file:%h/Maildir/dovecot-attributes"
    passdb_extra="  override_fields = userdb_mail_crypt_private_password=%{sha256:password}"
    plugin_block="plugin {
  mail_crypt_curve = ${PEER_CRYPT_CURVE:-secp521r1}
  mail_crypt_save_version = 2
  mail_crypt_require_encrypted_user_key = yes
}"
  fi
  local hash a2hash="" e
  hash=$(openssl passwd -6 "$password")
  : >"$dv/passwd"
  for e in "${entries[@]}"; do
    if [[ "$e" == *:argon2id ]]; then
      if [[ -z "$a2hash" ]]; then
        # doveadm's rounds 2 gives libsodium's "interactive" limits: m=64 MiB, t=3.
        a2hash=$(doveadm pw -s ARGON2ID -r 2 -p "$password")
        if [[ "$a2hash" != *'$m=65536,t=3,p=1$'* ]]; then
          echo "peer: doveadm made $a2hash, not m=65536,t=3,p=1" >&2
          return 1
        fi
      fi
      echo "${e%%:*}:$a2hash" >>"$dv/passwd"
    else
      echo "${e%%:*}:{SHA512-CRYPT}$hash" >>"$dv/passwd"
    fi
  done
  chmod 0640 "$dv/passwd"
  chgrp dovecot "$dv/passwd"
  cat >"$dv/dovecot.conf" <<CF
# Private benchmark instance; see bench/peer.sh.
base_dir = $dv/run
state_dir = $dv/state
protocols = pop3 lmtp
listen = 127.0.0.1
log_path = $dv/dovecot.log
info_log_path = $dv/dovecot.log
ssl = required
ssl_cert = <$w/tls/cert.pem
ssl_key = <$w/tls/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
auth_username_format = %Ln
first_valid_uid = 8
first_valid_gid = 8
mail_location = maildir:~/Maildir
mail_plugins = \$mail_plugins $plugins
$attr_dict
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = $dv/passwd
$passdb_extra
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$w/mail/%u
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $pop3_port
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  unix_listener auth-client {
    mode = 0666
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
$plugin_block
CF
  if [[ "$variant" == "crypt" ]]; then peer_crypt_keys "$w" "$password" "$@" || return 1; fi
}

# Creates each user's key pair (private key encrypted under SHA-256(PASSWORD) in hex) and INBOX
# folder key pair, so that LMTP can deliver before the first login (it has no password to create
# a user key with). doveadm looks users up through the auth service, so Dovecot runs meanwhile.
peer_crypt_keys() {
  local w="$1" conf="$1/dovecot/dovecot.conf" key_pw u pid rc=0
  key_pw=$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)  # = %{sha256:password} (see above)
  shift 2
  dovecot -c "$conf" || return 1
  for _ in $(seq 1 100); do
    [[ -S "$w/dovecot/run/auth-userdb" && -s "$w/dovecot/run/master.pid" ]] && break
    sleep 0.1
  done
  pid=$(cat "$w/dovecot/run/master.pid")
  for u in "$@"; do
    # -F (all users from a file) aborts in 2.3.19 (doveadm-print panic), hence one call each.
    doveadm -c "$conf" -o "plugin/mail_crypt_private_password=$key_pw" \
      mailbox cryptokey generate -u "$u" INBOX >/dev/null || { rc=1; break; }
  done
  doveadm -c "$conf" stop >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ((rc == 0)) || echo "peer: mail_crypt key generation failed; see $w/dovecot/dovecot.log" >&2
  return "$rc"
}

peer_start() {
  local w="$1"
  dovecot -c "$w/dovecot/dovecot.conf"
  postfix -c "$w/postfix/etc" start 2>>"$w/postfix/start.log" >&2
  for _ in $(seq 1 100); do
    [[ -S "$w/dovecot/run/lmtp" && -f "$w/postfix/queue/pid/master.pid" ]] && return 0
    sleep 0.1
  done
  echo "peer did not start; see $w/postfix/start.log and $w/dovecot/dovecot.log" >&2
  return 1
}

peer_pids() {
  local w="$1"
  echo "$(tr -d ' \n' <"$w/postfix/queue/pid/master.pid") $(cat "$w/dovecot/run/master.pid")"
}

peer_stop() {
  local w="$1" pids
  pids=$(peer_pids "$w" 2>/dev/null) || true
  postfix -c "$w/postfix/etc" stop >/dev/null 2>&1 || true
  doveadm -c "$w/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
  local p
  for p in $pids; do
    for _ in $(seq 1 100); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
  done
}

peer_maildir_count() {
  local w="$1" n=0 u
  shift
  for u in "$@"; do
    local d="$w/mail/$u/Maildir"
    [[ -d "$d" ]] || continue
    n=$((n + $(find "$d/new" "$d/cur" -type f 2>/dev/null | wc -l)))
  done
  echo "$n"
}
