// TLS 1.3 server-side handshake CPU benchmark: OpenSSL 3.0 server vs GnuTLS 3.7 server,
// always with the same GnuTLS client. One handshake per fresh AF_UNIX socketpair.
//
// usage: bench <variant> <mode> [warmup] [n]
//   variant: ossl_t | ossl_nt | gnutls_t | gnutls_nt
//   mode:    verify  (1 handshake with message tracing, prints negotiated params)
//            bench   (warmup + n measured handshakes, prints stats)
#include <gnutls/gnutls.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static const char *CERT = "cert.pem";
static const char *KEY = "key.pem";
// Same priority string used by the GnuTLS client and by the GnuTLS server. SUITE=aes128 in the
// environment: TLS_AES_128_GCM_SHA256 on both sides instead of TLS_AES_256_GCM_SHA384 (seventeenth
// session, suite.sh).
static const bool AES128 = getenv("SUITE") != nullptr && strcmp(getenv("SUITE"), "aes128") == 0;
static const char *PRIO =
    AES128 ? "NONE:+VERS-TLS1.3:+AES-128-GCM:+AEAD:+GROUP-X25519:+SIGN-ECDSA-SECP256R1-SHA256:"
             "+CTYPE-X509"
           : "NONE:+VERS-TLS1.3:+AES-256-GCM:+AEAD:+GROUP-X25519:+SIGN-ECDSA-SECP256R1-SHA256:"
             "+CTYPE-X509";

enum Variant { OSSL_T, OSSL_NT, GNUTLS_T, GNUTLS_NT };
static Variant variant;
static bool verify_mode = false;

// ---- shared state ----
static SSL_CTX *ossl_ctx;
static gnutls_certificate_credentials_t srv_cred, cli_cred;
static gnutls_priority_t srv_prio, cli_prio;
static gnutls_datum_t ticket_key;

static pthread_barrier_t bar_start, bar_end;
static int fds[2];
static volatile bool stop_flag = false;
static double srv_cpu_us, cli_cpu_us;
static std::string srv_info, cli_info;
static int srv_tickets_sent = 0, srv_client_hellos = 0;

static double tcpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
static double twall() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
static void die(const char *m) {
  fprintf(stderr, "FATAL: %s\n", m);
  ERR_print_errors_fp(stderr);
  exit(1);
}

// ---------------- OpenSSL server ----------------
static void ossl_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                        SSL *, void *) {
  if (content_type != SSL3_RT_HANDSHAKE || len < 1) return;
  unsigned char t = ((const unsigned char *)buf)[0];
  if (write_p && t == SSL3_MT_NEWSESSION_TICKET) srv_tickets_sent++;
  if (!write_p && t == SSL3_MT_CLIENT_HELLO) srv_client_hellos++;
  (void)version;
}

static void ossl_setup() {
  ossl_ctx = SSL_CTX_new(TLS_server_method());
  if (!ossl_ctx) die("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ossl_ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ossl_ctx, TLS1_3_VERSION);
  if (!SSL_CTX_set_ciphersuites(ossl_ctx,
                                AES128 ? "TLS_AES_128_GCM_SHA256" : "TLS_AES_256_GCM_SHA384")) {
    die("ciphersuites");
  }
  if (!SSL_CTX_set1_groups_list(ossl_ctx, "X25519")) die("groups");
  if (!SSL_CTX_set1_sigalgs_list(ossl_ctx, "ecdsa_secp256r1_sha256")) die("sigalgs");
  if (SSL_CTX_use_certificate_file(ossl_ctx, CERT, SSL_FILETYPE_PEM) != 1) die("cert");
  if (SSL_CTX_use_PrivateKey_file(ossl_ctx, KEY, SSL_FILETYPE_PEM) != 1) die("key");
  if (SSL_CTX_check_private_key(ossl_ctx) != 1) die("check key");
  SSL_CTX_set_session_cache_mode(ossl_ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_options(ossl_ctx, SSL_OP_NO_TICKET);  // TLS1.3: stateful tickets from the cache
  static const unsigned char sid_ctx[] = "tlsbench";
  SSL_CTX_set_session_id_context(ossl_ctx, sid_ctx, sizeof(sid_ctx) - 1);
  SSL_CTX_set_num_tickets(ossl_ctx, variant == OSSL_T ? 1 : 0);
  if (getenv("NO_AUTO_CHAIN")) SSL_CTX_set_mode(ossl_ctx, SSL_MODE_NO_AUTO_CHAIN);
  if (verify_mode) SSL_CTX_set_msg_callback(ossl_ctx, ossl_msg_cb);
}

static bool ossl_read_n(SSL *s, char *buf, int n) {
  int got = 0;
  while (got < n) {
    int r = SSL_read(s, buf + got, n - got);
    if (r <= 0) return false;
    got += r;
  }
  return true;
}

static void ossl_server_one(int fd) {
  char buf[256];
  double t0 = tcpu();
  SSL *s = SSL_new(ossl_ctx);
  if (!s) die("SSL_new");
  SSL_set_fd(s, fd);
  if (SSL_accept(s) != 1) die("SSL_accept");
  if (!ossl_read_n(s, buf, 100)) die("SSL_read 100");
  memset(buf, 'S', 100);
  if (SSL_write(s, buf, 100) != 100) die("SSL_write");
  int r = SSL_read(s, buf, sizeof buf);  // expect close_notify
  if (r != 0 || SSL_get_error(s, r) != SSL_ERROR_ZERO_RETURN) die("expected close_notify");
  int sr = SSL_shutdown(s);  // sends our close_notify
  if (verify_mode) {
    char tmp[512];
    int nid = 0, signid = 0;
    SSL_get_signature_nid(s, &nid);
    int gid = SSL_get_negotiated_group(s);
    snprintf(tmp, sizeof tmp,
             "server(OpenSSL): version=%s cipher=%s negotiated_group=%s sig_digest=%s "
             "shutdown_ret=%d ClientHellos_received=%d NewSessionTickets_sent=%d",
             SSL_get_version(s), SSL_CIPHER_get_name(SSL_get_current_cipher(s)), OBJ_nid2sn(gid),
             OBJ_nid2sn(nid), sr, srv_client_hellos, srv_tickets_sent);
    (void)signid;
    srv_info = tmp;
  }
  SSL_free(s);
  srv_cpu_us = tcpu() - t0;
}

// ---------------- GnuTLS common ----------------
static int gtls_send_all(gnutls_session_t s, const char *b, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = gnutls_record_send(s, b + off, n - off);
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) continue;
    if (r < 0) return (int)r;
    off += r;
  }
  return 0;
}
static int gtls_recv_n(gnutls_session_t s, char *b, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = gnutls_record_recv(s, b + off, n - off);
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) continue;
    if (r <= 0) return r == 0 ? -1 : (int)r;
    off += r;
  }
  return 0;
}

// ---------------- GnuTLS server ----------------
static int gtls_srv_hook(gnutls_session_t, unsigned htype, unsigned when, unsigned incoming,
                         const gnutls_datum_t *) {
  if (when != GNUTLS_HOOK_POST) return 0;
  if (!incoming && htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET) srv_tickets_sent++;
  if (incoming && htype == GNUTLS_HANDSHAKE_CLIENT_HELLO) srv_client_hellos++;
  return 0;
}

static void gtls_server_setup() {
  if (gnutls_certificate_allocate_credentials(&srv_cred) < 0) die("srv cred");
  int r = gnutls_certificate_set_x509_key_file(srv_cred, CERT, KEY, GNUTLS_X509_FMT_PEM);
  if (r < 0) {
    fprintf(stderr, "%s\n", gnutls_strerror(r));
    die("srv key file");
  }
  const char *err = nullptr;
  r = gnutls_priority_init(&srv_prio, PRIO, &err);
  if (r < 0) {
    fprintf(stderr, "prio err at: %s\n", err);
    die("srv prio");
  }
  if (variant == GNUTLS_T) {
    if (gnutls_session_ticket_key_generate(&ticket_key) < 0) die("ticket key");
  }
}

static void gtls_server_one(int fd) {
  char buf[256];
  double t0 = tcpu();
  gnutls_session_t s;
  // Auto-send would issue TLS13_TICKETS_TO_SEND (=2) tickets; we send exactly one explicitly.
  unsigned flags = GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET;
  if (gnutls_init(&s, flags) < 0) die("srv init");
  if (gnutls_priority_set(s, srv_prio) < 0) die("srv prio set");
  if (gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, srv_cred) < 0) die("srv cred set");
  if (variant == GNUTLS_T) {
    if (gnutls_session_ticket_enable_server(s, &ticket_key) < 0) die("ticket enable");
  }
  if (verify_mode)
    gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_POST, gtls_srv_hook);
  gnutls_transport_set_int(s, fd);
  int r;
  do {
    r = gnutls_handshake(s);
  } while (r < 0 && !gnutls_error_is_fatal(r));
  if (r < 0) {
    fprintf(stderr, "srv hs: %s\n", gnutls_strerror(r));
    die("srv handshake");
  }
  if (variant == GNUTLS_T) {
    do {
      r = gnutls_session_ticket_send(s, 1, 0);
    } while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
    if (r < 0) {
      fprintf(stderr, "ticket send: %s\n", gnutls_strerror(r));
      die("ticket send");
    }
  }
  if (gtls_recv_n(s, buf, 100) < 0) die("srv recv 100");
  memset(buf, 'S', 100);
  if (gtls_send_all(s, buf, 100) < 0) die("srv send");
  ssize_t rr;
  do {
    rr = gnutls_record_recv(s, buf, sizeof buf);
  } while (rr == GNUTLS_E_AGAIN || rr == GNUTLS_E_INTERRUPTED);
  if (rr != 0) die("srv expected close_notify");
  do {
    r = gnutls_bye(s, GNUTLS_SHUT_WR);
  } while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
  if (verify_mode) {
    char tmp[512];
    snprintf(tmp, sizeof tmp,
             "server(GnuTLS): version=%s cipher=%s group=%s sign=%s bye_ret=%d "
             "ClientHellos_received=%d NewSessionTickets_sent=%d",
             gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
             gnutls_cipher_get_name(gnutls_cipher_get(s)),
             gnutls_group_get_name(gnutls_group_get(s)),
             gnutls_sign_get_name((gnutls_sign_algorithm_t)gnutls_sign_algorithm_get(s)), r,
             srv_client_hellos, srv_tickets_sent);
    srv_info = tmp;
  }
  gnutls_deinit(s);
  srv_cpu_us = tcpu() - t0;
}

// ---------------- GnuTLS client ----------------
static std::string cli_trace;
static int cli_tickets_recv = 0;

static void parse_client_hello(const unsigned char *p, size_t n) {
  // accept either with or without the 4-byte handshake header
  if (n >= 4 && p[0] == 1 && (size_t)((p[1] << 16) | (p[2] << 8) | p[3]) == n - 4) {
    p += 4;
    n -= 4;
  }
  size_t i = 2 + 32;  // legacy_version, random
  if (i >= n) return;
  i += 1 + p[i];  // session id
  size_t cs = (p[i] << 8) | p[i + 1];
  char tmp[128];
  snprintf(tmp, sizeof tmp, " [CH: %zu cipher-suite bytes", cs);
  cli_trace += tmp;
  i += 2 + cs;
  i += 1 + p[i];  // compression
  size_t extlen = (p[i] << 8) | p[i + 1];
  i += 2;
  size_t end = std::min(n, i + extlen);
  while (i + 4 <= end) {
    unsigned et = (p[i] << 8) | p[i + 1];
    size_t el = (p[i + 2] << 8) | p[i + 3];
    const unsigned char *e = p + i + 4;
    if (et == 51) {  // key_share
      size_t l = (e[0] << 8) | e[1];
      size_t j = 2;
      cli_trace += "; key_share groups:";
      while (j + 4 <= 2 + l) {
        unsigned g = (e[j] << 8) | e[j + 1];
        size_t kl = (e[j + 2] << 8) | e[j + 3];
        snprintf(tmp, sizeof tmp, " 0x%04x(len %zu)", g, kl);
        cli_trace += tmp;
        j += 4 + kl;
      }
    } else if (et == 10) {  // supported_groups
      size_t l = (e[0] << 8) | e[1];
      cli_trace += "; supported_groups:";
      for (size_t j = 2; j + 2 <= 2 + l; j += 2) {
        snprintf(tmp, sizeof tmp, " 0x%04x", (e[j] << 8) | e[j + 1]);
        cli_trace += tmp;
      }
    } else if (et == 13) {  // signature_algorithms
      size_t l = (e[0] << 8) | e[1];
      cli_trace += "; sig_algs:";
      for (size_t j = 2; j + 2 <= 2 + l; j += 2) {
        snprintf(tmp, sizeof tmp, " 0x%04x", (e[j] << 8) | e[j + 1]);
        cli_trace += tmp;
      }
    } else if (et == 43) {
      cli_trace += "; supported_versions:";
      for (size_t j = 1; j + 2 <= 1 + (size_t)e[0]; j += 2) {
        snprintf(tmp, sizeof tmp, " 0x%04x", (e[j] << 8) | e[j + 1]);
        cli_trace += tmp;
      }
    }
    i += 4 + el;
  }
  cli_trace += "]";
}

static int gtls_cli_hook(gnutls_session_t, unsigned htype, unsigned when, unsigned incoming,
                         const gnutls_datum_t *msg) {
  if (when != GNUTLS_HOOK_POST) return 0;
  cli_trace += incoming ? " <-" : " ->";
  cli_trace += gnutls_handshake_description_get_name((gnutls_handshake_description_t)htype);
  if (!incoming && htype == GNUTLS_HANDSHAKE_CLIENT_HELLO) parse_client_hello(msg->data, msg->size);
  if (incoming && htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET) cli_tickets_recv++;
  return 0;
}

static void gtls_client_setup() {
  if (gnutls_certificate_allocate_credentials(&cli_cred) < 0) die("cli cred");
  const char *err = nullptr;
  int r = gnutls_priority_init(&cli_prio, PRIO, &err);
  if (r < 0) {
    fprintf(stderr, "prio err at: %s\n", err);
    die("cli prio");
  }
}

static void gtls_client_one(int fd) {
  char buf[256];
  double t0 = tcpu();
  gnutls_session_t s;
  if (gnutls_init(&s, GNUTLS_CLIENT) < 0) die("cli init");
  if (gnutls_priority_set(s, cli_prio) < 0) die("cli prio set");
  if (gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cli_cred) < 0) die("cli cred set");
  if (verify_mode)
    gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_POST, gtls_cli_hook);
  gnutls_transport_set_int(s, fd);
  int r;
  do {
    r = gnutls_handshake(s);
  } while (r < 0 && !gnutls_error_is_fatal(r));
  if (r < 0) {
    fprintf(stderr, "cli hs: %s\n", gnutls_strerror(r));
    die("cli handshake");
  }
  memset(buf, 'C', 100);
  if (gtls_send_all(s, buf, 100) < 0) die("cli send");
  if (gtls_recv_n(s, buf, 100) < 0) die("cli recv 100");
  do {
    r = gnutls_bye(s, GNUTLS_SHUT_RDWR);
  } while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
  if (r < 0) {
    fprintf(stderr, "cli bye: %s\n", gnutls_strerror(r));
    die("cli bye");
  }
  if (verify_mode) {
    char *desc = gnutls_session_get_desc(s);
    char tmp[1024];
    snprintf(tmp, sizeof tmp,
             "client(GnuTLS): desc=%s version=%s cipher=%s mac=%s group=%s server_sign=%s "
             "resumed=%d NewSessionTickets_received=%d\n  client handshake-message trace:%s",
             desc, gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
             gnutls_cipher_get_name(gnutls_cipher_get(s)), gnutls_mac_get_name(gnutls_mac_get(s)),
             gnutls_group_get_name(gnutls_group_get(s)),
             gnutls_sign_get_name((gnutls_sign_algorithm_t)gnutls_sign_algorithm_get(s)),
             gnutls_session_is_resumed(s), cli_tickets_recv, cli_trace.c_str());
    gnutls_free(desc);
    cli_info = tmp;
  }
  gnutls_deinit(s);
  cli_cpu_us = tcpu() - t0;
}

// ---------------- threads ----------------
static void *server_thread(void *) {
  for (;;) {
    pthread_barrier_wait(&bar_start);
    if (stop_flag) break;
    if (variant == OSSL_T || variant == OSSL_NT)
      ossl_server_one(fds[0]);
    else
      gtls_server_one(fds[0]);
    close(fds[0]);
    pthread_barrier_wait(&bar_end);
  }
  return nullptr;
}
#ifdef WITH_WOLFSSL
// wolfcli.cc: the client side with wolfSSL instead (CLIENT=wolf); see README.md.
void wolf_setup();
double wolf_client_one(int fd, bool verbose);
static const bool use_wolf = getenv("CLIENT") != nullptr;
#else
static const bool use_wolf = false;
static void wolf_setup() {}
static double wolf_client_one(int, bool) { return 0; }
#endif
static void *client_thread(void *) {
  for (;;) {
    pthread_barrier_wait(&bar_start);
    if (stop_flag) break;
    if (use_wolf) {
      cli_cpu_us = wolf_client_one(fds[1], verify_mode);
    } else {
      gtls_client_one(fds[1]);
    }
    close(fds[1]);
    pthread_barrier_wait(&bar_end);
  }
  return nullptr;
}

static double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t idx = (size_t)(p * (v.size() - 1) + 0.5);
  return v[idx];
}
static double mean(const std::vector<double> &v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s variant verify|bench [warmup n]\n", argv[0]);
    return 2;
  }
  std::string v = argv[1];
  if (v == "ossl_t")
    variant = OSSL_T;
  else if (v == "ossl_nt")
    variant = OSSL_NT;
  else if (v == "gnutls_t")
    variant = GNUTLS_T;
  else if (v == "gnutls_nt")
    variant = GNUTLS_NT;
  else {
    fprintf(stderr, "bad variant\n");
    return 2;
  }
  verify_mode = std::string(argv[2]) == "verify";
  int warmup = argc > 3 ? atoi(argv[3]) : 200;
  int n = argc > 4 ? atoi(argv[4]) : 2000;
  if (verify_mode) {
    warmup = 0;
    n = 1;
  }
  signal(SIGPIPE, SIG_IGN);

  if (variant == OSSL_T || variant == OSSL_NT)
    ossl_setup();
  else
    gtls_server_setup();
  gtls_client_setup();
  if (use_wolf) wolf_setup();

  pthread_barrier_init(&bar_start, nullptr, 3);
  pthread_barrier_init(&bar_end, nullptr, 3);
  pthread_t ts, tc;
  pthread_create(&ts, nullptr, server_thread, nullptr);
  pthread_create(&tc, nullptr, client_thread, nullptr);

  std::vector<double> srv, cli, wall;
  srv.reserve(n);
  cli.reserve(n);
  wall.reserve(n);
  double loop_t0 = 0;
  for (int i = 0; i < warmup + n; i++) {
    if (i == warmup) loop_t0 = twall();
    double w0 = twall();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) die("socketpair");
    pthread_barrier_wait(&bar_start);
    pthread_barrier_wait(&bar_end);
    double w1 = twall();
    if (i >= warmup) {
      srv.push_back(srv_cpu_us);
      cli.push_back(cli_cpu_us);
      wall.push_back(w1 - w0);
    }
  }
  double loop_wall = twall() - loop_t0;
  stop_flag = true;
  pthread_barrier_wait(&bar_start);
  pthread_join(ts, nullptr);
  pthread_join(tc, nullptr);

  if (verify_mode) {
    printf("variant=%s priority=\"%s\"\n%s\n%s\n", v.c_str(), PRIO, srv_info.c_str(),
           cli_info.c_str());
    if (ossl_ctx)
      printf("OpenSSL server session cache entries after run: %ld\n",
             SSL_CTX_sess_number(ossl_ctx));
    return 0;
  }
  printf(
      "RESULT variant=%s n=%d warmup=%d "
      "srv_med=%.1f srv_mean=%.1f srv_min=%.1f srv_p99=%.1f srv_max=%.1f "
      "cli_med=%.1f cli_mean=%.1f cli_min=%.1f cli_max=%.1f "
      "wall_med=%.1f wall_min=%.1f wall_max=%.1f loopwall_per_hs=%.1f",
      v.c_str(), n, warmup, pct(srv, .5), mean(srv), pct(srv, 0), pct(srv, .99), pct(srv, 1),
      pct(cli, .5), mean(cli), pct(cli, 0), pct(cli, 1), pct(wall, .5), pct(wall, 0), pct(wall, 1),
      loop_wall / n);
  if (ossl_ctx) printf(" ossl_cache_entries=%ld", SSL_CTX_sess_number(ossl_ctx));
  printf("\n");
  // raw per-handshake samples for pooled statistics
  if (getenv("RAWFILE")) {
    FILE *f = fopen(getenv("RAWFILE"), "w");
    for (int i = 0; i < n; i++) fprintf(f, "%.3f %.3f %.3f\n", srv[i], cli[i], wall[i]);
    fclose(f);
  }
  return 0;
}
