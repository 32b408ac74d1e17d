// The writer's memory and the plan of one write; see plan.h. Writer thread only.
#include "trace/plan.h"

#include "python/frames.h"
#include "recorder/state.h"

namespace libleak {

namespace {
constinit WriterState g_state;

bool has_data(const Callsite& c) {
  return c.published.load(std::memory_order_acquire) && c.shards_used.load(std::memory_order_relaxed);
}
}  // namespace

WriterState& writer_state() { return g_state; }

void WriterState::reset_trees() {
  native.reset();
  python.reset();
  if (native_leaf.bytes) __builtin_memset(native_leaf.data, 0, native_leaf.bytes);
  if (python_leaf.bytes) __builtin_memset(python_leaf.data, 0, python_leaf.bytes);
}

// Callsites never change their frames and, once they have data, keep it (until a fork resets
// the trees): only the new ones are added.
bool plan_write(Plan& p) {
  WriterState& s = g_state;
  uint32_t n = g_callsites.count();
  if (!s.included.reserve(n)) return false;
  auto* included = s.included.as<uint8_t>();
  bool tree = s.native_leaf.reserve(uint64_t(n) * sizeof(uint32_t)) && s.python_leaf.reserve(uint64_t(n) * sizeof(uint32_t));
  auto* native_leaf = s.native_leaf.as<uint32_t>();
  auto* python_leaf = s.python_leaf.as<uint32_t>();
  static_assert(sizeof(PythonFrame) == 2 * sizeof(uint64_t));
  for (uint32_t i = 0; i < n; ++i) {
    if (i % 4096 == 0 && s.give_up()) return false;
    const Callsite& c = g_callsites.entry(i);
    included[i] = has_data(c);
    if (!included[i] || !tree) continue;
    if (!native_leaf[i] && c.depth) native_leaf[i] = s.native.add_stack(g_callsites.frames(c), c.depth);
    const PythonFrame* py = python_frames_of(c);
    if (py && !python_leaf[i]) python_leaf[i] = s.python.add_stack(reinterpret_cast<const uint64_t*>(py), c.py_count);
    tree = (native_leaf[i] || !c.depth) && (python_leaf[i] || !py);
  }
  if (!tree) s.reset_trees();  // out of memory: this write stores frames inline, the next one retries
  p = Plan{n, included, native_leaf, python_leaf, tree};
  return true;
}

}  // namespace libleak
