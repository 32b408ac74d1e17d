// One frame's unwind rule, read from the module's .eh_frame: DWARF call frame information
// reduced to the shape nearly every frame of compiled x86-64 code has (CFA = rsp or rbp plus a
// constant, the return address just below it, rbp untouched or saved at a constant offset),
// packed in 32 bits for the walk's cache (cfi_unwind.cpp). Anything else says "give up", and the
// walk hands the stack to libunwind. Runs inside malloc: no allocation, no locks.
#pragma once

#include <stdint.h>

namespace libleak {

// bit 0: entry computed; 1: outermost frame (return address undefined); 2: needs libunwind;
// 3: CFA is rbp-based (else rsp-based); 4: rbp saved at CFA + rbp offset;
// 8..23: CFA offset in bytes; 24..31: rbp offset in 8-byte units, signed.
constexpr uint32_t kRuleValid = 1, kRuleEnd = 2, kRuleGiveUp = 4, kRuleRbpBase = 8, kRuleRbpSaved = 16;
constexpr uint32_t kGiveUp = kRuleValid | kRuleGiveUp;

inline uint32_t cfa_offset(uint32_t r) { return (r >> 8) & 0xffff; }
inline int32_t rbp_offset(uint32_t r) { return int32_t(int8_t(r >> 24)) * 8; }

// The rule for the code at pc (a return address minus one, or a frame's own pc). Looks the module
// up with _dl_find_object (glibc 2.35+: lock-free, made for unwinders), its FDE through the
// sorted table of .eh_frame_hdr, and runs the CIE's and FDE's instructions up to pc.
uint32_t eh_frame_rule(uintptr_t pc);

}  // namespace libleak
