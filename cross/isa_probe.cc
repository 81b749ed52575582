// cross/isa_probe.cc: a CAS, an exchange and a fetch_add, compiled once with
// the preset's flags and once with the other preset's, so ctest shows that
// check_atomics.sh accepts the one and rejects the other (the check can fail).
#include <atomic>

std::atomic<long> pollstorm_isa_probe_word;

long PollstormIsaProbe(long v) {
  long expected = 0;
  pollstorm_isa_probe_word.compare_exchange_strong(expected, v);
  return pollstorm_isa_probe_word.exchange(v) + pollstorm_isa_probe_word.fetch_add(1);
}
