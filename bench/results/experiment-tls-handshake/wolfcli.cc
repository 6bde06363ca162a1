// The client side of bench.cc with wolfSSL (Debian's libwolfssl-dev): build with
// g++ -O2 -std=c++17 -DWITH_WOLFSSL bench.cc wolfcli.cc -o benchw -lssl -lcrypto -lgnutls -lwolfssl -lpthread
// and run with CLIENT=wolf. TLS 1.3 only, TLS13-AES256-GCM-SHA384, one X25519 key share,
// WOLFSSL_VERIFY_NONE (no chain validation, as the GnuTLS client).
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
static WOLFSSL_CTX* wctx;
static double tcpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
void wolf_setup() {
  wolfSSL_Init();
  wctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  if (!wctx) {
    fprintf(stderr, "wolf ctx\n");
    exit(1);
  }
  wolfSSL_CTX_set_verify(wctx, WOLFSSL_VERIFY_NONE, nullptr);
  if (wolfSSL_CTX_set_cipher_list(wctx, "TLS13-AES256-GCM-SHA384") != WOLFSSL_SUCCESS) {
    fprintf(stderr, "wolf ciphers\n");
    exit(1);
  }
  int groups[] = {WOLFSSL_ECC_X25519};
  if (wolfSSL_CTX_set_groups(wctx, groups, 1) != WOLFSSL_SUCCESS) {
    fprintf(stderr, "wolf groups\n");
    exit(1);
  }
}
double wolf_client_one(int fd, bool verbose) {
  char buf[256];
  double t0 = tcpu();
  WOLFSSL* s = wolfSSL_new(wctx);
  if (!s) {
    fprintf(stderr, "wolf new\n");
    exit(1);
  }
  wolfSSL_set_fd(s, fd);
  if (wolfSSL_UseKeyShare(s, WOLFSSL_ECC_X25519) != WOLFSSL_SUCCESS) {
    fprintf(stderr, "keyshare\n");
    exit(1);
  }
  if (wolfSSL_connect(s) != WOLFSSL_SUCCESS) {
    char e[80];
    fprintf(stderr, "wolf connect: %s\n", wolfSSL_ERR_error_string(wolfSSL_get_error(s, 0), e));
    exit(1);
  }
  memset(buf, 'C', 100);
  if (wolfSSL_write(s, buf, 100) != 100) {
    fprintf(stderr, "wolf write\n");
    exit(1);
  }
  int got = 0;
  while (got < 100) {
    int r = wolfSSL_read(s, buf + got, 100 - got);
    if (r <= 0) {
      fprintf(stderr, "wolf read %d\n", wolfSSL_get_error(s, r));
      exit(1);
    }
    got += r;
  }
  if (verbose)
    fprintf(stderr, "wolf client: %s %s\n", wolfSSL_get_version(s), wolfSSL_get_cipher(s));
  wolfSSL_shutdown(s);
  wolfSSL_free(s);
  return tcpu() - t0;
}
