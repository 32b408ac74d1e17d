// Fast stack walks from .eh_frame rules; see cfi_unwind.h. Runs inside malloc.
//
// A rule is found by _dl_find_object (glibc 2.35+: lock-free, made for unwinders) giving the
// module's .eh_frame_hdr, a binary search of its sorted table for the FDE, and a run of the CIE's
// and FDE's call-frame instructions up to the address. Rules are cached in a shared 4-way
// set-associative table: each entry is two words (address, rule | check). A reader accepts an
// entry only when its check matches the address, so two threads filling one way at once can
// leave a stale pair but never one that is believed.
#include "stacks/cfi_unwind.h"

#include <dlfcn.h>

#include <atomic>

#include "base/sys.h"

namespace libleak {

namespace {

// ---- rules -------------------------------------------------------------------------------------
// bit 0: entry computed; 1: outermost frame (return address undefined); 2: needs libunwind;
// 3: CFA is rbp-based (else rsp-based); 4: rbp saved at CFA + rbp offset;
// 8..23: CFA offset in bytes; 24..31: rbp offset in 8-byte units, signed.
constexpr uint32_t kRuleValid = 1, kRuleEnd = 2, kRuleGiveUp = 4, kRuleRbpBase = 8, kRuleRbpSaved = 16;
constexpr uint32_t kGiveUp = kRuleValid | kRuleGiveUp;
constexpr uintptr_t kMaxFrameBytes = 1 << 20;  // a larger step means a wrong rule: let libunwind try

inline uint32_t cfa_offset(uint32_t r) { return (r >> 8) & 0xffff; }
inline int32_t rbp_offset(uint32_t r) { return int32_t(int8_t(r >> 24)) * 8; }

// DWARF register numbers on x86-64.
constexpr uint32_t kRegRbp = 6, kRegRsp = 7, kRegRa = 16;

// ---- reading .eh_frame -------------------------------------------------------------------------
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;

  uint8_t u8() {
    if (p >= end) return ok = false, 0;
    return *p++;
  }
  template <class T>
  T fixed() {
    if (end - p < ptrdiff_t(sizeof(T))) return ok = false, T(0);
    T v;
    __builtin_memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  uint64_t uleb() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return ok = false, 0;
  }
  int64_t sleb() {
    int64_t v = 0;
    int shift = 0;
    uint8_t b;
    do {
      b = u8();
      if (shift < 64) v |= int64_t(b & 0x7f) << shift;
      shift += 7;
    } while ((b & 0x80) && ok);
    if (shift < 64 && (b & 0x40)) v |= -(int64_t(1) << shift);
    return v;
  }
  // A pointer in DW_EH_PE encoding; `data` is the base for datarel (the .eh_frame_hdr).
  uint64_t encoded(uint8_t enc, const uint8_t* data = nullptr) {
    if (enc == 0xff) return 0;  // omit
    const uint8_t* at = p;
    uint64_t v;
    switch (enc & 0x0f) {
      case 0x00: v = fixed<uint64_t>(); break;
      case 0x01: v = uleb(); break;
      case 0x02: v = fixed<uint16_t>(); break;
      case 0x03: v = fixed<uint32_t>(); break;
      case 0x04: v = fixed<uint64_t>(); break;
      case 0x09: v = uint64_t(sleb()); break;
      case 0x0a: v = uint64_t(int64_t(fixed<int16_t>())); break;
      case 0x0b: v = uint64_t(int64_t(fixed<int32_t>())); break;
      case 0x0c: v = fixed<uint64_t>(); break;
      default: return ok = false, 0;
    }
    switch (enc & 0x70) {
      case 0x00: break;
      case 0x10: v += reinterpret_cast<uintptr_t>(at); break;  // pcrel
      case 0x30:
        if (!data) return ok = false, 0;
        v += reinterpret_cast<uintptr_t>(data);  // datarel
        break;
      default: return ok = false, 0;
    }
    return v;  // DW_EH_PE_indirect (0x80) only appears for personality pointers, which are skipped
  }
};

// How a register is recovered in the caller: unchanged, saved at CFA + offset, or anything else.
enum How : uint8_t { kSame, kAtOffset, kOther, kUndefined };
struct RegRule {
  How how = kSame;
  int64_t offset = 0;
};
struct Row {
  uint32_t cfa_reg = kRegRsp;
  int64_t cfa_off = 8;
  bool cfa_expr = false;
  RegRule rbp, ra;
};

struct Cie {
  uint64_t code_align = 1;
  int64_t data_align = -8;
  uint32_t ra_reg = kRegRa;
  uint8_t fde_enc = 0;
  bool has_z = false;
  bool signal_frame = false;
  const uint8_t* insns = nullptr;
  const uint8_t* insns_end = nullptr;
};

bool parse_cie(const uint8_t* cie, Cie* out) {
  uint32_t len = 0;
  __builtin_memcpy(&len, cie, 4);
  if (len == 0 || len == 0xffffffff) return false;
  Reader r{cie + 4, cie + 4 + len};
  if (r.fixed<uint32_t>() != 0) return false;  // a CIE's id is 0 in .eh_frame
  uint8_t version = r.u8();
  if (version != 1 && version != 3) return false;
  const char* aug = reinterpret_cast<const char*>(r.p);
  while (r.u8() && r.ok) {
  }
  out->code_align = r.uleb();
  out->data_align = r.sleb();
  out->ra_reg = version == 1 ? r.u8() : uint32_t(r.uleb());
  const uint8_t* after_aug = nullptr;
  for (const char* a = aug; *a && r.ok; ++a) {
    if (*a == 'z') {
      out->has_z = true;
      uint64_t n = r.uleb();
      after_aug = r.p + n;
    } else if (*a == 'R') {
      out->fde_enc = r.u8();
    } else if (*a == 'L') {
      r.u8();
    } else if (*a == 'P') {
      uint8_t enc = r.u8();
      r.encoded(enc & 0x7f);
    } else if (*a == 'S') {
      out->signal_frame = true;
    } else if (after_aug) {
      break;  // unknown augmentation: its data is skipped through 'z'
    } else {
      return false;  // unknown augmentation without 'z': cannot find the instructions
    }
  }
  if (after_aug) r.p = after_aug;
  out->insns = r.p;
  out->insns_end = r.end;
  return r.ok && out->ra_reg == kRegRa;
}

// Runs call-frame instructions until the row for `pc` is complete (loc > pc) or they end.
bool run_cfa(const uint8_t* p, const uint8_t* end, const Cie& cie, uint64_t* loc, uint64_t pc, Row* row,
             const Row& initial) {
  Reader r{p, end};
  Row stack[8];
  int depth = 0;
  auto reg_rule = [&](uint32_t reg) -> RegRule* {
    if (reg == kRegRbp) return &row->rbp;
    if (reg == kRegRa) return &row->ra;
    return nullptr;
  };
  auto set = [&](uint32_t reg, How how, int64_t off) {
    if (reg == kRegRsp && how != kSame) return false;  // rsp is the CFA by definition
    if (RegRule* rr = reg_rule(reg)) *rr = RegRule{how, off};
    return true;
  };
  auto advance = [&](uint64_t delta) {
    *loc += delta * cie.code_align;
    return *loc <= pc;
  };
  while (r.p < r.end && r.ok) {
    uint8_t op = r.u8();
    uint8_t hi = op & 0xc0, lo = op & 0x3f;
    if (hi == 0x40) {
      if (!advance(lo)) return true;
      continue;
    }
    if (hi == 0x80) {
      if (!set(lo, kAtOffset, int64_t(r.uleb()) * cie.data_align)) return false;
      continue;
    }
    if (hi == 0xc0) {
      if (RegRule* rr = reg_rule(lo)) *rr = lo == kRegRbp ? initial.rbp : initial.ra;
      continue;
    }
    switch (op) {
      case 0x00: break;  // nop
      case 0x01: {       // set_loc
        uint64_t to = r.encoded(cie.fde_enc);
        if (to > pc) return true;
        *loc = to;
        break;
      }
      case 0x02: if (!advance(r.u8())) return true; break;
      case 0x03: if (!advance(r.fixed<uint16_t>())) return true; break;
      case 0x04: if (!advance(r.fixed<uint32_t>())) return true; break;
      case 0x05: {  // offset_extended
        uint32_t reg = uint32_t(r.uleb());
        if (!set(reg, kAtOffset, int64_t(r.uleb()) * cie.data_align)) return false;
        break;
      }
      case 0x06: {  // restore_extended
        uint32_t reg = uint32_t(r.uleb());
        if (RegRule* rr = reg_rule(reg)) *rr = reg == kRegRbp ? initial.rbp : initial.ra;
        break;
      }
      case 0x07: if (!set(uint32_t(r.uleb()), kUndefined, 0)) return false; break;
      case 0x08: set(uint32_t(r.uleb()), kSame, 0); break;
      case 0x09: {  // register
        uint32_t reg = uint32_t(r.uleb());
        r.uleb();
        if (!set(reg, kOther, 0)) return false;
        break;
      }
      case 0x0a:  // remember_state
        if (depth == 8) return false;
        stack[depth++] = *row;
        break;
      case 0x0b:  // restore_state: the CFA rule too, as GCC's mid-function epilogues expect
        if (depth == 0) return false;
        *row = stack[--depth];
        break;
      case 0x0c:  // def_cfa
        row->cfa_reg = uint32_t(r.uleb());
        row->cfa_off = int64_t(r.uleb());
        row->cfa_expr = false;
        break;
      case 0x0d: row->cfa_reg = uint32_t(r.uleb()); row->cfa_expr = false; break;
      case 0x0e: row->cfa_off = int64_t(r.uleb()); break;
      case 0x0f: {  // def_cfa_expression
        uint64_t n = r.uleb();
        r.p += n;
        row->cfa_expr = true;
        break;
      }
      case 0x10: case 0x16: {  // expression, val_expression
        uint32_t reg = uint32_t(r.uleb());
        uint64_t n = r.uleb();
        r.p += n;
        if (!set(reg, kOther, 0)) return false;
        break;
      }
      case 0x11: {  // offset_extended_sf
        uint32_t reg = uint32_t(r.uleb());
        if (!set(reg, kAtOffset, r.sleb() * cie.data_align)) return false;
        break;
      }
      case 0x12:  // def_cfa_sf
        row->cfa_reg = uint32_t(r.uleb());
        row->cfa_off = r.sleb() * cie.data_align;
        row->cfa_expr = false;
        break;
      case 0x13: row->cfa_off = r.sleb() * cie.data_align; break;
      case 0x14: case 0x15: {  // val_offset, val_offset_sf
        uint32_t reg = uint32_t(r.uleb());
        if (op == 0x14) r.uleb(); else r.sleb();
        if (!set(reg, kOther, 0)) return false;
        break;
      }
      case 0x2e: r.uleb(); break;  // GNU_args_size
      case 0x2f: {                 // GNU_negative_offset_extended
        uint32_t reg = uint32_t(r.uleb());
        if (!set(reg, kAtOffset, -int64_t(r.uleb()) * cie.data_align)) return false;
        break;
      }
      default: return false;
    }
  }
  return r.ok;
}

// The FDE covering pc in the module whose .eh_frame_hdr is `hdr`, or nullptr.
const uint8_t* find_fde(const uint8_t* hdr, uintptr_t pc) {
  if (hdr[0] != 1 || hdr[3] != 0x3b) return nullptr;  // version 1, table of datarel sdata4 pairs
  Reader r{hdr + 4, hdr + 4 + 16};
  r.encoded(hdr[1], hdr);  // eh_frame_ptr
  uint64_t count = r.encoded(hdr[2], hdr);
  if (!r.ok || count == 0) return nullptr;
  const int32_t* table = reinterpret_cast<const int32_t*>(r.p);
  auto base = reinterpret_cast<intptr_t>(hdr);
  uint64_t lo = 0, hi = count;  // find the last entry with start <= pc
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (uintptr_t(base + table[2 * mid]) <= pc) lo = mid;
    else hi = mid;
  }
  if (uintptr_t(base + table[2 * lo]) > pc) return nullptr;
  return reinterpret_cast<const uint8_t*>(base + table[2 * lo + 1]);
}

uint32_t compute_rule(uintptr_t pc) {
  dl_find_object found;
  if (_dl_find_object(reinterpret_cast<void*>(pc), &found) != 0 || !found.dlfo_eh_frame) return kGiveUp;
  const uint8_t* fde = find_fde(static_cast<const uint8_t*>(found.dlfo_eh_frame), pc);
  if (!fde) return kGiveUp;
  uint32_t len = 0, cie_delta = 0;
  __builtin_memcpy(&len, fde, 4);
  __builtin_memcpy(&cie_delta, fde + 4, 4);
  if (len == 0 || len == 0xffffffff || cie_delta == 0) return kGiveUp;
  Cie cie;
  if (!parse_cie(fde + 4 - cie_delta, &cie) || cie.signal_frame) return kGiveUp;
  Reader r{fde + 8, fde + 4 + len};
  uint64_t begin = r.encoded(cie.fde_enc);
  uint64_t range = r.encoded(cie.fde_enc & 0x0f);
  if (cie.has_z) r.p += r.uleb();
  if (!r.ok || pc < begin || pc - begin >= range) return kGiveUp;
  Row initial;
  uint64_t loc = begin;
  if (!run_cfa(cie.insns, cie.insns_end, cie, &loc, ~uint64_t(0), &initial, initial)) return kGiveUp;
  Row row = initial;
  loc = begin;
  if (!run_cfa(r.p, r.end, cie, &loc, pc, &row, initial)) return kGiveUp;

  if (row.ra.how == kUndefined) return kRuleValid | kRuleEnd;
  if (row.cfa_expr || (row.cfa_reg != kRegRsp && row.cfa_reg != kRegRbp)) return kGiveUp;
  if (row.cfa_off < 8 || row.cfa_off > 0xffff) return kGiveUp;
  if (row.ra.how != kAtOffset || row.ra.offset != -8) return kGiveUp;
  uint32_t rule = kRuleValid | (uint32_t(row.cfa_off) << 8) | (row.cfa_reg == kRegRbp ? kRuleRbpBase : 0);
  if (row.rbp.how == kAtOffset) {
    int64_t units = row.rbp.offset / 8;
    if (row.rbp.offset % 8 || units < -128 || units > 127 || row.rbp.offset >= 0) return kGiveUp;
    rule |= kRuleRbpSaved | (uint32_t(uint8_t(int8_t(units))) << 24);
  } else if (row.rbp.how != kSame) {
    return kGiveUp;
  }
  return rule;
}

// ---- the cache ---------------------------------------------------------------------------------
struct Entry {
  std::atomic<uint64_t> pc;
  std::atomic<uint64_t> rule;  // check << 32 | rule
};
constexpr uint32_t kWays = 4;  // one 64-byte line per set
constexpr uint32_t kSetBits = 13;
Entry* g_cache = nullptr;
std::atomic<uint64_t> g_fallbacks{0};
std::atomic<uint64_t> g_rules_computed{0};

inline uint64_t check_of(uintptr_t pc) { return (uint64_t(pc) * 0xD6E8FEB86659FD93ull) >> 32; }

uint32_t rule_for(uintptr_t pc) {
  Entry* set = g_cache + (((uint64_t(pc) * 0x9E3779B97F4A7C15ull) >> (64 - kSetBits)) * kWays);
  uint64_t check = check_of(pc);
  for (uint32_t w = 0; w < kWays; ++w) {
    // Acquire: the rule word stored before this address is visible.
    if (set[w].pc.load(std::memory_order_acquire) != pc) continue;
    uint64_t r = set[w].rule.load(std::memory_order_relaxed);
    if ((r >> 32) == check) return uint32_t(r);
  }
  uint32_t rule = compute_rule(pc);
  g_rules_computed.fetch_add(1, std::memory_order_relaxed);
  uint32_t way = kWays;
  for (uint32_t w = 0; w < kWays && way == kWays; ++w)
    if (set[w].pc.load(std::memory_order_relaxed) == 0) way = w;
  if (way == kWays) way = uint32_t(check) & (kWays - 1);
  set[way].pc.store(0, std::memory_order_relaxed);
  set[way].rule.store((check << 32) | rule, std::memory_order_relaxed);
  // Release: a reader that sees the address sees the rule stored above.
  set[way].pc.store(pc, std::memory_order_release);
  return rule;
}

// Each thread's own direct-mapped front for the shared cache. A thread's walks revisit the same
// few dozen return addresses, and a hit here is one multiply and one compare in memory no other
// thread writes, where the shared set costs two hashes and a way search (C bench: rule lookups
// were 9% of the run). An entry belongs to one generation of the shared cache: forgetting it
// (cfi_unwind_forget) starts a new one, which leaves every thread's entries stale at once.
struct NearRule {
  uintptr_t pc;
  uint32_t rule;
  uint32_t gen;
};
constexpr uint32_t kNearBits = 8;
LIBLEAK_TLS NearRule t_near[1u << kNearBits];
std::atomic<uint32_t> g_generation{1};  // never 0: zeroed entries are never current

inline uint32_t near_rule_for(uintptr_t pc, uint32_t gen) {
  NearRule& e = t_near[(uint64_t(pc) * 0x9E3779B97F4A7C15ull) >> (64 - kNearBits)];
  if (e.pc == pc && e.gen == gen) return e.rule;
  uint32_t rule = rule_for(pc);
  // A signal handler's walk in this thread can only start between these stores if it is not
  // stopped by the hook guard; the address goes last so it never pairs with another rule.
  e.pc = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  e.rule = rule;
  e.gen = gen;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  e.pc = pc;
  return rule;
}

}  // namespace

bool cfi_unwind_init() {
  if (!g_cache) g_cache = static_cast<Entry*>(sys_map(sizeof(Entry) * kWays << kSetBits));
  return g_cache != nullptr;
}

void cfi_unwind_forget() {
  if (!g_cache) return;
  for (uint64_t i = 0; i < uint64_t(kWays) << kSetBits; ++i) g_cache[i].pc.store(0, std::memory_order_relaxed);
  // After the shared cache is empty: a walk that sees the new generation finds no old rule there.
  uint32_t next = g_generation.load(std::memory_order_relaxed) + 1;
  g_generation.store(next ? next : 1, std::memory_order_release);
}

uint64_t cfi_unwind_fallbacks() { return g_fallbacks.load(std::memory_order_relaxed); }
uint64_t cfi_unwind_rules_computed() { return g_rules_computed.load(std::memory_order_relaxed); }

namespace {
// The walk from a frame at code address `lookup` (its pc, or a return address minus one) with
// registers sp and bp; out[0, n) already holds what the caller found.
__attribute__((always_inline)) inline int walk(uintptr_t lookup, uintptr_t sp, uintptr_t bp, uintptr_t* out, int n,
                                               int max, uintptr_t stop_lo, uintptr_t stop_hi) {
  uint32_t gen = g_generation.load(std::memory_order_acquire);
  while (n < max) {
    uint32_t r = near_rule_for(lookup, gen);
    if (r & kRuleGiveUp) break;
    if (r & kRuleEnd) return n;
    uintptr_t cfa = ((r & kRuleRbpBase) ? bp : sp) + cfa_offset(r);
    if (cfa < sp + 8 || cfa - sp > kMaxFrameBytes) break;
    if (r & kRuleRbpSaved) {
      uintptr_t at = cfa + uintptr_t(intptr_t(rbp_offset(r)));
      if (at < sp) break;
      bp = *reinterpret_cast<const uintptr_t*>(at);
    }
    uintptr_t ip = *reinterpret_cast<const uintptr_t*>(cfa - 8);
    sp = cfa;
    if (ip == 0) return n;
    out[n++] = ip;
    lookup = ip - 1;  // return addresses are looked up one byte back, inside the call
    if (lookup - stop_lo < stop_hi - stop_lo) return n;
  }
  if (n == max) return n;
  g_fallbacks.fetch_add(1, std::memory_order_relaxed);
  return -1;
}
}  // namespace

LIBLEAK_NOINLINE int cfi_backtrace(uintptr_t* out, int max, uintptr_t stop_lo, uintptr_t stop_hi) {
  if (!g_cache) return -1;
  uintptr_t ip, sp, bp;
  // This function's own address and registers at one instruction: the walk starts from a state
  // its unwind rules describe exactly.
  asm volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(ip), "=r"(sp), "=r"(bp));
  return walk(ip, sp, bp, out, 0, max, stop_lo, stop_hi);
}

int cfi_backtrace_from(const CallerFrame& from, uintptr_t* out, int max, uintptr_t stop_lo, uintptr_t stop_hi) {
  if (!g_cache || max <= 0 || from.ip == 0) return -1;
  out[0] = from.ip;
  if (from.ip - 1 - stop_lo < stop_hi - stop_lo) return 1;
  return walk(from.ip - 1, from.sp, from.bp, out, 1, max, stop_lo, stop_hi);
}

}  // namespace libleak
