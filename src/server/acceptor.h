// Acceptor: the accept loop of one listener. Each accepted connection runs
// in its own thread (a session is sequential and blocking with deadlines; a
// slow client holds only its own thread). At most `max_connections` sessions
// run at once; a connection over the limit gets `busy_reply` and is closed.
//
// Contract: Run() returns when `stop` becomes true (checked at least every
// 500 ms). The handler owns the fd it is given and must close it, and learns
// whether the client connected from loopback (127.0.0.0/8, ::1 or
// ::ffff:127.0.0.0/104: Tor's onion service, a local program) and nothing
// else of its address. Sessions still running when Run() returns keep
// running until they end.
//
// With `outside.limits` set (an enter gateway), a client that is not on
// loopback must also get a slot from those limits (server/client_limits.h);
// one that does not gets `outside.busy_reply` and is closed, and the log
// says which limit refused it, not the address.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct sockaddr_storage;

#include "base/thread_reuser.h"
#include "server/client_limits.h"

namespace onionmail::server {

class Acceptor {
 public:
  using Handler = std::function<void(int fd, const std::string& tag, bool from_loopback)>;
  struct OutsideClients {
    std::shared_ptr<ClientLimits> limits;  // null: no limits of their own
    std::string busy_reply;                // sent when they refuse a client
  };

  Acceptor(std::string name, int listen_fd, uint32_t max_connections, std::string busy_reply,
           Handler handler, OutsideClients outside = {});
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void Run(const std::atomic<bool>& stop);
  uint32_t active() const { return active_->load(); }

  // Whether `addr` (of `len` bytes, from accept) is a loopback address.
  static bool IsLoopback(const struct sockaddr_storage& addr, size_t len);

 private:
  std::string name_;
  int listen_fd_;
  uint32_t max_connections_;
  std::string busy_reply_;
  Handler handler_;
  OutsideClients outside_;
  std::shared_ptr<std::atomic<uint32_t>> active_;
  ThreadReuser connection_threads_;  // one thread per connection, reused
  uint64_t next_id_ = 1;
};

}  // namespace onionmail::server
