// Phase marks set by libleak_mark(). A mark bumps the epoch so that every block allocated after
// it has a strictly later birth epoch than every block allocated before it.
#pragma once

#include <stdint.h>

namespace libleak {

inline constexpr uint32_t kMaxMarks = 16;

struct Mark {
  uint64_t time_ns;
  uint32_t epoch;  // first epoch after the mark
  uint32_t label_len;
  char label[64];
};

int marks_add(const char* label);  // index, or -1 when full
uint32_t marks_count();            // marks [0, count) are fully written
const Mark& mark_at(uint32_t i);
uint32_t marks_epoch_bias();       // added to the time-based epoch

}  // namespace libleak
