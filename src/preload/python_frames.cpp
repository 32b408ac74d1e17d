// Python frames in allocation stacks; see python_frames.h. Runs inside malloc.
// Built against the CPython 3.11 headers found at build time; enabled only when the running
// interpreter reports the same major.minor version (Py_Version), so struct layouts match.
#include "python_frames.h"

#include <dlfcn.h>
#include <link.h>

#include "internal.h"

#ifdef LIBLEAK_PYTHON_HEADERS
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_code.h>
#include <internal/pycore_frame.h>
#endif

namespace libleak {

namespace {
bool g_enabled = false;
constexpr uint32_t kFrameArenaEntries = 1u << 22;
constexpr uint32_t kStringArenaBytes = 32u << 20;
PythonFrame* g_frames = nullptr;
char* g_strings = nullptr;
std::atomic<uint32_t> g_frames_used{0};
std::atomic<uint32_t> g_strings_used{1};  // offset 0 means "no string"

#ifdef LIBLEAK_PYTHON_HEADERS
PyThreadState* (*g_this_thread_state)() = nullptr;
int (*g_addr2line)(PyCodeObject*, int) = nullptr;
uintptr_t g_eval_start = 0, g_eval_end = 0;

// Line numbers by (code object, line table, instruction): CPython's address-to-line function walks
// the line table from its start, too slow to run for every frame of every allocation. One shared
// lock-free cache: each slot is a single word, a 40-bit tag of the key and a 24-bit line, so a
// racing writer can replace an entry but never tear one. The line table's address is part of the
// key, so a new code object at a reused address is not confused with the old one.
constexpr uint32_t kLineCacheBits = 16;
std::atomic<uint64_t>* g_lines = nullptr;

int32_t line_of(PyCodeObject* code, uint32_t offset) {
  uint64_t h = (reinterpret_cast<uintptr_t>(code) ^ (reinterpret_cast<uintptr_t>(code->co_linetable) << 17) ^
                (uint64_t(offset) * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  std::atomic<uint64_t>& slot = g_lines[h & ((1u << kLineCacheBits) - 1)];
  uint64_t tag = h >> 24;  // 40 bits
  uint64_t e = slot.load(std::memory_order_relaxed);
  if (e && (e >> 24) == tag) return int32_t(e & 0xffffff);
  int32_t line = g_addr2line(code, int(offset * sizeof(_Py_CODEUNIT)));
  if (line >= 0 && line < 0xffffff) slot.store((tag << 24) | uint64_t(line), std::memory_order_relaxed);
  return line;
}

// Names of code objects, cached so each is copied once: keyed by the code object and its name
// objects, which together do not repeat for a different function even if memory is reused.
struct NameCacheSlot {
  std::atomic<uintptr_t> code;
  uintptr_t filename, qualname;
  uint32_t file, function;
  std::atomic<uint32_t> ready;
};
constexpr uint32_t kNameCacheSlots = 1u << 13;  // code objects, not calls: thousands at most
NameCacheSlot* g_names = nullptr;

uint32_t store_string(const char* s, uint32_t len) {
  uint32_t at = g_strings_used.fetch_add(len + 1, std::memory_order_relaxed);
  if (uint64_t(at) + len + 1 > kStringArenaBytes) return 0;
  for (uint32_t i = 0; i < len; ++i) g_strings[at + i] = s[i];
  g_strings[at + len] = 0;
  return at;
}

// The text of a str object without allocating: ASCII data is stored inline; other strings only
// when CPython already cached their UTF-8 form.
uint32_t store_unicode(PyObject* o) {
  if (!o || !PyUnicode_Check(o) || !PyUnicode_IS_READY(o)) return store_string("?", 1);
  if (PyUnicode_IS_COMPACT_ASCII(o))
    return store_string(static_cast<const char*>(PyUnicode_DATA(o)), uint32_t(PyUnicode_GET_LENGTH(o)));
  auto* compact = reinterpret_cast<PyCompactUnicodeObject*>(o);
  if (compact->utf8) return store_string(compact->utf8, uint32_t(compact->utf8_length));
  return store_string("?", 1);
}

void names_of(PyCodeObject* code, uint32_t* file, uint32_t* function) {
  auto key = reinterpret_cast<uintptr_t>(code);
  auto fname = reinterpret_cast<uintptr_t>(code->co_filename), qname = reinterpret_cast<uintptr_t>(code->co_qualname);
  uint32_t h = uint32_t((key >> 4) * 0x9E3779B97F4A7C15ull >> 48) & (kNameCacheSlots - 1);
  for (uint32_t i = 0; i < 16; ++i) {
    NameCacheSlot& s = g_names[(h + i) & (kNameCacheSlots - 1)];
    uintptr_t k = s.code.load(std::memory_order_acquire);
    if (k == key && s.ready.load(std::memory_order_acquire) && s.filename == fname && s.qualname == qname) {
      *file = s.file;
      *function = s.function;
      return;
    }
    if (k == 0 && s.code.compare_exchange_strong(k, key, std::memory_order_acq_rel)) {
      s.filename = fname;
      s.qualname = qname;
      s.file = store_unicode(code->co_filename);
      s.function = store_unicode(code->co_qualname);
      // Release: a reader that sees ready sees the fields above.
      s.ready.store(1, std::memory_order_release);
      *file = s.file;
      *function = s.function;
      return;
    }
  }
  *file = store_unicode(code->co_filename);  // cache full around this slot: copy again
  *function = store_unicode(code->co_qualname);
}
#endif

}  // namespace

void python_frames_init() {
#ifdef LIBLEAK_PYTHON_HEADERS
  auto* version = reinterpret_cast<const unsigned long*>(dlsym(RTLD_DEFAULT, "Py_Version"));
  if (!version || (*version >> 16) != (unsigned long)(PY_VERSION_HEX >> 16)) return;
  g_this_thread_state = reinterpret_cast<PyThreadState* (*)()>(dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState"));
  g_addr2line = reinterpret_cast<int (*)(PyCodeObject*, int)>(dlsym(RTLD_DEFAULT, "PyCode_Addr2Line"));
  void* eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
  Dl_info info;
  const ElfW(Sym)* sym = nullptr;
  if (!g_this_thread_state || !g_addr2line || !eval ||
      !dladdr1(eval, &info, reinterpret_cast<void**>(const_cast<ElfW(Sym)**>(&sym)), RTLD_DL_SYMENT) || !sym)
    return;
  g_eval_start = reinterpret_cast<uintptr_t>(eval);
  g_eval_end = g_eval_start + sym->st_size;
  g_frames = static_cast<PythonFrame*>(sys_map(sizeof(PythonFrame) * kFrameArenaEntries));
  g_strings = static_cast<char*>(sys_map(kStringArenaBytes));
  g_names = static_cast<NameCacheSlot*>(sys_map(sizeof(NameCacheSlot) * kNameCacheSlots));
  g_lines = static_cast<std::atomic<uint64_t>*>(sys_map(sizeof(uint64_t) << kLineCacheBits));
  g_enabled = g_frames && g_strings && g_names && g_lines;
#endif
}

bool python_frames_enabled() { return g_enabled; }

bool python_is_eval_frame(uintptr_t ip) {
#ifdef LIBLEAK_PYTHON_HEADERS
  return ip - 1 >= g_eval_start && ip - 1 < g_eval_end;
#else
  (void)ip;
  return false;
#endif
}

uint64_t python_capture(PythonCapture* out) {
  out->count = 0;
#ifdef LIBLEAK_PYTHON_HEADERS
  if (!g_enabled) return 0;
  PyThreadState* ts = g_this_thread_state();
  if (!ts || !ts->cframe) return 0;
  uint64_t h = 0;
  int max = int(g_config.depth) < kMaxPythonFrames ? int(g_config.depth) : kMaxPythonFrames;
  for (_PyInterpreterFrame* f = ts->cframe->current_frame; f && out->count < max; f = f->previous) {
    PyCodeObject* code = f->f_code;
    if (!code) break;
    _Py_CODEUNIT* first = _PyCode_CODE(code);
    // A frame still setting up has no meaningful position yet (CPython skips these too).
    if (f->owner != FRAME_OWNED_BY_GENERATOR && f->prev_instr < first + code->_co_firsttraceable) continue;
    int i = out->count++;
    out->code[i] = reinterpret_cast<uintptr_t>(code);
    out->line[i] = line_of(code, uint32_t(f->prev_instr - first));
    out->entry[i] = f->is_entry;
    h = (h ^ out->code[i] ^ (uint64_t(uint32_t(out->line[i])) << 40)) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
  }
  return h;
#else
  return 0;
#endif
}

void python_fill_callsite(Callsite& c, const void* arg) {
#ifdef LIBLEAK_PYTHON_HEADERS
  auto* cap = static_cast<const PythonCapture*>(arg);
  if (!cap || !cap->count) return;
  uint32_t at = g_frames_used.fetch_add(uint32_t(cap->count), std::memory_order_relaxed);
  if (uint64_t(at) + uint64_t(cap->count) > kFrameArenaEntries) return;
  // The k-th group of frames (each group ends with an entry frame) runs in the k-th
  // _PyEval_EvalFrameDefault of the native stack, counting from the innermost.
  uint32_t native = 0;
  auto next_eval = [&](uint32_t from) {
    while (from < cap->native_depth && !python_is_eval_frame(cap->native[from])) ++from;
    return from;
  };
  native = next_eval(0);
  for (int i = 0; i < cap->count; ++i) {
    auto* code = reinterpret_cast<PyCodeObject*>(cap->code[i]);
    PythonFrame& pf = g_frames[at + i];
    pf.native_index = native < cap->native_depth ? native : UINT32_MAX;
    pf.line = cap->line[i];
    names_of(code, &pf.file, &pf.function);
    if (cap->entry[i] && native < cap->native_depth) native = next_eval(native + 1);
  }
  c.py_frames = at;
  c.py_count = uint32_t(cap->count);
#else
  (void)c;
  (void)arg;
#endif
}

const PythonFrame* python_frames_of(const Callsite& c) { return c.py_count && g_frames ? g_frames + c.py_frames : nullptr; }

const char* python_strings(uint32_t* bytes) {
  uint32_t used = g_strings_used.load(std::memory_order_acquire);
  *bytes = g_strings ? (used < kStringArenaBytes ? used : kStringArenaBytes) : 0;
  return g_strings ? g_strings : "";
}

}  // namespace libleak
