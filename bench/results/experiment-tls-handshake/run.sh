#!/bin/sh
# Builds the harness, makes a self-signed P-256 certificate, then runs 3 repetitions of the four
# variants, alternating within each repetition (200 warm-up + 2000 measured handshakes each).
# Writes results.txt and raw/; `python3 stats.py` pools them into the table of README.md.
set -eu
cd "$(dirname "$0")"
g++ -O2 -std=c++17 -Wall bench.cc -o bench -lssl -lcrypto -lgnutls -lpthread
[ -f cert.pem ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 30 -subj /CN=bench -keyout key.pem -out cert.pem 2>/dev/null
mkdir -p raw
: >results.txt
for rep in 1 2 3; do
  for v in ossl_t ossl_nt gnutls_t gnutls_nt; do
    RAWFILE=raw/$v.$rep.txt ./bench $v bench 200 2000 | sed "s/^RESULT/RESULT rep=$rep/" | tee -a results.txt
  done
done
