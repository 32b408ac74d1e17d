// Reading .eh_frame into the walk's 32-bit rules; see eh_frame.h. Runs inside malloc.
#include "stacks/eh_frame.h"

#include <dlfcn.h>
#include <stddef.h>

namespace libleak {

namespace {

// DWARF register numbers on x86-64.
constexpr uint32_t kRegRbp = 6, kRegRsp = 7, kRegRa = 16;

// DWARF call frame instructions (DWARF 5 section 6.4.2, and two GNU extensions).
enum DwCfa : uint8_t {
  kCfaNop = 0x00,
  kCfaSetLoc = 0x01,
  kCfaAdvanceLoc1 = 0x02,
  kCfaAdvanceLoc2 = 0x03,
  kCfaAdvanceLoc4 = 0x04,
  kCfaOffsetExtended = 0x05,
  kCfaRestoreExtended = 0x06,
  kCfaUndefined = 0x07,
  kCfaSameValue = 0x08,
  kCfaRegister = 0x09,
  kCfaRememberState = 0x0a,
  kCfaRestoreState = 0x0b,
  kCfaDefCfa = 0x0c,
  kCfaDefCfaRegister = 0x0d,
  kCfaDefCfaOffset = 0x0e,
  kCfaDefCfaExpression = 0x0f,
  kCfaExpression = 0x10,
  kCfaOffsetExtendedSf = 0x11,
  kCfaDefCfaSf = 0x12,
  kCfaDefCfaOffsetSf = 0x13,
  kCfaValOffset = 0x14,
  kCfaValOffsetSf = 0x15,
  kCfaValExpression = 0x16,
  kCfaGnuArgsSize = 0x2e,
  kCfaGnuNegativeOffsetExtended = 0x2f,
  // These three keep their operand in the low six bits.
  kCfaAdvanceLoc = 0x40,
  kCfaOffset = 0x80,
  kCfaRestore = 0xc0,
};
constexpr uint8_t kCfaHighMask = 0xc0;

// DW_EH_PE pointer encodings of .eh_frame and .eh_frame_hdr: a format in the low four bits, how
// to apply it in the next three.
enum DwEhPe : uint8_t {
  kPeAbsPtr = 0x00,
  kPeUleb128 = 0x01,
  kPeUdata2 = 0x02,
  kPeUdata4 = 0x03,
  kPeUdata8 = 0x04,
  kPeSleb128 = 0x09,
  kPeSdata2 = 0x0a,
  kPeSdata4 = 0x0b,
  kPeSdata8 = 0x0c,
  kPeAbsolute = 0x00,
  kPePcRel = 0x10,
  kPeDataRel = 0x30,
  kPeOmit = 0xff,
};
constexpr uint8_t kPeFormatMask = 0x0f, kPeApplicationMask = 0x70;

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
    if (enc == kPeOmit) return 0;
    const uint8_t* at = p;
    uint64_t v;
    switch (enc & kPeFormatMask) {
      case kPeAbsPtr: v = fixed<uint64_t>(); break;
      case kPeUleb128: v = uleb(); break;
      case kPeUdata2: v = fixed<uint16_t>(); break;
      case kPeUdata4: v = fixed<uint32_t>(); break;
      case kPeUdata8: v = fixed<uint64_t>(); break;
      case kPeSleb128: v = uint64_t(sleb()); break;
      case kPeSdata2: v = uint64_t(int64_t(fixed<int16_t>())); break;
      case kPeSdata4: v = uint64_t(int64_t(fixed<int32_t>())); break;
      case kPeSdata8: v = fixed<uint64_t>(); break;
      default: return ok = false, 0;
    }
    switch (enc & kPeApplicationMask) {
      case kPeAbsolute: break;
      case kPePcRel: v += reinterpret_cast<uintptr_t>(at); break;
      case kPeDataRel:
        if (!data) return ok = false, 0;
        v += reinterpret_cast<uintptr_t>(data);
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
      r.encoded(enc & ~0x80);  // the personality routine, through DW_EH_PE_indirect: skipped
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
    uint8_t hi = op & kCfaHighMask, lo = op & ~kCfaHighMask;
    if (hi == kCfaAdvanceLoc) {
      if (!advance(lo)) return true;
      continue;
    }
    if (hi == kCfaOffset) {
      if (!set(lo, kAtOffset, int64_t(r.uleb()) * cie.data_align)) return false;
      continue;
    }
    if (hi == kCfaRestore) {
      if (RegRule* rr = reg_rule(lo)) *rr = lo == kRegRbp ? initial.rbp : initial.ra;
      continue;
    }
    switch (op) {
      case kCfaNop: break;
      case kCfaSetLoc: {
        uint64_t to = r.encoded(cie.fde_enc);
        if (to > pc) return true;
        *loc = to;
        break;
      }
      case kCfaAdvanceLoc1: if (!advance(r.u8())) return true; break;
      case kCfaAdvanceLoc2: if (!advance(r.fixed<uint16_t>())) return true; break;
      case kCfaAdvanceLoc4: if (!advance(r.fixed<uint32_t>())) return true; break;
      case kCfaOffsetExtended: {
        uint32_t reg = uint32_t(r.uleb());
        if (!set(reg, kAtOffset, int64_t(r.uleb()) * cie.data_align)) return false;
        break;
      }
      case kCfaRestoreExtended: {
        uint32_t reg = uint32_t(r.uleb());
        if (RegRule* rr = reg_rule(reg)) *rr = reg == kRegRbp ? initial.rbp : initial.ra;
        break;
      }
      case kCfaUndefined: if (!set(uint32_t(r.uleb()), kUndefined, 0)) return false; break;
      case kCfaSameValue: set(uint32_t(r.uleb()), kSame, 0); break;
      case kCfaRegister: {
        uint32_t reg = uint32_t(r.uleb());
        r.uleb();
        if (!set(reg, kOther, 0)) return false;
        break;
      }
      case kCfaRememberState:
        if (depth == 8) return false;
        stack[depth++] = *row;
        break;
      case kCfaRestoreState:  // the CFA rule too, as GCC's mid-function epilogues expect
        if (depth == 0) return false;
        *row = stack[--depth];
        break;
      case kCfaDefCfa:
        row->cfa_reg = uint32_t(r.uleb());
        row->cfa_off = int64_t(r.uleb());
        row->cfa_expr = false;
        break;
      case kCfaDefCfaRegister: row->cfa_reg = uint32_t(r.uleb()); row->cfa_expr = false; break;
      case kCfaDefCfaOffset: row->cfa_off = int64_t(r.uleb()); break;
      case kCfaDefCfaExpression: {
        uint64_t n = r.uleb();
        r.p += n;
        row->cfa_expr = true;
        break;
      }
      case kCfaExpression:
      case kCfaValExpression: {
        uint32_t reg = uint32_t(r.uleb());
        uint64_t n = r.uleb();
        r.p += n;
        if (!set(reg, kOther, 0)) return false;
        break;
      }
      case kCfaOffsetExtendedSf: {
        uint32_t reg = uint32_t(r.uleb());
        if (!set(reg, kAtOffset, r.sleb() * cie.data_align)) return false;
        break;
      }
      case kCfaDefCfaSf:
        row->cfa_reg = uint32_t(r.uleb());
        row->cfa_off = r.sleb() * cie.data_align;
        row->cfa_expr = false;
        break;
      case kCfaDefCfaOffsetSf: row->cfa_off = r.sleb() * cie.data_align; break;
      case kCfaValOffset:
      case kCfaValOffsetSf: {
        uint32_t reg = uint32_t(r.uleb());
        if (op == kCfaValOffset) r.uleb(); else r.sleb();
        if (!set(reg, kOther, 0)) return false;
        break;
      }
      case kCfaGnuArgsSize: r.uleb(); break;
      case kCfaGnuNegativeOffsetExtended: {
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
  if (hdr[0] != 1 || hdr[3] != (kPeDataRel | kPeSdata4)) return nullptr;  // version 1, a table of int32 pairs
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

}  // namespace

uint32_t eh_frame_rule(uintptr_t pc) {
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
  uint64_t range = r.encoded(cie.fde_enc & kPeFormatMask);
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

}  // namespace libleak
