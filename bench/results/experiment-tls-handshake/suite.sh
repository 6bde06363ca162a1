#!/bin/sh
# Seventeenth session: the server side of the same handshake with TLS_AES_256_GCM_SHA384 (what
# every server negotiated in the benchmark until then) against TLS_AES_128_GCM_SHA256 (what the
# front ends now prefer on a CPU with AES instructions, src/net/tls_ciphers.h). OpenSSL server as
# onionmaild configures it (variant ossl_t), GnuTLS client; REPS repetitions (default 5), the two
# suites alternating, each of 200 warm-up and 2000 measured handshakes. Appends to
# suite-results.txt.
set -eu
cd "$(dirname "$0")"
g++ -O2 -std=c++17 -Wall bench.cc -o bench -lssl -lcrypto -lgnutls -lpthread
[ -f cert.pem ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 30 -subj /CN=bench -keyout key.pem -out cert.pem 2>/dev/null
for rep in $(seq 1 "${REPS:-5}"); do
  for suite in aes256 aes128; do
    SUITE=$suite ./bench ossl_t bench 200 2000 | sed "s/^RESULT/RESULT rep=$rep suite=$suite/" |
      tee -a suite-results.txt
  done
done
