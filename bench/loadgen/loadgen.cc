// om-loadgen: the SMTP and POP3 load generator of bench/run.sh (driven by bench/loadgen.py).
//
// C client threads (default 1), each running a bounded loop of sessions, so that the client is
// not the bottleneck (the Python one needed 1.6-4.3 ms of CPU per message). Most of its CPU is
// its own TLS handshake: 1.1-1.5 ms per SMTP message on the benchmark's third host
// (docs/benchmarks.md, "What is measured").
// Loopback only. Prints one JSON document on stdout:
//   {"threads": [{"lat": [seconds...], "errors": ["..."], "msgs": N, "bytes": N}...],
//    "cpu_s": client CPU seconds, "tls": ["TLSv1.3", "TLS_AES_128_GCM_SHA256"],
//    "tls_library": "gnutls" or "openssl"}
//
//   om-loadgen smtp --port P --conc C --count N --size BYTES --users u1,u2,.. [--auth-pass-file F]
//     per message: connect, EHLO, STARTTLS, EHLO, [AUTH PLAIN as the recipient], MAIL, RCPT
//     (one recipient), DATA, body of exactly BYTES octets, 250, QUIT. Latency: connect .. 250.
//     With --resume each thread offers the TLS session of its previous connection
//     (resumption: no server signature); "resumed" counts the handshakes that resumed.
//     With --pipelining MAIL, RCPT and DATA go in one write and their three replies are read
//     after it (RFC 2920, as Postfix's SMTP client and Thunderbird do when PIPELINING is offered).
//   om-loadgen pop3 --port P --conc C --count N --users p1,.. --pass-file F [--dele]
//     per session: connect, STLS, USER, PASS, LIST, RETR all, [DELE all], QUIT (+OK).
//     With --pipelining every RETR (each followed by its DELE) and the QUIT go in one write
//     after LIST, and the replies are read after it (RFC 2449 PIPELINING, offered by both
//     servers); without it, each command waits for its reply.
// Session k of thread t uses users[(t + k*C) % len(users)].
//
// --tls gnutls|openssl picks the client's TLS library (default gnutls). Both do the same
// TLS 1.3 handshake (X25519 key share, the server's ECDSA CertificateVerify checked against the
// key in its certificate; no chain validation, the benchmark's certificates are self-signed)
// and report the same ["TLSv1.3", "TLS_AES_128_GCM_SHA256"]. GnuTLS is the default because it
// needs less CPU for it: OpenSSL 3.0 decodes the server's certificate and public key through
// its provider decoders on every connection (docs/benchmarks-history.md, thirteenth session), and
// the client shares the two CPUs with the server it measures.
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// The client's TLS 1.3 suites in its order of preference (OpenSSL's names; the GnuTLS priority
// string in main lists the same three in the same order).
constexpr const char* kSuiteOrder =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

struct Failure {
  std::string what;
};

// A TLS session to offer for resumption (--resume): one of the two, by library.
struct Resumption {
  SSL_SESSION* openssl = nullptr;
  std::vector<unsigned char> gnutls;
  Resumption() = default;
  Resumption(const Resumption&) = delete;  // owns `openssl`: a copy would free it twice
  Resumption& operator=(const Resumption&) = delete;
  ~Resumption() {
    if (openssl != nullptr) SSL_SESSION_free(openssl);
  }
};

// The client side of both libraries, set up once and shared by the threads.
struct TlsClient {
  bool gnutls = true;
  SSL_CTX* ctx = nullptr;
  gnutls_certificate_credentials_t cred = nullptr;
  gnutls_priority_t prio = nullptr;
};

class Conn {
 public:
  explicit Conn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw Failure{"socket"};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw Failure{std::string("connect: ") + std::strerror(errno)};
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{120, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Conn() {
    if (ssl_ != nullptr) {
      (void)SSL_shutdown(ssl_);  // close_notify: without it the session is not resumable
      SSL_free(ssl_);
    }
    if (gs_ != nullptr) {
      (void)gnutls_bye(gs_, GNUTLS_SHUT_WR);
      gnutls_deinit(gs_);
    }
    ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void StartTls(const TlsClient& tls, const Resumption* resume = nullptr) {
    if (rpos_ != rlen_) throw Failure{"data before TLS"};
    rpos_ = rlen_ = 0;
    if (!tls.gnutls) {
      ssl_ = SSL_new(tls.ctx);
      SSL_set_fd(ssl_, fd_);
      if (resume != nullptr && resume->openssl != nullptr) SSL_set_session(ssl_, resume->openssl);
      if (SSL_connect(ssl_) != 1) throw Failure{"TLS handshake failed"};
      return;
    }
    if (gnutls_init(&gs_, GNUTLS_CLIENT) != GNUTLS_E_SUCCESS) throw Failure{"gnutls_init"};
    if (gnutls_priority_set(gs_, tls.prio) != GNUTLS_E_SUCCESS ||
        gnutls_credentials_set(gs_, GNUTLS_CRD_CERTIFICATE, tls.cred) != GNUTLS_E_SUCCESS) {
      throw Failure{"gnutls session set-up"};
    }
    gnutls_transport_set_int(gs_, fd_);
    if (resume != nullptr && !resume->gnutls.empty()) {
      (void)gnutls_session_set_data(gs_, resume->gnutls.data(), resume->gnutls.size());
    }
    int rc;
    do {
      rc = gnutls_handshake(gs_);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) throw Failure{std::string("TLS handshake failed: ") + gnutls_strerror(rc)};
  }
  bool Resumed() const {
    if (ssl_ != nullptr) return SSL_session_reused(ssl_) == 1;
    return gs_ != nullptr && gnutls_session_is_resumed(gs_) != 0;
  }
  // Keeps the session to offer next time (TLS 1.3: call after the ticket has been read).
  void SaveSession(Resumption& r) const {
    if (ssl_ != nullptr) {
      if (r.openssl != nullptr) SSL_SESSION_free(r.openssl);
      r.openssl = SSL_get1_session(ssl_);
    } else if (gs_ != nullptr) {
      // Only a new ticket replaces the one kept: a server may send none on a resumed session
      // (Postfix), and its ticket stays good, as OpenSSL's client assumes. Without a ticket,
      // gnutls_session_get_data2 would wait a round trip and return data that cannot resume.
      if ((gnutls_session_get_flags(gs_) & GNUTLS_SFLAGS_SESSION_TICKET) == 0) return;
      gnutls_datum_t d{};
      if (gnutls_session_get_data2(gs_, &d) == GNUTLS_E_SUCCESS) {
        r.gnutls.assign(d.data, d.data + d.size);
        gnutls_free(d.data);
      }
    }
  }
  // Named as OpenSSL names them, whichever library: ["TLSv1.3", "TLS_AES_128_GCM_SHA256"].
  std::pair<std::string, std::string> TlsInfo() const {
    if (ssl_ != nullptr) {
      return {SSL_get_version(ssl_), SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_))};
    }
    if (gs_ == nullptr) return {};
    std::string version = gnutls_protocol_get_name(gnutls_protocol_get_version(gs_));
    if (version.rfind("TLS", 0) == 0) version.insert(3, "v");
    std::string suite = std::string("TLS_") + gnutls_cipher_get_name(gnutls_cipher_get(gs_)) + "_" +
                        gnutls_digest_get_name(gnutls_prf_hash_get(gs_));
    for (char& ch : suite) {
      if (ch == '-') ch = '_';
    }
    return {version, suite};
  }

  void Write(const std::string& s) { Write(s.data(), s.size()); }
  void Write(const char* p, size_t n) {
    while (n > 0) {
      const size_t chunk = std::min<size_t>(n, 1 << 20);
      long w;
      if (ssl_ != nullptr) {
        w = SSL_write(ssl_, p, static_cast<int>(chunk));
      } else if (gs_ != nullptr) {
        do {
          w = gnutls_record_send(gs_, p, chunk);
        } while (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED);
      } else {
        w = ::send(fd_, p, chunk, MSG_NOSIGNAL);
      }
      if (w <= 0) throw Failure{"write failed"};
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  // One line without CRLF.
  std::string ReadLine() {
    for (;;) {
      for (size_t i = rpos_; i + 1 < rlen_; ++i) {
        if (buf_[i] == '\r' && buf_[i + 1] == '\n') {
          std::string line(buf_ + rpos_, i - rpos_);
          rpos_ = i + 2;
          return line;
        }
      }
      if (rpos_ > 0) {
        std::memmove(buf_, buf_ + rpos_, rlen_ - rpos_);
        rlen_ -= rpos_;
        rpos_ = 0;
      }
      if (rlen_ == sizeof buf_) throw Failure{"line too long"};
      long n;
      if (ssl_ != nullptr) {
        n = SSL_read(ssl_, buf_ + rlen_, static_cast<int>(sizeof buf_ - rlen_));
      } else if (gs_ != nullptr) {
        do {
          n = gnutls_record_recv(gs_, buf_ + rlen_, sizeof buf_ - rlen_);
        } while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
      } else {
        n = ::recv(fd_, buf_ + rlen_, sizeof buf_ - rlen_, 0);
      }
      if (n <= 0) throw Failure{"connection closed"};
      rlen_ += static_cast<size_t>(n);
    }
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  gnutls_session_t gs_ = nullptr;
  char buf_[65536];
  size_t rpos_ = 0, rlen_ = 0;
};

int SmtpReply(Conn& c) {
  for (;;) {
    std::string l = c.ReadLine();
    if (l.size() < 3) throw Failure{"short SMTP reply"};
    if (l.size() == 3 || l[3] != '-') return std::atoi(l.substr(0, 3).c_str());
  }
}
void SmtpExpect(Conn& c, int code, const char* what) {
  int got = SmtpReply(c);
  if (got != code)
    throw Failure{std::string(what) + ": expected " + std::to_string(code) + ", got " +
                  std::to_string(got)};
}
void Pop3Ok(Conn& c, const char* what) {
  std::string l = c.ReadLine();
  if (l.rfind("+OK", 0) != 0) throw Failure{std::string(what) + ": " + l.substr(0, 40)};
}
// Multi-line body: returns octets (lines + CRLF, before un-stuffing) and the lines if wanted.
size_t Pop3Multi(Conn& c, std::vector<std::string>* lines) {
  size_t n = 0;
  for (;;) {
    std::string l = c.ReadLine();
    if (l == ".") return n;
    n += l.size() + 2;
    if (lines) lines->push_back(std::move(l));
  }
}

std::string Base64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string MakeMessage(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  std::string line;
  for (int i = 0; i < 76; ++i) line += alphabet[rng() % 63];
  line += "\r\n";
  std::string body;
  while (body.size() < size) body += line;
  body.resize(size - 2);
  body += "\r\n";
  std::string m =
      "From: <sender@example.org>\r\nTo: <bench@bench.test>\r\nSubject: bench\r\n"
      "Message-ID: <" +
      std::to_string(seed) +
      "@example.org>\r\n"
      "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  return m + body + ".\r\n";
}

struct Options {
  std::string mode;
  int port = 0, conc = 1, count = 1;
  size_t size = 1024;
  std::vector<std::string> users;
  std::string auth_pass, pass;
  bool dele = false;
  bool resume = false;
  bool pipelining = false;
  std::string tls = "gnutls";
};

struct ThreadResult {
  std::vector<double> lat;
  std::vector<std::string> errors;
  uint64_t msgs = 0, bytes = 0;
  std::pair<std::string, std::string> tls;
  uint64_t resumed = 0;
  Resumption session;  // --resume: offered on the next connection
};

void SmtpOne(const Options& o, const TlsClient& tls, const std::string& user,
             const std::string& payload, ThreadResult& r) {
  Conn c(o.port);
  SmtpExpect(c, 220, "greeting");
  c.Write("EHLO client.example.org\r\n");
  SmtpExpect(c, 250, "EHLO");
  c.Write("STARTTLS\r\n");
  SmtpExpect(c, 220, "STARTTLS");
  c.StartTls(tls, o.resume ? &r.session : nullptr);
  if (c.Resumed()) r.resumed += 1;
  c.Write("EHLO client.example.org\r\n");
  SmtpExpect(c, 250, "EHLO after TLS");
  if (!o.auth_pass.empty()) {
    c.Write("AUTH PLAIN " + Base64(std::string(1, '\0') + user + '\0' + o.auth_pass) + "\r\n");
    SmtpExpect(c, 235, "AUTH");
  }
  const std::string mail = "MAIL FROM:<sender@example.org>\r\n";
  const std::string rcpt = "RCPT TO:<" + user + "@bench.test>\r\n";
  if (o.pipelining) {
    c.Write(mail + rcpt + "DATA\r\n");
  } else {
    c.Write(mail);
  }
  SmtpExpect(c, 250, "MAIL");
  if (!o.pipelining) c.Write(rcpt);
  SmtpExpect(c, 250, "RCPT");
  if (!o.pipelining) c.Write("DATA\r\n");
  SmtpExpect(c, 354, "DATA");
  c.Write(payload);
  SmtpExpect(c, 250, "end of data");
  if (o.resume) c.SaveSession(r.session);  // TLS 1.3: the ticket came with the replies
  r.msgs += 1;
  r.bytes += payload.size();
  r.tls = c.TlsInfo();
  try {
    c.Write("QUIT\r\n");
    SmtpReply(c);
  } catch (const Failure&) {
  }
}

void Pop3One(const Options& o, const TlsClient& tls, const std::string& user, ThreadResult& r) {
  Conn c(o.port);
  Pop3Ok(c, "greeting");
  c.Write("STLS\r\n");
  Pop3Ok(c, "STLS");
  c.StartTls(tls);
  c.Write("USER " + user + "\r\n");
  Pop3Ok(c, "USER");
  c.Write("PASS " + o.pass + "\r\n");
  Pop3Ok(c, "PASS");
  c.Write("LIST\r\n");
  Pop3Ok(c, "LIST");
  std::vector<std::string> listing;
  Pop3Multi(c, &listing);
  if (o.pipelining) {  // one write: every RETR (and DELE), then QUIT; replies read after it
    std::string batch;
    for (const std::string& l : listing) {
      std::string n = l.substr(0, l.find(' '));
      batch += "RETR " + n + "\r\n";
      if (o.dele) batch += "DELE " + n + "\r\n";
    }
    c.Write(batch + "QUIT\r\n");
    for (size_t i = 0; i < listing.size(); ++i) {
      Pop3Ok(c, "RETR");
      r.bytes += Pop3Multi(c, nullptr);
      r.msgs += 1;
      if (o.dele) Pop3Ok(c, "DELE");
    }
    Pop3Ok(c, "QUIT");
    r.tls = c.TlsInfo();
    return;
  }
  for (const std::string& l : listing) {
    std::string n = l.substr(0, l.find(' '));
    c.Write("RETR " + n + "\r\n");
    Pop3Ok(c, "RETR");
    r.bytes += Pop3Multi(c, nullptr);
    r.msgs += 1;
  }
  if (o.dele) {
    for (const std::string& l : listing) {
      c.Write("DELE " + l.substr(0, l.find(' ')) + "\r\n");
      Pop3Ok(c, "DELE");
    }
  }
  c.Write("QUIT\r\n");
  Pop3Ok(c, "QUIT");  // after DELE: +OK only once the deletions are done
  r.tls = c.TlsInfo();
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream f(path);
  std::string l;
  std::getline(f, l);
  if (l.empty()) {
    std::fprintf(stderr, "om-loadgen: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return l;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    out += ch;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: om-loadgen smtp|pop3 --port P --conc C --count N ... (see source)\n");
    return 2;
  }
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "om-loadgen: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port")
      o.port = std::atoi(next().c_str());
    else if (a == "--conc")
      o.conc = std::atoi(next().c_str());
    else if (a == "--count")
      o.count = std::atoi(next().c_str());
    else if (a == "--size")
      o.size = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--auth-pass-file")
      o.auth_pass = ReadFirstLine(next());
    else if (a == "--pass-file")
      o.pass = ReadFirstLine(next());
    else if (a == "--dele")
      o.dele = true;
    else if (a == "--resume")
      o.resume = true;
    else if (a == "--pipelining")
      o.pipelining = true;
    else if (a == "--tls")
      o.tls = next();
    else if (a == "--users") {
      std::stringstream ss(next());
      std::string u;
      while (std::getline(ss, u, ',')) o.users.push_back(u);
    } else {
      std::fprintf(stderr, "om-loadgen: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if ((o.mode != "smtp" && o.mode != "pop3") || o.port <= 0 || o.conc < 1 || o.users.empty() ||
      o.size < 80 || (o.mode == "pop3" && o.pass.empty()) ||
      (o.tls != "gnutls" && o.tls != "openssl")) {
    std::fprintf(stderr, "om-loadgen: bad arguments\n");
    return 2;
  }
  TlsClient tls;
  tls.gnutls = o.tls == "gnutls";
  if (tls.gnutls) {
    // No trust store and no gnutls_session_set_verify_cert: like SSL_VERIFY_NONE, the chain is
    // not validated (self-signed), but the handshake signature is still checked. One key share,
    // X25519, as OpenSSL's client sends by default (GnuTLS would add a second, P-256).
    // AES-128-GCM first (kSuiteOrder): Postfix and Dovecot follow the client's order by default,
    // onionmaild picks it itself on a CPU with AES instructions, so every server negotiates
    // TLS_AES_128_GCM_SHA256 (the report's TLS column shows it).
    const char* err = nullptr;
    if (gnutls_certificate_allocate_credentials(&tls.cred) != GNUTLS_E_SUCCESS ||
        gnutls_priority_init(&tls.prio,
                             "NORMAL:-GROUP-ALL:+GROUP-X25519:-CIPHER-ALL:+AES-128-GCM:"
                             "+AES-256-GCM:+CHACHA20-POLY1305",
                             &err) != GNUTLS_E_SUCCESS) {
      std::fprintf(stderr, "om-loadgen: GnuTLS set-up failed%s%s\n", err ? " at " : "",
                   err ? err : "");
      return 2;
    }
  } else {
    tls.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tls.ctx, SSL_VERIFY_NONE, nullptr);  // self-signed; same handshake cost
    SSL_CTX_set_session_cache_mode(tls.ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_ciphersuites(tls.ctx, kSuiteOrder) != 1) {
      std::fprintf(stderr, "om-loadgen: OpenSSL cipher suites refused\n");
      return 2;
    }
  }

  std::vector<ThreadResult> results(static_cast<size_t>(o.conc));
  std::vector<std::string> payloads;
  for (int t = 0; t < o.conc; ++t)
    payloads.push_back(MakeMessage(o.size, static_cast<unsigned>(t)));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.conc; ++t) {
    threads.emplace_back([&, t]() {
      ThreadResult& r = results[static_cast<size_t>(t)];
      const int n = o.count / o.conc + (t < o.count % o.conc ? 1 : 0);
      for (int k = 0; k < n; ++k) {
        const std::string& user = o.users[static_cast<size_t>(t + k * o.conc) % o.users.size()];
        auto t0 = std::chrono::steady_clock::now();
        try {
          if (o.mode == "smtp") {
            SmtpOne(o, tls, user, payloads[static_cast<size_t>(t)], r);
          } else {
            Pop3One(o, tls, user, r);
          }
          r.lat.push_back(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        } catch (const Failure& f) {
          r.errors.push_back(f.what);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::pair<std::string, std::string> info;
  std::string out = "{\"threads\": [";
  for (size_t t = 0; t < results.size(); ++t) {
    const ThreadResult& r = results[t];
    if (!r.tls.first.empty()) info = r.tls;
    out += t ? ", {" : "{";
    out += "\"lat\": [";
    for (size_t i = 0; i < r.lat.size(); ++i) out += (i ? ", " : "") + std::to_string(r.lat[i]);
    out += "], \"errors\": [";
    for (size_t i = 0; i < r.errors.size(); ++i) out += (i ? ", " : "") + JsonString(r.errors[i]);
    out += "], \"msgs\": " + std::to_string(r.msgs) + ", \"bytes\": " + std::to_string(r.bytes) +
           ", \"resumed\": " + std::to_string(r.resumed) + "}";
  }
  out += "], \"cpu_s\": " + std::to_string(cpu) + ", \"tls\": ";
  out += info.first.empty() ? "null"
                            : "[" + JsonString(info.first) + ", " + JsonString(info.second) + "]";
  out += ", \"tls_library\": " + JsonString(o.tls);
  out += "}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  results.clear();  // the sessions, before their context
  if (tls.ctx != nullptr) SSL_CTX_free(tls.ctx);
  if (tls.prio != nullptr) gnutls_priority_deinit(tls.prio);
  if (tls.cred != nullptr) gnutls_certificate_free_credentials(tls.cred);
  return 0;
}
