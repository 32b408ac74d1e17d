// Unit tests of the reachability scan (src/preload/scan.cpp) without LD_PRELOAD: the test records
// its own malloc'd blocks through the recorder, builds pointer structures, scans, and checks the
// verdict counts of each callsite. Each structure is built by its own noinline function, so each
// has its own callsite, on a thread that has exited before the scan: no stack slot or register of
// the scanning thread ever held one of the pointers.
#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "base/config.h"
#include "recorder/state.h"
#include "scan/scan.h"
#include "stacks/modules.h"

using namespace libleak;

namespace {

struct Node {
  Node* next;
  Node* child[2];
  char payload[40];
};

Node* g_root = nullptr;  // a root: this test binary's writable segment

__attribute__((noinline)) Node* recorded_node() {
  auto* n = static_cast<Node*>(calloc(1, sizeof(Node)));
  record_alloc(n, sizeof(Node), trace::kDomainMalloc);
  return n;
}

// Each builder allocates through its own call path, hence its own callsite.
__attribute__((noinline)) uint32_t build_reachable_chain(int n) {
  for (int i = 0; i < n; ++i) {
    Node* node = recorded_node();
    node->next = g_root;
    g_root = node;
  }
  LiveBlock b;
  g_live.find(reinterpret_cast<uintptr_t>(g_root), &b);
  return b.callsite;
}

// n nodes from one call site (so one callsite), in an array that dies with the caller's frame.
__attribute__((noinline)) void recorded_nodes(Node** out, int n) {
  for (int i = 0; i < n; ++i) out[i] = recorded_node();
}

__attribute__((noinline)) uint32_t build_lost_tree() {
  Node* n[5];
  recorded_nodes(n, 5);
  Node* root = n[0];
  root->child[0] = n[1];
  root->child[1] = n[2];
  n[1]->child[0] = n[3];
  n[2]->child[0] = n[4];
  memset(n, 0, sizeof n);
  LiveBlock b;
  g_live.find(reinterpret_cast<uintptr_t>(root), &b);
  return b.callsite;  // the root is forgotten here: 1 direct, 4 indirect blocks
}

__attribute__((noinline)) uint32_t build_lost_cycle() {
  Node* n[2];
  recorded_nodes(n, 2);
  Node* a = n[0];
  Node* b = n[1];
  memset(n, 0, sizeof n);
  a->next = b;
  b->next = a;
  LiveBlock lb;
  g_live.find(reinterpret_cast<uintptr_t>(a), &lb);
  return lb.callsite;  // a cycle nobody points to: one member direct, the other indirect
}

__attribute__((noinline)) uint32_t build_interior_only() {
  // Only a pointer into the middle of the block survives (Python objects are referenced past
  // their GC header): the block is reachable.
  Node* n = recorded_node();
  g_root->child[1] = reinterpret_cast<Node*>(n->payload + 8);
  LiveBlock b;
  g_live.find(reinterpret_cast<uintptr_t>(n), &b);
  return b.callsite;
}

uint32_t callsite_of(const void* p) {
  LiveBlock b{};
  g_live.find(reinterpret_cast<uintptr_t>(p), &b);
  return b.callsite;
}

__attribute__((noinline)) void* recorded_array(size_t bytes) {
  void* p = calloc(1, bytes);
  record_alloc(p, bytes, trace::kDomainMalloc);
  return p;
}

// More pointers in one block than the scan's mark stack holds (65,536): the blocks found past
// that wait as pending and are scanned in a later pass.
constexpr int kWide = 70000;
Node** g_wide = nullptr;  // a root

__attribute__((noinline)) Node* recorded_child() { return recorded_node(); }

// A reachable array of kWide nodes, each with a child of its own: the children of the nodes that
// waited as pending are found only when those are scanned. Sites: array, nodes, children.
struct WideSites {
  uint32_t array, nodes, children;
};
__attribute__((noinline)) WideSites build_wide_reachable() {
  g_wide = static_cast<Node**>(recorded_array(kWide * sizeof(Node*)));
  recorded_nodes(g_wide, kWide);
  for (int i = 0; i < kWide; ++i) g_wide[i]->child[0] = recorded_child();
  return {callsite_of(g_wide), callsite_of(g_wide[0]), callsite_of(g_wide[0]->child[0])};
}

// A lost array of kWide nodes, each pointing back to it and to the lowest node: one lost cycle.
// The scan meets the lowest node first (small blocks go in address order), so it leads, and the
// nodes that wait as pending point to it: it must stay the leader.
__attribute__((noinline)) std::pair<uint32_t, uint32_t> build_wide_lost_cycle() {
  auto** a = static_cast<Node**>(recorded_array(kWide * sizeof(Node*)));
  recorded_nodes(a, kWide);
  Node* lowest = *std::min_element(a, a + kWide);
  for (int i = 0; i < kWide; ++i) a[i]->next = reinterpret_cast<Node*>(a), a[i]->child[0] = lowest;
  std::pair<uint32_t, uint32_t> sites{callsite_of(a), callsite_of(a[0])};
  return sites;
}

// A lost chain large -> small -> large: the hashed table's blocks and the address index's are
// found through each other. Sites: root, middle, leaf.
struct MixedSites {
  uint32_t root, middle, leaf;
};
__attribute__((noinline)) MixedSites build_lost_mixed() {
  auto** root = static_cast<Node**>(recorded_array(1024));
  Node* middle = recorded_node();
  void* leaf = recorded_array(2048);
  root[5] = middle;
  middle->child[1] = static_cast<Node*>(leaf);
  return {callsite_of(root), callsite_of(middle), callsite_of(leaf)};
}

const Callsite& site(uint32_t id) { return g_callsites.entry(id); }

}  // namespace

TEST(Scan, ClassifiesReachableDirectIndirectAndInterior) {
  config_load();
  recorder_set_allocator(RealAllocator{malloc_usable_size, true});  // the test has no hooks
  recorder_init();
  ASSERT_TRUE(recorder_ready());
  set_own_module_range_for_tests(0, 0);  // the recorder is linked into this test executable
  uint32_t chain = 0, tree = 0, cycle = 0, interior = 0;
  WideSites wide{};
  std::pair<uint32_t, uint32_t> wide_lost;
  MixedSites mixed{};
  std::thread builder([&] {
    chain = build_reachable_chain(50);
    tree = build_lost_tree();
    cycle = build_lost_cycle();
    interior = build_interior_only();
    wide = build_wide_reachable();
    wide_lost = build_wide_lost_cycle();
    mixed = build_lost_mixed();
  });
  builder.join();
  ASSERT_TRUE(scan_for_leaks(0));

  EXPECT_EQ(site(chain).unreachable_blocks, 0u);
  EXPECT_EQ(site(chain).indirect_blocks, 0u);
  EXPECT_EQ(site(interior).unreachable_blocks, 0u);
  EXPECT_EQ(site(interior).indirect_blocks, 0u);
  EXPECT_EQ(site(tree).unreachable_blocks, 1u);
  EXPECT_EQ(site(tree).unreachable_bytes, sizeof(Node));
  EXPECT_EQ(site(tree).indirect_blocks, 4u);
  EXPECT_EQ(site(tree).indirect_bytes, 4 * sizeof(Node));
  EXPECT_EQ(site(cycle).unreachable_blocks, 1u);
  EXPECT_EQ(site(cycle).indirect_blocks, 1u);

  for (uint32_t id : {wide.array, wide.nodes, wide.children}) {
    EXPECT_EQ(site(id).unreachable_blocks, 0u) << id;
    EXPECT_EQ(site(id).indirect_blocks, 0u) << id;
  }
  // A cycle: whichever member the scan meets first leads, the kWide others are indirect.
  const Callsite &array = site(wide_lost.first), &nodes = site(wide_lost.second);
  EXPECT_EQ(array.unreachable_blocks + nodes.unreachable_blocks, 1u);
  EXPECT_EQ(array.unreachable_blocks + array.indirect_blocks, 1u);
  EXPECT_EQ(nodes.unreachable_blocks + nodes.indirect_blocks, uint64_t(kWide));
  EXPECT_EQ(array.unreachable_bytes + array.indirect_bytes, kWide * sizeof(Node*));
  EXPECT_EQ(nodes.unreachable_bytes + nodes.indirect_bytes, kWide * sizeof(Node));
  EXPECT_EQ(site(mixed.root).unreachable_blocks, 1u);
  EXPECT_EQ(site(mixed.root).unreachable_bytes, 1024u);
  EXPECT_EQ(site(mixed.middle).indirect_blocks, 1u);
  EXPECT_EQ(site(mixed.middle).unreachable_blocks, 0u);
  EXPECT_EQ(site(mixed.leaf).indirect_blocks, 1u);
  EXPECT_EQ(site(mixed.leaf).indirect_bytes, 2048u);

  // After an early scan, a kept unreachable block that is freed no longer counts.
  LiveBlock any;
  uintptr_t lost_tree_block = 0;
  g_live.for_each([&](const LiveBlock& b) {
    if (b.callsite == cycle) lost_tree_block = b.address;
  });
  ASSERT_NE(lost_tree_block, 0u);
  ASSERT_TRUE(g_live.find(lost_tree_block, &any));
  record_free(reinterpret_cast<void*>(lost_tree_block));
  ASSERT_TRUE(scan_recount_kept());
  EXPECT_EQ(site(cycle).unreachable_blocks + site(cycle).indirect_blocks, 1u);
}
