// StackTree (src/preload/stack_tree.cpp), the trace writer's frame-sharing tree: against a plain
// map-based model of the same insertions (node ids must match exactly: the trace refers to them),
// across index and node-array growth, reuse after reset(), stacks deeper than the compare memo,
// and two-word (Python) frames.
#include "trace/stack_tree.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace libleak {
namespace {

// Reference model: (parent, frame words) -> node, ids handed out in insertion order.
struct Model {
  uint32_t words;
  std::map<std::tuple<uint32_t, uint64_t, uint64_t>, uint32_t> nodes;
  uint32_t add_stack(const std::vector<uint64_t>& frames) {
    uint32_t node = 0, depth = uint32_t(frames.size() / words);
    for (uint32_t i = depth; i-- > 0;) {
      auto key = std::make_tuple(node, frames[i * words], words == 2 ? frames[i * words + 1] : 0);
      auto [it, added] = nodes.emplace(key, uint32_t(nodes.size()) + 1);
      node = it->second;
    }
    return node;
  }
};

// The frames of the stack ending at `leaf`, innermost first, read back through parent links.
std::vector<uint64_t> walk(const StackTree& tree, uint32_t leaf, uint32_t words) {
  std::vector<uint64_t> out;
  for (uint32_t node = leaf; node; node = tree.parent(node - 1)) {
    EXPECT_LT(tree.parent(node - 1), node) << "a parent is always an earlier node";
    for (uint32_t w = 0; w < words; ++w) out.push_back(tree.frame(node - 1)[w]);
  }
  return out;
}

// Stacks that look like real ones: a shared outer part (main, the interpreter loop), a middle
// drawn from a small set of functions, and a varied innermost part. Each stack also repeats a
// random number of the previous stack's outer frames, so that consecutive stacks share outer
// parts of every length (the tree's compare memo must hand over the right node at each).
std::vector<std::vector<uint64_t>> make_stacks(uint32_t count, uint32_t words, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<uint64_t>> stacks;
  std::vector<uint64_t> prev;  // outermost first
  for (uint32_t s = 0; s < count; ++s) {
    uint32_t depth = 1 + uint32_t(rng() % 60);
    uint32_t keep = uint32_t(rng() % (prev.size() / words + 1));
    std::vector<uint64_t> outer_first;
    for (uint32_t outer = 0; outer < depth; ++outer) {
      for (uint32_t w = 0; w < words; ++w) {
        uint64_t v = outer < 5 ? 0x400000 + outer : outer < 15 ? 0x500000 + rng() % 8 : 0x600000 + rng() % 5000;
        outer_first.push_back(outer < keep ? prev[uint64_t(outer) * words + w] : v + w * 0x1000000);
      }
    }
    prev = outer_first;
    std::vector<uint64_t> frames;  // innermost first, as the recorder stores them
    for (uint32_t i = depth; i-- > 0;)
      for (uint32_t w = 0; w < words; ++w) frames.push_back(outer_first[uint64_t(i) * words + w]);
    stacks.push_back(std::move(frames));
  }
  return stacks;
}

void check_against_model(uint32_t words, uint32_t count, uint32_t seed) {
  auto stacks = make_stacks(count, words, seed);
  StackTree tree(words);
  Model model{words, {}};
  for (const auto& frames : stacks) {
    uint32_t depth = uint32_t(frames.size() / words);
    uint32_t leaf = tree.add_stack(frames.data(), depth);
    ASSERT_EQ(leaf, model.add_stack(frames));
    ASSERT_EQ(walk(tree, leaf, words), frames);
  }
  EXPECT_EQ(tree.size(), model.nodes.size());
  EXPECT_GT(tree.size(), 8192u) << "the test must grow the node arrays and the index";
  // Every stack again, in another order: nothing new, the same leaves.
  uint32_t size = tree.size();
  for (auto it = stacks.rbegin(); it != stacks.rend(); ++it)
    ASSERT_EQ(tree.add_stack(it->data(), uint32_t(it->size() / words)), model.add_stack(*it));
  EXPECT_EQ(tree.size(), size);
  tree.release();
}

TEST(StackTree, NativeFramesMatchTheModel) { check_against_model(1, 3000, 1); }
TEST(StackTree, PythonFramesMatchTheModel) { check_against_model(2, 3000, 2); }

TEST(StackTree, SharedOuterFramesAreOneNode) {
  StackTree tree(1);
  const uint64_t a[] = {0x30, 0x20, 0x10};  // innermost first: 0x10 is the outermost frame
  const uint64_t b[] = {0x31, 0x20, 0x10};
  const uint64_t c[] = {0x20, 0x10};  // a prefix of both, from the outside
  EXPECT_EQ(tree.add_stack(a, 3), 3u);
  EXPECT_EQ(tree.add_stack(b, 3), 4u);
  EXPECT_EQ(tree.add_stack(c, 2), 2u);
  EXPECT_EQ(tree.add_stack(a, 3), 3u);
  EXPECT_EQ(tree.size(), 4u);
  EXPECT_EQ(tree.parent(3), 2u);
  EXPECT_EQ(tree.parent(1), 1u);
  EXPECT_EQ(tree.parent(0), 0u);
  EXPECT_EQ(tree.add_stack(a, 0), 0u) << "an empty stack has no node";
  tree.release();
}

// The compare memo covers the outer 256 frames; deeper stacks still get every frame.
TEST(StackTree, StacksDeeperThanTheMemo) {
  StackTree tree(1);
  std::vector<uint64_t> deep(300), deeper(301);
  for (uint32_t i = 0; i < 300; ++i) deep[i] = 1000 + i;
  deeper[0] = 7;
  for (uint32_t i = 0; i < 300; ++i) deeper[i + 1] = deep[i];
  uint32_t leaf = tree.add_stack(deep.data(), 300);
  EXPECT_EQ(leaf, 300u);
  EXPECT_EQ(walk(tree, leaf, 1), deep);
  uint32_t leaf2 = tree.add_stack(deeper.data(), 301);
  EXPECT_EQ(leaf2, 301u);
  EXPECT_EQ(tree.parent(leaf2 - 1), leaf);
  EXPECT_EQ(walk(tree, leaf2, 1), deeper);
  // Differs from `deep` only at its outermost frame: nothing shared.
  std::vector<uint64_t> other = deep;
  other[299] = 5;
  EXPECT_EQ(walk(tree, tree.add_stack(other.data(), 300), 1), other);
  EXPECT_EQ(tree.size(), 601u);
  tree.release();
}

TEST(StackTree, ResetKeepsNothingButTheMemory) {
  StackTree tree(1);
  auto stacks = make_stacks(2000, 1, 3);
  for (const auto& s : stacks) tree.add_stack(s.data(), uint32_t(s.size()));
  ASSERT_GT(tree.size(), 1000u);
  tree.reset();
  EXPECT_EQ(tree.size(), 0u);
  // Rebuilt from nothing: the same ids as a fresh tree's, and the memo does not refer to stacks
  // added before the reset.
  StackTree fresh(1);
  for (auto it = stacks.rbegin(); it != stacks.rend(); ++it) {
    uint32_t depth = uint32_t(it->size());
    ASSERT_EQ(tree.add_stack(it->data(), depth), fresh.add_stack(it->data(), depth));
  }
  EXPECT_EQ(tree.size(), fresh.size());
  tree.release();
  fresh.release();
  EXPECT_EQ(tree.size(), 0u);
}

}  // namespace
}  // namespace libleak
