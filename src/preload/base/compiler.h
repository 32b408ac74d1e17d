// Attributes every part of libleak.so uses: what is exported, what stays out of line, and the
// thread-local storage model. Initial-exec TLS: a thread-local read inside malloc must never call
// __tls_get_addr, which may allocate.
#pragma once

#define LIBLEAK_EXPORT extern "C" __attribute__((visibility("default")))
#define LIBLEAK_NOINLINE __attribute__((noinline))
#define LIBLEAK_LIKELY(x) __builtin_expect(!!(x), 1)
#define LIBLEAK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LIBLEAK_TLS __thread __attribute__((tls_model("initial-exec")))
