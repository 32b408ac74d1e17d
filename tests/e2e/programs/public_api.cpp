// The public API from C++, unguarded and guarded as the header's earlier comment advised: prints
// "<mark> <guarded mark> <snapshot> <symbol present>"; runs without libleak.so (all -1, 0).
#include <cstdio>

#include "libleak/libleak.h"

namespace app {
int phase(const char* label) { return libleak_mark(label); }
}  // namespace app

int main() {
  int mark = app::phase("start");
  int guarded = libleak_mark ? libleak_mark("guarded") : -1;
  int snapshot = libleak_snapshot();
  std::printf("%d %d %d %d\n", mark, guarded, snapshot, &libleak_snapshot != nullptr);
  return 0;
}
