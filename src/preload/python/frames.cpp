// Python frames in allocation stacks; see frames.h. Runs inside malloc.
// Independent of any Python headers at build time: the struct layouts of CPython 3.8 to 3.13 come
// from layouts.h (generated from each version's own headers), and init picks the row of the
// running interpreter. Capture and resolution are instantiated per row, so the malloc path reads
// fields at constant offsets exactly as code compiled against that version's headers would.
#include "python/frames.h"

#include <dlfcn.h>
#include <link.h>

#include <array>
#include <utility>

#include "base/config.h"
#include "base/sys.h"
#include "python/layouts.h"

namespace libleak {

namespace {
bool g_enabled = false;
constexpr uint32_t kFrameArenaEntries = 1u << 22;
constexpr uint32_t kStringArenaBytes = 32u << 20;
PythonFrame* g_frames = nullptr;
char* g_strings = nullptr;
std::atomic<uint32_t> g_frames_used{0};
std::atomic<uint32_t> g_strings_used{1};  // offset 0 means "no string"

void* (*g_this_thread_state)() = nullptr;
int (*g_addr2line)(void* code, int byte_offset) = nullptr;
uintptr_t g_code_type = 0, g_unicode_type = 0;
uintptr_t g_eval_start = 0, g_eval_end = 0;
uint64_t (*g_capture)(PythonCapture*) = nullptr;
void (*g_fill)(Callsite&, const PythonCapture&) = nullptr;

// A field of an interpreter struct. Through memcpy: the memory belongs to another library's types.
template <class T>
T field(uintptr_t base, int32_t offset) {
  T v;
  __builtin_memcpy(&v, reinterpret_cast<const void*>(base + uintptr_t(offset)), sizeof v);
  return v;
}

// Line numbers by (code object, line table, instruction): CPython's address-to-line function walks
// the line table from its start, too slow to run for every frame of every allocation. One shared
// lock-free cache: each slot is a single word, a 40-bit tag of the key and a 24-bit line, so a
// racing writer can replace an entry but never tear one. The line table's address is part of the
// key, so a new code object at a reused address is not confused with the old one.
constexpr uint32_t kLineCacheBits = 16;
std::atomic<uint64_t>* g_lines = nullptr;

__attribute__((noinline)) int32_t line_of_slow(std::atomic<uint64_t>& slot, uint64_t tag, uintptr_t code,
                                                int32_t byte_offset) {
  int32_t line = g_addr2line(reinterpret_cast<void*>(code), byte_offset);
  if (line >= 0 && line < 0xffffff) slot.store((tag << 24) | uint64_t(line), std::memory_order_relaxed);
  return line;
}

inline int32_t line_of(uintptr_t code, uintptr_t linetable, int32_t byte_offset) {
  uint64_t h = (code ^ (linetable << 17) ^ (uint64_t(uint32_t(byte_offset)) * 0x9E3779B97F4A7C15ull)) *
               0xff51afd7ed558ccdull;
  h ^= h >> 29;
  std::atomic<uint64_t>& slot = g_lines[h & ((1u << kLineCacheBits) - 1)];
  uint64_t tag = h >> 24;  // 40 bits
  uint64_t e = slot.load(std::memory_order_relaxed);
  if (e && (e >> 24) == tag) return int32_t(e & 0xffffff);
  return line_of_slow(slot, tag, code, byte_offset);
}

// The previous capture of this thread, outermost frame first. Between two allocations a thread
// is usually still inside the same outer calls, so a frame whose (code, line table, instruction)
// and whose every outer frame match this memo has the line and the hash of its chain already:
// only the frames that moved since the last allocation pay for a line lookup and a hash step.
struct CaptureMemo {
  int count;
  struct Entry {
    uintptr_t code, linetable;
    int32_t offset, line;
    uint64_t hash;  // of this frame and all outer ones
  } at[kMaxPythonFrames];
};
LIBLEAK_TLS CaptureMemo t_memo;

// Walks the calling thread's frames, innermost first, into out's code and entry arrays and each
// frame's line table and instruction offset. Groups of frames run by one _PyEval_EvalFrameDefault
// call end with an `entry` frame: every frame up to 3.10 (each frame has its own call), is_entry
// in 3.11, and from 3.12 the frame just inside the shim frame each call pushes onto the frame
// stack (owner FRAME_OWNED_BY_CSTACK). Returns the number of frames.
template <size_t V>
__attribute__((always_inline)) inline int walk_frames(PythonCapture* out, uintptr_t* linetable, int32_t* offsets) {
  constexpr const PyLayout& L = kPyLayouts[V];
  auto ts = reinterpret_cast<uintptr_t>(g_this_thread_state());
  if (!ts) return 0;
  uintptr_t f = field<uintptr_t>(ts, L.ts_frame);
  if constexpr (L.cframe_current >= 0) f = f ? field<uintptr_t>(f, L.cframe_current) : 0;
  int max = int(config().depth) < kMaxPythonFrames ? int(config().depth) : kMaxPythonFrames;
  int n = 0;
  for (; f && n < max; f = field<uintptr_t>(f, L.frame_previous)) {
    uintptr_t code = field<uintptr_t>(f, L.frame_code);
    int32_t offset;  // PyCode_Addr2Line's byte offset
    bool entry = true;
    if constexpr (L.frame_owner >= 0) {
      char owner = field<char>(f, L.frame_owner);
      if constexpr (L.owner_cstack >= 0) {
        if (owner == L.owner_cstack) {
          if (n) out->entry[n - 1] = 1;
          continue;
        }
      }
      if (!code) break;
      if constexpr (L.code_checked) {
        if (field<uintptr_t>(code, L.ob_type) != g_code_type) continue;
      }
      entry = false;
      if constexpr (L.frame_is_entry >= 0) entry = field<bool>(f, L.frame_is_entry);
      uintptr_t first = code + uintptr_t(L.code_units);
      uintptr_t instr = field<uintptr_t>(f, L.frame_instr);
      // A frame still setting up has no meaningful position yet (CPython skips these too); if it
      // ends its group, the frame inside it (the last one kept) ends the group instead.
      if (owner != L.owner_generator &&
          instr < first + uintptr_t(field<int32_t>(code, L.code_firsttraceable)) * uintptr_t(L.code_unit)) {
        if (entry && n) out->entry[n - 1] = 1;
        continue;
      }
      offset = int32_t(instr - first);
    } else {
      if (!code) break;
      offset = field<int32_t>(f, L.frame_instr) * L.lasti_scale;  // negative before the first instruction
    }
    out->code[n] = code;
    out->entry[n] = entry;
    linetable[n] = field<uintptr_t>(code, L.code_linetable);
    offsets[n] = offset;
    ++n;
  }
  return n;
}

// Fills out's lines and returns the hash of the (code, line) pairs. The hash folds them from the
// outermost frame in, so the memo's hashes stay valid for the outer frames it shares; only the
// frames that moved since the thread's previous capture pay for a line lookup and a hash step.
__attribute__((always_inline)) inline uint64_t resolve_lines(PythonCapture* out, const uintptr_t* linetable,
                                                             const int32_t* offsets) {
  int n = out->count;
  CaptureMemo& memo = t_memo;
  int same = 0;  // outer frames shared with the memo
  for (; same < n && same < memo.count; ++same) {
    const CaptureMemo::Entry& e = memo.at[same];
    int i = n - 1 - same;
    if (e.code != out->code[i] || e.offset != offsets[i] || e.linetable != linetable[i]) break;
    out->line[i] = e.line;
  }
  uint64_t h = same ? memo.at[same - 1].hash : 0;
  for (int j = same; j < n; ++j) {
    int i = n - 1 - j;
    int32_t line = line_of(out->code[i], linetable[i], offsets[i]);
    out->line[i] = line;
    h = (h ^ out->code[i] ^ (uint64_t(uint32_t(line)) << 40)) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    memo.at[j] = CaptureMemo::Entry{out->code[i], linetable[i], offsets[i], line, h};
  }
  memo.count = n;
  return n ? h | 1 : 0;
}

template <size_t V>
uint64_t capture(PythonCapture* out) {
  uintptr_t linetable[kMaxPythonFrames];
  int32_t offsets[kMaxPythonFrames];
  out->count = 0;
  out->count = walk_frames<V>(out, linetable, offsets);
  return resolve_lines(out, linetable, offsets);
}

// Names of code objects, cached so each is copied once: keyed by the code object and its name
// objects, which together do not repeat for a different function even if memory is reused.
struct NameCacheSlot {
  std::atomic<uintptr_t> code;
  uintptr_t filename, name;
  uint32_t file, function;
  std::atomic<uint32_t> ready;
};
constexpr uint32_t kNameCacheSlots = 1u << 13;  // code objects, not calls: thousands at most
NameCacheSlot* g_names = nullptr;

uint32_t store_string(const char* s, uint64_t len) {
  if (len > 4096) len = 4096;  // names and paths; a longer one is cut, never a reason to fail
  uint32_t at = g_strings_used.fetch_add(uint32_t(len) + 1, std::memory_order_relaxed);
  if (uint64_t(at) + len + 1 > kStringArenaBytes) return 0;
  for (uint64_t i = 0; i < len; ++i) g_strings[at + i] = s[i];
  g_strings[at + len] = 0;
  return at;
}

// The text of a str object without allocating: compact ASCII data is stored inline after the
// PyASCIIObject header; other strings only when CPython already cached their UTF-8 form.
template <size_t V>
uint32_t store_unicode(uintptr_t o) {
  constexpr const PyLayout& L = kPyLayouts[V];
  if (!o || field<uintptr_t>(o, L.ob_type) != g_unicode_type) return store_string("?", 1);
  uint32_t state = field<uint32_t>(o, L.str_state);
  if constexpr (L.bit_ready >= 0) {
    if (!((state >> L.bit_ready) & 1)) return store_string("?", 1);
  }
  if (((state >> L.bit_compact) & 1) && ((state >> L.bit_ascii) & 1))
    return store_string(reinterpret_cast<const char*>(o + uintptr_t(L.str_ascii_data)),
                        uint64_t(field<int64_t>(o, L.str_length)));
  if (auto* utf8 = field<const char*>(o, L.str_utf8))
    return store_string(utf8, uint64_t(field<int64_t>(o, L.str_utf8_length)));
  return store_string("?", 1);
}

template <size_t V>
void names_of(uintptr_t code, uint32_t* file, uint32_t* function) {
  constexpr const PyLayout& L = kPyLayouts[V];
  auto fname = field<uintptr_t>(code, L.code_filename), name = field<uintptr_t>(code, L.code_name);
  uint32_t h = uint32_t((code >> 4) * 0x9E3779B97F4A7C15ull >> 48) & (kNameCacheSlots - 1);
  for (uint32_t i = 0; i < 16; ++i) {
    NameCacheSlot& s = g_names[(h + i) & (kNameCacheSlots - 1)];
    uintptr_t k = s.code.load(std::memory_order_acquire);
    if (k == code && s.ready.load(std::memory_order_acquire) && s.filename == fname && s.name == name) {
      *file = s.file;
      *function = s.function;
      return;
    }
    if (k == 0 && s.code.compare_exchange_strong(k, code, std::memory_order_acq_rel)) {
      s.filename = fname;
      s.name = name;
      s.file = store_unicode<V>(fname);
      s.function = store_unicode<V>(name);
      // Release: a reader that sees ready sees the fields above.
      s.ready.store(1, std::memory_order_release);
      *file = s.file;
      *function = s.function;
      return;
    }
  }
  *file = store_unicode<V>(fname);  // cache full around this slot: copy again
  *function = store_unicode<V>(name);
}

template <size_t V>
void fill(Callsite& c, const PythonCapture& cap) {
  uint32_t at = g_frames_used.fetch_add(uint32_t(cap.count), std::memory_order_relaxed);
  if (uint64_t(at) + uint64_t(cap.count) > kFrameArenaEntries) return;
  // The k-th group of frames (each group ends with an entry frame) runs in the k-th
  // _PyEval_EvalFrameDefault of the native stack, counting from the innermost.
  auto next_eval = [&](uint32_t from) {
    while (from < cap.native_depth && !python_is_eval_frame(cap.native[from])) ++from;
    return from;
  };
  uint32_t native = next_eval(0);
  for (int i = 0; i < cap.count; ++i) {
    PythonFrame& pf = g_frames[at + i];
    pf.native_index = native < cap.native_depth ? native : UINT32_MAX;
    pf.line = cap.line[i];
    names_of<V>(cap.code[i], &pf.file, &pf.function);
    if (cap.entry[i] && native < cap.native_depth) native = next_eval(native + 1);
  }
  c.py_frames = at;
  c.py_count = uint32_t(cap.count);
}

template <size_t... V>
constexpr auto captures(std::index_sequence<V...>) {
  return std::array<uint64_t (*)(PythonCapture*), sizeof...(V)>{capture<V>...};
}
template <size_t... V>
constexpr auto fills(std::index_sequence<V...>) {
  return std::array<void (*)(Callsite&, const PythonCapture&), sizeof...(V)>{fill<V>...};
}
constexpr size_t kRows = sizeof(kPyLayouts) / sizeof(kPyLayouts[0]);
constexpr auto kCaptures = captures(std::make_index_sequence<kRows>());
constexpr auto kFills = fills(std::make_index_sequence<kRows>());

template <class Fn>
bool lookup(Fn* slot, const char* name) {
  *slot = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
  return *slot != nullptr;
}

// major.minor of the interpreter in this process: Py_Version from 3.11, else the text of
// Py_GetVersion() ("3.10.13 (main, ...)", a static buffer). False when there is none.
bool interpreter_version(int* major, int* minor) {
  if (auto* hex = static_cast<const unsigned long*>(dlsym(RTLD_DEFAULT, "Py_Version"))) {
    *major = int((*hex >> 24) & 0xff);
    *minor = int((*hex >> 16) & 0xff);
    return true;
  }
  const char* (*get_version)() = nullptr;
  if (!lookup(&get_version, "Py_GetVersion")) return false;
  const char* s = get_version();
  int parts[2] = {0, 0};
  for (int& part : parts) {
    if (*s < '0' || *s > '9') return false;
    for (; *s >= '0' && *s <= '9'; ++s) part = part * 10 + (*s - '0');
    if (*s == '.') ++s;
  }
  *major = parts[0];
  *minor = parts[1];
  return true;
}

// The layouts describe release builds: debug (reference counting) and free-threaded builds
// change object headers or were never checked, so they keep native stacks only.
bool unverified_build() {
  for (const char* sym : {"_Py_RefTotal", "_Py_GetGlobalRefTotal", "_Py_PrintReferences",
                          "_Py_MergeZeroLocalRefcount"})
    if (dlsym(RTLD_DEFAULT, sym)) return true;
  return false;
}

}  // namespace

void python_frames_init() {
  static_assert(sizeof(void*) == 8, "layouts.h holds LP64 offsets");
  int major = 0, minor = 0;
  if (!interpreter_version(&major, &minor)) return;
  size_t row = kRows;
  for (size_t i = 0; i < kRows; ++i)
    if (kPyLayouts[i].major == major && kPyLayouts[i].minor == minor) row = i;
  if (row == kRows || unverified_build()) return;
  void* eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
  void *code_type = dlsym(RTLD_DEFAULT, "PyCode_Type"), *unicode_type = dlsym(RTLD_DEFAULT, "PyUnicode_Type");
  Dl_info info;
  const ElfW(Sym)* sym = nullptr;
  if (!lookup(&g_this_thread_state, "PyGILState_GetThisThreadState") || !lookup(&g_addr2line, "PyCode_Addr2Line") ||
      !eval || !code_type || !unicode_type ||
      !dladdr1(eval, &info, reinterpret_cast<void**>(const_cast<ElfW(Sym)**>(&sym)), RTLD_DL_SYMENT) || !sym)
    return;
  g_code_type = reinterpret_cast<uintptr_t>(code_type);
  g_unicode_type = reinterpret_cast<uintptr_t>(unicode_type);
  g_eval_start = reinterpret_cast<uintptr_t>(eval);
  g_eval_end = g_eval_start + sym->st_size;
  g_capture = kCaptures[row];
  g_fill = kFills[row];
  g_frames = static_cast<PythonFrame*>(sys_map(sizeof(PythonFrame) * kFrameArenaEntries));
  g_strings = static_cast<char*>(sys_map(kStringArenaBytes));
  g_names = static_cast<NameCacheSlot*>(sys_map(sizeof(NameCacheSlot) * kNameCacheSlots));
  g_lines = static_cast<std::atomic<uint64_t>*>(sys_map(sizeof(uint64_t) << kLineCacheBits));
  g_enabled = g_frames && g_strings && g_names && g_lines;
}

bool python_frames_enabled() { return g_enabled; }

bool python_is_eval_frame(uintptr_t ip) { return ip - 1 >= g_eval_start && ip - 1 < g_eval_end; }

void python_eval_range(uintptr_t* lo, uintptr_t* hi) {
  *lo = g_eval_start;
  *hi = g_eval_end;
}

uint64_t python_capture(PythonCapture* out) {
  if (!g_enabled) {
    out->count = 0;
    return 0;
  }
  return g_capture(out);
}

void python_fill_callsite(Callsite& c, const void* arg) {
  auto* cap = static_cast<const PythonCapture*>(arg);
  if (cap && cap->count && g_enabled) g_fill(c, *cap);
}

const PythonFrame* python_frames_of(const Callsite& c) { return c.py_count && g_frames ? g_frames + c.py_frames : nullptr; }

const char* python_strings(uint32_t* bytes) {
  uint32_t used = g_strings_used.load(std::memory_order_acquire);
  *bytes = g_strings ? (used < kStringArenaBytes ? used : kStringArenaBytes) : 0;
  return g_strings ? g_strings : "";
}

}  // namespace libleak
