// KdfSlots: bounds how many Argon2id computations run at once. Each one
// holds m_cost (64 MiB by default) of memory, so without a bound N concurrent
// logins would take N x 64 MiB (bench/ measured 520 MiB at 8 clients). With
// one slot per core, logins queue instead, and peak KDF memory is
// slots x m_cost. Scoped use: `KdfSlots::Slot slot(slots);`.
#pragma once

#include <algorithm>
#include <semaphore>
#include <thread>

namespace onionmail::keys {

class KdfSlots {
 public:
  // 0 = one slot per hardware thread.
  explicit KdfSlots(unsigned slots)
      : sem_(static_cast<std::ptrdiff_t>(
            slots != 0 ? slots : std::max(1u, std::thread::hardware_concurrency()))) {}

  class Slot {
   public:
    explicit Slot(KdfSlots& slots) : slots_(slots) { slots_.sem_.acquire(); }
    ~Slot() { slots_.sem_.release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    KdfSlots& slots_;
  };

 private:
  std::counting_semaphore<1024> sem_;
};

}  // namespace onionmail::keys
