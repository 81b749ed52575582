// polldesc/variants.h: the shapes of pollDesc, as types: three historical
// ones and Go's current code (tip).
//
//   Legacy  before Go commit 1b072b3: rg/wg read and written plainly in
//           netpollblock, netpollunblock, pollOpen, pollClose and pollReset
//           (the seed diff's minus lines). #48925.
//   Seed    exactly commit 1b072b3: rg/wg accessed atomically everywhere;
//           closing, rd, wd and everr still plain lock-free fields (its
//           TODO(golang.org/issue/49008)). #45211.
//   Fixed   the audit done: every field touched without pd.lock is an atomic,
//           each order justified in poll_desc.h. The default.
//
// A variant is a policy type; PollDesc<Env, Variant> switches field types on
// it (never behaviour hooks). ForVariant() maps a name to the type so every
// tool can take --variant NAME.
#pragma once

#include <array>
#include <string_view>
#include <type_traits>

namespace pollstorm {

struct Legacy {
  static constexpr std::string_view kName = "legacy";
  static constexpr bool kAtomicSlots = false;  // rg/wg plain at the minus lines
  static constexpr bool kAtomicInfo = false;   // closing/rd/wd/everr plain
};

struct Seed {
  static constexpr std::string_view kName = "seed";
  static constexpr bool kAtomicSlots = true;
  static constexpr bool kAtomicInfo = false;
};

struct Fixed {
  static constexpr std::string_view kName = "fixed";
  static constexpr bool kAtomicSlots = true;
  static constexpr bool kAtomicInfo = true;
};

// Tip: Go's netpoll as it ships today (polldesc/tip/netpoll_tip.h): a
// partial specialisation PollDesc<Env, Tip> / PollServer<Env, Tip>, because
// its layout (the packed atomicInfo word, fdseq, rrun/wrun) is not Fixed's.
struct Tip {
  static constexpr std::string_view kName = "tip";
  static constexpr bool kAtomicSlots = true;
  static constexpr bool kAtomicInfo = true;
};

inline constexpr std::array<std::string_view, 4> kVariantNames = {
    Legacy::kName, Seed::kName, Fixed::kName, Tip::kName};

inline constexpr std::string_view kDefaultVariant = Fixed::kName;

// ForVariant(name, f): calls f(std::type_identity<V>{}) for the variant named
// `name` and returns true, or returns false if no variant has that name.
template <class F>
bool ForVariant(std::string_view name, F&& f) {
  if (name == Legacy::kName) {
    f(std::type_identity<Legacy>{});
  } else if (name == Seed::kName) {
    f(std::type_identity<Seed>{});
  } else if (name == Fixed::kName) {
    f(std::type_identity<Fixed>{});
  } else if (name == Tip::kName) {
    f(std::type_identity<Tip>{});
  } else {
    return false;
  }
  return true;
}

// "legacy, seed, fixed": for usage messages.
inline constexpr std::string_view kVariantList = "legacy, seed, fixed, tip";

}  // namespace pollstorm
