// Known answers: make_widgets leaks 7 Widgets through `new` (7 x 48 bytes) and one
// `new Gadget[3]` (3 x 40 + 8-byte array cookie); make_tree loses a tree of 1 root, 4 children,
// 8 grandchildren (all 64-byte Nodes): only the root is a direct leak. churn() leaks nothing.
#include <cstdio>
#include <cstring>

struct Widget {
  long values[5];
  int id;
};
static_assert(sizeof(Widget) == 48);

struct Gadget {
  char name[40];
  ~Gadget() { name[0] = 0; }  // non-trivial: new[] stores an element count before the array
};
static_assert(sizeof(Gadget) == 40);

struct Node {
  Node* kids[4];
  char payload[32];
};
static_assert(sizeof(Node) == 64);

static void* volatile sink;

__attribute__((noinline)) void make_widgets(int n) {
  for (int i = 0; i < n; ++i) {
    Widget* w = new Widget();  // LEAK_NEW
    w->id = i;
    sink = w;
  }
  sink = new Gadget[3];  // LEAK_NEW_ARRAY
  sink = nullptr;
}

__attribute__((noinline)) Node* make_grandchild() {
  return new Node();  // GRANDCHILD
}

__attribute__((noinline)) Node* make_child() {
  Node* n = new Node();  // CHILD
  for (int k = 0; k < 2; ++k) n->kids[k] = make_grandchild();
  return n;
}

__attribute__((noinline)) void make_tree() {
  Node* root = new Node();  // ROOT
  for (int i = 0; i < 4; ++i) root->kids[i] = make_child();
  sink = root;
  sink = nullptr;
}

__attribute__((noinline)) void churn() {
  for (int i = 0; i < 1000; ++i) {
    Widget* w = new Widget();
    Widget* many = new Widget[10];
    Gadget* g = new Gadget[2];
    delete w;
    delete[] many;
    delete[] g;
  }
}

// Overwrites the dead stack below main's frame so no stale copy of a lost pointer survives
// there until the exit scan.
__attribute__((noinline)) void clobber_stack() {
  volatile char buf[64 * 1024];
  memset(const_cast<char*>(buf), 0, sizeof buf);
}

int main() {
  make_widgets(7);
  make_tree();
  churn();
  clobber_stack();
  std::printf("done\n");
  return 0;
}
