// polldesc/tip/tagptr.h: Go's tagged pointers (src/runtime/tagptr.go,
// tagptr_64bit.go), as netpoll_epoll.go uses them for epoll user data: a
// pollDesc address and its fdseq packed into one 64-bit word.
//
// Ported from golang/go tagptr_64bit.go (blob at 0c15d88, the layout current
// Go still ships) for the two architectures pollstorm builds for, amd64 and
// arm64 (both: addrBits = 48).
//
//   tagAlignBits = 9        pointers are 512-byte aligned (tagAlign), so the
//                           low 9 bits carry no information
//   addrBits     = 48       user-space virtual addresses fit in 48 bits
//   tagBits      = 64 - 48 + 9 = 25
//
// packed = ptr << (tagBits - tagAlignBits) | (tag & (1<<tagBits - 1))
#pragma once

#include <cstdint>

namespace pollstorm::tip {

inline constexpr int kTagAlignBits = 9;                      // GO: tagAlignBits
inline constexpr uintptr_t kTagAlign = uintptr_t{1} << kTagAlignBits;  // GO: tagAlign
inline constexpr int kAddrBits = 48;                         // GO: addrBits (amd64, arm64)
inline constexpr int kTagBits = 64 - kAddrBits + kTagAlignBits;  // GO: tagBits = 25
inline constexpr uint64_t kTagMask = (uint64_t{1} << kTagBits) - 1;

using TaggedPointer = uint64_t;  // GO: taggedPointer

// GO: (taggedPointer).pointer
inline void* TaggedPointerPointer(TaggedPointer tp) {
#if defined(__x86_64__)
  // GO: "amd64 systems can place the stack above the VA hole, so we need to
  // sign extend val before unpacking." (arithmetic shift of int64)
  return reinterpret_cast<void*>(static_cast<uintptr_t>(static_cast<int64_t>(tp) >> kTagBits
                                                        << kTagAlignBits));
#else
  return reinterpret_cast<void*>(static_cast<uintptr_t>(tp >> kTagBits << kTagAlignBits));
#endif
}

// GO: (taggedPointer).tag
inline uintptr_t TaggedPointerTag(TaggedPointer tp) { return static_cast<uintptr_t>(tp & kTagMask); }

// GO: taggedPointerPack. Tag bits that do not fit are discarded; a pointer
// that does not survive the round trip is a throw, as in Go. Fatal is the
// caller's Env::Fatal (this header needs no Env).
template <class Env>
TaggedPointer TaggedPointerPack(void* ptr, uintptr_t tag) {
  const TaggedPointer t =
      static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ptr)) << (kTagBits - kTagAlignBits) |
      static_cast<uint64_t>(tag & kTagMask);
  if (TaggedPointerPointer(t) != ptr || TaggedPointerTag(t) != tag) Env::Fatal("taggedPointerPack");
  return t;
}

}  // namespace pollstorm::tip
