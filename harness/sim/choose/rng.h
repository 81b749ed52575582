// harness/sim/choose/rng.h: the simulator's only sources of randomness, both
// explicitly seeded (never a global RNG).
//
//   SplitMix64   turns one seed into a stream of well-mixed seeds
//   Xoshiro256   xoshiro256** (Blackman & Vigna), the per-execution generator
#pragma once

#include <cstdint>

namespace pollstorm::sim {

struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed = 0) { Seed(seed); }
  void Seed(uint64_t seed) {
    SplitMix64 sm{seed};
    for (uint64_t& w : s_) w = sm.Next();
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Xoshiro256::Below(bound): in [0, bound), bound >= 1 (Lemire's
  // multiply-shift; its bias of < bound/2^64 is irrelevant here).
  uint64_t Below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace pollstorm::sim
