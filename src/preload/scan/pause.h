// Pausing every other thread of the process for the reachability scan: each is sent a real-time
// signal nobody else handles and waits in its handler, its registers saved, until resumed. The
// scan then reads their stacks and registers, and no block is freed while it reads.
#pragma once

#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#include <atomic>

namespace libleak {

struct PausedThread {
  std::atomic<uint32_t> acked;  // its handler has written the fields below
  uintptr_t sp;                 // its stack pointer when the signal landed
  uintptr_t tp;                 // its thread pointer (TLS)
  greg_t regs[NGREG];
};

// Pauses the other threads (skip_tid excepted: libleak's own thread, or 0) and says how many took
// a slot; threads that block the signal are never paused. False when there is no memory for the
// slots: nothing was paused. After true, resume_other_threads() must follow.
bool pause_other_threads(pid_t skip_tid, uint32_t* paused);
// Paused thread i (< the count above), or nullptr if it did not finish saving its registers in
// time.
const PausedThread* paused_thread(uint32_t i);
void resume_other_threads();

}  // namespace libleak
