// Turns the stacks the sections described into the trace's StackStore and points each callsite
// at its paths. Linear in nodes and records: each node's parent, depth and names are checked
// once, and a stack is checked by its leaf's depth, so no stack is walked, however deep.
#include "report/trace_stacks.h"

#include <algorithm>

#include <fmt/format.h>

#include "report/error.h"

namespace libleak {
namespace {

// The depth of every node (its path's length), checking that each parent is an earlier node so
// that every path ends at a root.
template <typename ParentOf>
std::vector<uint32_t> node_depths(size_t count, ParentOf parent_of, const char* kind, Budget& budget) {
  std::vector<uint32_t> depth;
  reserve_charged(depth, count, budget, "stack tree section");
  for (size_t i = 0; i < count; ++i) {
    uint32_t parent = parent_of(i);
    if (parent > i) {
      throw Error(fmt::format("{} stack tree node {} has parent {}, not an earlier node", kind, i + 1, parent));
    }
    depth.push_back(parent ? depth[parent - 1] + 1 : 1);
  }
  return depth;
}

// A stack of `count` frames starting at node `leaf` (index + 1, as the file gives it).
void check_path(const std::vector<uint32_t>& depth, const char* kind, uint64_t leaf, uint32_t count,
                uint64_t hash) {
  if (leaf > depth.size()) {
    throw Error(fmt::format("callsite 0x{:x} starts at {} stack tree node {} of {}", hash, kind, leaf,
                            depth.size()));
  }
  uint32_t have = leaf ? depth[leaf - 1] : 0;
  if (have > count) {
    throw Error(fmt::format("callsite 0x{:x} has more {} frames in the stack tree than the {} its "
                            "record says", hash, kind, count));
  }
  if (have < count) {
    throw Error(fmt::format("callsite 0x{:x} has {} {} frames in the stack tree, its record says {}",
                            hash, have, kind, count));
  }
}

// Node indexes are uint32_t in the file; inline stacks added to a full tree must not wrap them.
void check_node_count(uint64_t nodes, const char* kind) {
  if (nodes > UINT32_MAX) throw Error(fmt::format("{} stacks need more than {} nodes", kind, UINT32_MAX));
}

// The lengths of the Python string blob's strings, by binary search over its NULs: a node's
// names are measured in O(log n), however long they are.
class BlobStrings {
 public:
  BlobStrings(const std::string& blob, Budget& budget) : budget_(budget) {
    size_t count = std::count(blob.begin(), blob.end(), '\0');
    reserve_charged(nuls_, count, budget, "python section");
    for (size_t at = blob.find('\0'); at != std::string::npos; at = blob.find('\0', at + 1)) {
      nuls_.push_back(static_cast<uint32_t>(at));
    }
  }
  ~BlobStrings() { free_charged(nuls_, budget_); }

  // 0 for an offset that starts no string (not on any stack: the reader checked those).
  uint64_t length(uint32_t offset) const {
    auto it = std::lower_bound(nuls_.begin(), nuls_.end(), offset);
    return it == nuls_.end() ? 0 : *it - offset;
  }

 private:
  Budget& budget_;
  std::vector<uint32_t> nuls_;
};

// Callsites by stack hash; with equal hashes the first callsite wins, as it always has.
class CallsiteIndex {
 public:
  CallsiteIndex(const std::vector<Callsite>& callsites, Budget& budget) : budget_(budget) {
    reserve_charged(by_hash_, callsites.size(), budget, "callsites section");
    for (size_t i = 0; i < callsites.size(); ++i) by_hash_.emplace_back(callsites[i].record.stack_hash, i);
    std::sort(by_hash_.begin(), by_hash_.end());
  }
  ~CallsiteIndex() { free_charged(by_hash_, budget_); }

  // The callsite's index, or SIZE_MAX when the trace does not list it.
  size_t find(uint64_t hash) const {
    auto it = std::lower_bound(by_hash_.begin(), by_hash_.end(), std::pair<uint64_t, size_t>{hash, 0});
    return it != by_hash_.end() && it->first == hash ? it->second : SIZE_MAX;
  }

 private:
  Budget& budget_;
  std::vector<std::pair<uint64_t, size_t>> by_hash_;
};

void attach_native(PendingStacks& p, Trace& out, Budget& budget) {
  StackStore& s = *p.store;
  auto depth = node_depths(s.native_ip.size(), [&](size_t i) { return s.native_parent[i]; }, "native", budget);
  for (size_t i = 0; i < out.callsites.size(); ++i) {
    const auto& r = out.callsites[i].record;
    if (r.flags & trace::kCallsiteTreeFrames) {
      check_path(depth, "native", p.callsite_leaf[i], r.depth, r.stack_hash);
    }
  }
  free_charged(depth, budget);
  uint64_t nodes = s.native_ip.size() + p.inline_native.size();
  check_node_count(nodes, "native");
  reserve_charged(s.native_ip, nodes, budget, "callsites section");
  reserve_charged(s.native_parent, nodes, budget, "callsites section");
  for (size_t i = 0; i < out.callsites.size(); ++i) {
    Callsite& cs = out.callsites[i];
    auto leaf = static_cast<uint32_t>(p.callsite_leaf[i]);
    if (!(cs.record.flags & trace::kCallsiteTreeFrames)) {
      // Inline frames become a path of their own, outermost first so parents come first.
      leaf = 0;
      for (uint32_t f = cs.record.depth; f-- > 0;) {
        s.native_ip.push_back(p.inline_native[p.callsite_leaf[i] + f]);
        s.native_parent.push_back(leaf);
        leaf = static_cast<uint32_t>(s.native_ip.size());
      }
    }
    cs.frames = NativeStack(&s, leaf, cs.record.depth);
  }
  free_charged(p.inline_native, budget);
  free_charged(p.callsite_leaf, budget);
}

// Python stacks on the tree: checks each path, and the names of each node on one once.
void check_python_tree(PendingStacks& p, const std::vector<uint32_t>& depth, Budget& budget) {
  const StackStore& s = *p.store;
  size_t last_nul = s.python_strings.rfind('\0');
  std::vector<bool> named(depth.size());
  budget.charge(depth.size() / 8 + 8, "python section");
  for (const auto& stack : p.python_stacks) {
    if (!stack.tree_leaf) continue;
    check_path(depth, "python", stack.tree_leaf, stack.count, stack.stack_hash);
    for (uint32_t node = stack.tree_leaf; node && !named[node - 1]; node = s.python[node - 1].parent) {
      const char* owner = "python stack tree node";
      check_blob_offset(s.python_strings, last_nul, s.python[node - 1].file, owner, node, "file name");
      check_blob_offset(s.python_strings, last_nul, s.python[node - 1].function, owner, node, "function name");
      named[node - 1] = true;
    }
  }
  budget.release(depth.size() / 8 + 8);
}

// The name bytes of every node's path (file and function of each frame), so that what a stack
// costs a report is known without walking it.
std::vector<uint64_t> path_name_bytes(const StackStore& s, const BlobStrings& strings, Budget& budget) {
  std::vector<uint64_t> names;
  reserve_charged(names, s.python.size(), budget, "python section");
  for (const PythonNodeInfo& n : s.python) {
    uint64_t own = strings.length(n.file) + strings.length(n.function);
    names.push_back(own + (n.parent ? names[n.parent - 1] : 0));
  }
  return names;
}

// Attaches the Python stacks; returns the bytes of their frames' names.
uint64_t attach_python(PendingStacks& p, Trace& out, const CallsiteIndex& index, Budget& budget) {
  StackStore& s = *p.store;
  auto depth = node_depths(s.python.size(), [&](size_t i) { return s.python[i].parent; }, "python", budget);
  check_python_tree(p, depth, budget);
  // The highest native_index + 1 on each node's path (0: none), so that a stack can be checked
  // against its callsite's native frames without walking it.
  std::vector<uint32_t>& max_native = depth;  // reused: each depth is read before it is replaced
  for (size_t i = 0; i < s.python.size(); ++i) {
    const PythonNodeInfo& n = s.python[i];
    uint32_t own = n.native_index != UINT32_MAX ? n.native_index + 1 : 0;
    max_native[i] = std::max(own, n.parent ? max_native[n.parent - 1] : 0);
  }
  BlobStrings strings(s.python_strings, budget);
  auto names = path_name_bytes(s, strings, budget);
  uint64_t nodes = s.python.size() + p.inline_python.size();
  check_node_count(nodes, "python");
  reserve_charged(s.python, nodes, budget, "python section");
  uint64_t name_bytes = 0;
  for (const auto& stack : p.python_stacks) {
    uint32_t leaf = stack.tree_leaf, max = leaf ? max_native[leaf - 1] : stack.max_native;
    uint64_t stack_names = leaf ? names[leaf - 1] : 0;
    for (uint32_t f = stack.count; !stack.tree_leaf && f-- > 0;) {
      s.python.push_back(p.inline_python[stack.first + f]);
      s.python.back().parent = leaf;
      leaf = static_cast<uint32_t>(s.python.size());
      stack_names += strings.length(s.python.back().file) + strings.length(s.python.back().function);
    }
    // Records of callsites the trace does not list are dropped: they could only come from a
    // writer that skipped the callsite (no data), and have nothing to attach to.
    size_t at = index.find(stack.stack_hash);
    if (at == SIZE_MAX) continue;
    Callsite& cs = out.callsites[at];
    if (!cs.python.empty()) throw Error(fmt::format("two python stacks for callsite 0x{:x}", stack.stack_hash));
    if (max > cs.frames.size()) {
      throw Error(fmt::format("python frame of callsite 0x{:x} refers to native frame {} of {}",
                              stack.stack_hash, max - 1, cs.frames.size()));
    }
    cs.python = PythonStack(&s, leaf, stack.count);
    name_bytes += stack_names;
  }
  free_charged(names, budget);
  free_charged(depth, budget);
  free_charged(p.inline_python, budget);
  free_charged(p.python_stacks, budget);
  return name_bytes;
}

void attach_marks(PendingStacks& p, Trace& out, const CallsiteIndex& index, Budget& budget) {
  std::vector<std::pair<size_t, MarkLive>> found;  // callsite index, record
  reserve_charged(found, p.mark_live.size(), budget, "marks section");
  for (const auto& r : p.mark_live) {
    size_t at = index.find(r.stack_hash);
    // Not checked against live_blocks: a snapshot of a running process counts the two at
    // slightly different moments, so they may disagree by a few blocks.
    if (at != SIZE_MAX) found.push_back({at, {r.mark, r.blocks, r.bytes}});
  }
  free_charged(p.mark_live, budget);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.mark < b.second.mark;
  });
  auto& pool = p.store->after_marks;
  reserve_charged(pool, found.size(), budget, "marks section");
  for (size_t i = 0; i < found.size(); ++i) {
    if (i && found[i].first == found[i - 1].first && found[i].second.mark == found[i - 1].second.mark) {
      throw Error(fmt::format("callsite 0x{:x} has two records for mark {}",
                              out.callsites[found[i].first].record.stack_hash, found[i].second.mark));
    }
    pool.push_back(found[i].second);
  }
  for (size_t i = 0, end; i < found.size(); i = end) {
    for (end = i + 1; end < found.size() && found[end].first == found[i].first;) ++end;
    out.callsites[found[i].first].after_marks = std::span<const MarkLive>(pool).subspan(i, end - i);
  }
  free_charged(found, budget);
}

// What the stacks expand to in a report, checked against the file's size (trace_reader.h).
void check_expansion(const Trace& out, uint64_t name_bytes, uint64_t file_size) {
  uint64_t frames = 0;
  for (const auto& cs : out.callsites) frames += cs.frames.size() + cs.python.size();
  if (frames > file_size * kMaxFramesPerByte + kFramesSlack) {
    throw Error(fmt::format("the callsites' stacks expand to {} frames, more than {} per byte of a "
                            "{}-byte trace: the file is damaged or hostile", frames, kMaxFramesPerByte,
                            file_size));
  }
  if (name_bytes > file_size * kMaxNameBytesPerByte + kNameBytesSlack) {
    throw Error(fmt::format("the callsites' Python frames name {} bytes, more than {} per byte of a "
                            "{}-byte trace: the file is damaged or hostile", name_bytes,
                            kMaxNameBytesPerByte, file_size));
  }
}

}  // namespace

void check_blob_offset(const std::string& blob, size_t last_nul, uint32_t offset, const char* owner,
                       uint64_t index, const char* what) {
  if (last_nul == std::string::npos || offset > last_nul) {
    throw Error(fmt::format("{} {} has a {} at offset {} outside the {}-byte string blob or not "
                            "NUL-terminated", owner, index, what, offset, blob.size()));
  }
}

void attach_stacks(PendingStacks& pending, Trace& out, Budget& budget, uint64_t file_size) {
  attach_native(pending, out, budget);
  CallsiteIndex index(out.callsites, budget);
  uint64_t name_bytes = attach_python(pending, out, index, budget);
  attach_marks(pending, out, index, budget);
  check_expansion(out, name_bytes, file_size);
  out.stacks = pending.store;
}

}  // namespace libleak
