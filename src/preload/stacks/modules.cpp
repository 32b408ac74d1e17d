// Module registry implementation. Runs at start-up and after dlopen/dlclose, never in malloc.
// A small spin lock serialises refreshes (dlopen is already serialised by the loader); readers
// need no lock because entries are append-only and published by an acquire/release count.
#include "stacks/modules.h"

#include <elf.h>
#include <stddef.h>
#include <link.h>
#include <sched.h>
#include <unistd.h>

#include "base/sys.h"

namespace libleak {

namespace {

ModuleEntry* g_modules = nullptr;  // kMaxModules entries, mmap'd
std::atomic<uint32_t> g_count{0};
std::atomic<uint32_t> g_generation{0};
std::atomic<bool> g_refresh_lock{false};
uintptr_t g_own_start = 0, g_own_end = 0;
void refresh_locked();

void read_build_id(const dl_phdr_info* info, ModuleEntry* m) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    const uint8_t* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const uint8_t* name = p + sizeof(ElfW(Nhdr));
      const uint8_t* desc = name + ((note->n_namesz + 3) & ~3u);
      if (desc + note->n_descsz > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && name[0] == 'G' && name[1] == 'N' &&
          name[2] == 'U' && note->n_descsz <= sizeof m->build_id) {
        for (uint32_t b = 0; b < note->n_descsz; ++b) m->build_id[b] = desc[b];
        m->build_id_len = note->n_descsz;
        return;
      }
      p = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
}

bool same_module(const ModuleEntry& m, const dl_phdr_info* info, uintptr_t start) {
  return m.unload_gen.load(std::memory_order_relaxed) == UINT32_MAX && m.load_bias == info->dlpi_addr &&
         m.start == start;
}

int on_module(dl_phdr_info* info, size_t, void*) {
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t a = info->dlpi_addr + ph.p_vaddr;
    if (a < lo) lo = a;
    if (a + ph.p_memsz > hi) hi = a + ph.p_memsz;
  }
  if (hi == 0) return 0;
  uint32_t n = g_count.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < n; ++i) {
    if (same_module(g_modules[i], info, lo)) {
      g_modules[i].seen = true;
      return 0;
    }
  }
  if (n >= kMaxModules) return 0;
  ModuleEntry& m = g_modules[n];
  m.load_bias = info->dlpi_addr;
  m.start = lo;
  m.end = hi;
  m.load_gen = g_generation.load(std::memory_order_relaxed);
  m.unload_gen.store(UINT32_MAX, std::memory_order_relaxed);
  const char* name = info->dlpi_name;
  if (name && *name) {
    str_copy(m.path, sizeof m.path, name);
  } else {
    ssize_t len = readlink("/proc/self/exe", m.path, sizeof m.path - 1);
    m.path[len > 0 ? len : 0] = 0;
  }
  m.path_len = uint32_t(str_len(m.path));
  m.build_id_len = 0;
  read_build_id(info, &m);
  m.seen = true;
  // Release: the trace writer reads entries below the count without a lock.
  g_count.store(n + 1, std::memory_order_release);
  return 0;
}

}  // namespace

void modules_init() {
  if (g_modules) return;
  g_modules = static_cast<ModuleEntry*>(sys_map(sizeof(ModuleEntry) * kMaxModules));
  if (!g_modules) return;
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&modules_init), &self)) {
    auto base = reinterpret_cast<uintptr_t>(self.dli_fbase);
    modules_refresh();
    for (uint32_t i = 0; i < g_count.load(); ++i)
      if (g_modules[i].start <= base && base < g_modules[i].end) g_own_start = g_modules[i].start, g_own_end = g_modules[i].end;
  } else {
    modules_refresh();
  }
}

void modules_refresh() {
  if (!g_modules) return;
  while (g_refresh_lock.exchange(true, std::memory_order_acquire)) sched_yield();
  refresh_locked();
}

bool modules_refresh_try() {
  if (!g_modules || g_refresh_lock.exchange(true, std::memory_order_acquire)) return false;
  refresh_locked();
  return true;
}

namespace {
void refresh_locked() {
  // Cheap test first: glibc counts loads and unloads; nothing changed, nothing to do.
  struct Counts {
    unsigned long long adds, subs;
  } now{0, 0};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t size, void* arg) {
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
          *static_cast<Counts*>(arg) = {info->dlpi_adds, info->dlpi_subs};
        return 1;
      },
      &now);
  static Counts last{~0ull, ~0ull};
  if (now.adds == last.adds && now.subs == last.subs && now.adds) {
    g_refresh_lock.store(false, std::memory_order_release);
    return;
  }
  last = now;
  uint32_t n = g_count.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < n; ++i) g_modules[i].seen = false;
  uint32_t gen = g_generation.load(std::memory_order_relaxed) + 1;
  g_generation.store(gen, std::memory_order_relaxed);
  dl_iterate_phdr(on_module, nullptr);
  for (uint32_t i = 0; i < n; ++i)
    if (!g_modules[i].seen && g_modules[i].unload_gen.load(std::memory_order_relaxed) == UINT32_MAX)
      g_modules[i].unload_gen.store(gen, std::memory_order_release);
  // Release: a callsite stamped with this generation is recorded after the entries exist.
  g_generation.store(gen, std::memory_order_release);
  g_refresh_lock.store(false, std::memory_order_release);
}
}  // namespace

void modules_after_fork_child() {
  // The lock may have been held by a thread that does not exist in the child.
  g_refresh_lock.store(false, std::memory_order_relaxed);
}

uint32_t modules_generation() { return g_generation.load(std::memory_order_acquire); }
uint32_t modules_count() { return g_count.load(std::memory_order_acquire); }
const ModuleEntry& module_at(uint32_t i) { return g_modules[i]; }

const ModuleEntry* module_containing(uintptr_t ip) {
  uint32_t n = modules_count();
  for (uint32_t i = 0; i < n; ++i) {
    const ModuleEntry& m = g_modules[i];
    if (m.start <= ip && ip < m.end && m.unload_gen.load(std::memory_order_relaxed) == UINT32_MAX) return &m;
  }
  return nullptr;
}

bool is_exit_runtime(uintptr_t ip) {
  if (in_own_module(ip)) return true;
  const ModuleEntry* m = module_containing(ip);
  if (!m) return false;
  const char* base = path_basename(m->path);
  return str_starts_with(base, "libc.so") || str_starts_with(base, "ld-linux");
}

void own_module_range(uintptr_t* start, uintptr_t* end) {
  *start = g_own_start;
  *end = g_own_end;
}

void set_own_module_range_for_tests(uintptr_t start, uintptr_t end) {
  g_own_start = start;
  g_own_end = end;
}

bool in_own_module(uintptr_t ip) { return ip >= g_own_start && ip < g_own_end; }

}  // namespace libleak
