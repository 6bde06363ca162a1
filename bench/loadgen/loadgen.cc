// om-loadgen: the SMTP and POP3 load generator of bench/run.sh (driven by bench/loadgen.py).
//
// C client threads (default 1), each running a bounded loop of sessions, so that the client is
// not the bottleneck (it needs ~0.3 ms of CPU per message; the Python one needed 1.6-4.3 ms).
// Loopback only. Prints one JSON document on stdout:
//   {"threads": [{"lat": [seconds...], "errors": ["..."], "msgs": N, "bytes": N}...],
//    "cpu_s": client CPU seconds, "tls": ["TLSv1.3", "TLS_AES_256_GCM_SHA384"]}
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
#include <arpa/inet.h>
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

struct Failure {
  std::string what;
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
    ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void StartTls(SSL_CTX* ctx, SSL_SESSION* resume = nullptr) {
    if (rpos_ != rlen_) throw Failure{"data before TLS"};
    rpos_ = rlen_ = 0;
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    if (resume != nullptr) SSL_set_session(ssl_, resume);
    if (SSL_connect(ssl_) != 1) throw Failure{"TLS handshake failed"};
  }
  bool Resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }
  // The session to offer next time (a new reference), or null.
  SSL_SESSION* Session() const { return ssl_ != nullptr ? SSL_get1_session(ssl_) : nullptr; }
  std::pair<std::string, std::string> TlsInfo() const {
    if (ssl_ == nullptr) return {};
    return {SSL_get_version(ssl_), SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_))};
  }

  void Write(const std::string& s) { Write(s.data(), s.size()); }
  void Write(const char* p, size_t n) {
    while (n > 0) {
      int w = ssl_ ? SSL_write(ssl_, p, static_cast<int>(std::min<size_t>(n, 1 << 20)))
                   : static_cast<int>(::send(fd_, p, n, MSG_NOSIGNAL));
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
      int n = ssl_ ? SSL_read(ssl_, buf_ + rlen_, static_cast<int>(sizeof buf_ - rlen_))
                   : static_cast<int>(::recv(fd_, buf_ + rlen_, sizeof buf_ - rlen_, 0));
      if (n <= 0) throw Failure{"connection closed"};
      rlen_ += static_cast<size_t>(n);
    }
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
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
  if (got != code) throw Failure{std::string(what) + ": expected " + std::to_string(code) +
                                 ", got " + std::to_string(got)};
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
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
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
      "Message-ID: <" + std::to_string(seed) + "@example.org>\r\n"
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
};

struct ThreadResult {
  std::vector<double> lat;
  std::vector<std::string> errors;
  uint64_t msgs = 0, bytes = 0;
  std::pair<std::string, std::string> tls;
  uint64_t resumed = 0;
  SSL_SESSION* session = nullptr;  // --resume: offered on the next connection
};

void SmtpOne(const Options& o, SSL_CTX* ctx, const std::string& user, const std::string& payload,
             ThreadResult& r) {
  Conn c(o.port);
  SmtpExpect(c, 220, "greeting");
  c.Write("EHLO client.example.org\r\n");
  SmtpExpect(c, 250, "EHLO");
  c.Write("STARTTLS\r\n");
  SmtpExpect(c, 220, "STARTTLS");
  c.StartTls(ctx, o.resume ? r.session : nullptr);
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
  if (o.resume) {  // TLS 1.3: the ticket came after the handshake, read with the replies
    if (r.session != nullptr) SSL_SESSION_free(r.session);
    r.session = c.Session();
  }
  r.msgs += 1;
  r.bytes += payload.size();
  r.tls = c.TlsInfo();
  try {
    c.Write("QUIT\r\n");
    SmtpReply(c);
  } catch (const Failure&) {
  }
}

void Pop3One(const Options& o, SSL_CTX* ctx, const std::string& user, ThreadResult& r) {
  Conn c(o.port);
  Pop3Ok(c, "greeting");
  c.Write("STLS\r\n");
  Pop3Ok(c, "STLS");
  c.StartTls(ctx);
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
    std::fprintf(stderr, "usage: om-loadgen smtp|pop3 --port P --conc C --count N ... (see source)\n");
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
    if (a == "--port") o.port = std::atoi(next().c_str());
    else if (a == "--conc") o.conc = std::atoi(next().c_str());
    else if (a == "--count") o.count = std::atoi(next().c_str());
    else if (a == "--size") o.size = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--auth-pass-file") o.auth_pass = ReadFirstLine(next());
    else if (a == "--pass-file") o.pass = ReadFirstLine(next());
    else if (a == "--dele") o.dele = true;
    else if (a == "--resume") o.resume = true;
    else if (a == "--pipelining") o.pipelining = true;
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
      o.size < 80 || (o.mode == "pop3" && o.pass.empty())) {
    std::fprintf(stderr, "om-loadgen: bad arguments\n");
    return 2;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // self-signed; same handshake cost
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  std::vector<ThreadResult> results(static_cast<size_t>(o.conc));
  std::vector<std::string> payloads;
  for (int t = 0; t < o.conc; ++t) payloads.push_back(MakeMessage(o.size, static_cast<unsigned>(t)));
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
            SmtpOne(o, ctx, user, payloads[static_cast<size_t>(t)], r);
          } else {
            Pop3One(o, ctx, user, r);
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
  std::pair<std::string, std::string> tls;
  std::string out = "{\"threads\": [";
  for (size_t t = 0; t < results.size(); ++t) {
    const ThreadResult& r = results[t];
    if (!r.tls.first.empty()) tls = r.tls;
    out += t ? ", {" : "{";
    out += "\"lat\": [";
    for (size_t i = 0; i < r.lat.size(); ++i) out += (i ? ", " : "") + std::to_string(r.lat[i]);
    out += "], \"errors\": [";
    for (size_t i = 0; i < r.errors.size(); ++i) out += (i ? ", " : "") + JsonString(r.errors[i]);
    out += "], \"msgs\": " + std::to_string(r.msgs) + ", \"bytes\": " + std::to_string(r.bytes) +
           ", \"resumed\": " + std::to_string(r.resumed) + "}";
  }
  out += "], \"cpu_s\": " + std::to_string(cpu) + ", \"tls\": ";
  out += tls.first.empty() ? "null" : "[" + JsonString(tls.first) + ", " + JsonString(tls.second) + "]";
  out += "}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  for (ThreadResult& r : results) {
    if (r.session != nullptr) SSL_SESSION_free(r.session);
  }
  SSL_CTX_free(ctx);
  return 0;
}
