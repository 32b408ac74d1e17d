"""Edge cases of the allocation API: realloc to 0 and from NULL, failing calls (NULL + ENOMEM,
the old block kept), the aligned allocators and reallocarray tracked with exact sizes, and errno
left exactly as the program and the real allocator left it."""
import os

from harness import PROGRAMS, Scenario, line_of, main

SRC = os.path.join(PROGRAMS, "realloc_edge.c")

EXPECTED = {  # function: (bytes, marker); one lost block each
    "leak_realloc_null": (123, "REALLOC_NULL"),
    "leak_realloc_fail": (64, "REALLOC_FAIL"),
    "leak_posix_memalign": (200, "POSIX_MEMALIGN"),
    "leak_aligned_alloc": (256, "ALIGNED_ALLOC"),
    "leak_memalign": (96, "MEMALIGN_PLAIN"),
    "leak_valloc": (1000, "VALLOC"),
    "leak_reallocarray": (300, "REALLOCARRAY"),
}


class ReallocEdge(Scenario):
    def setUp(self):
        super().setUp()
        self.exe = self.compile("realloc_edge.c")
        self.plain = self.run_plain([self.exe])
        self.assertEqual(self.plain.returncode, 0, self.plain.stderr)
        self.traced, trace = self.run_traced([self.exe])
        self.report_json = self.report(trace)

    def test_program_sees_the_same_results_and_errno(self):
        # Failing calls return NULL with ENOMEM, successful ones leave errno alone: the output,
        # which prints both, is identical with and without libleak.
        self.assertEqual(self.traced.stdout, self.plain.stdout)
        out = self.plain.stdout
        for line in ["realloc(p, 0) -> NULL", "realloc(p, huge) -> NULL errno=ENOMEM p intact=1",
                     "malloc(SIZE_MAX) -> NULL errno=ENOMEM", "calloc(overflow) -> NULL errno=ENOMEM",
                     "reallocarray(overflow) -> NULL errno=ENOMEM", "posix_memalign(huge) -> ENOMEM out unchanged=1",
                     "errno after malloc: 1234", "errno after realloc: 2345", "errno after free: 3456",
                     "errno after calloc: 4567", "errno after free(NULL): 5678",
                     "errno after posix_memalign+free: 6789"]:
            self.assertIn(line + "\n", out)

    def test_each_allocator_tracked_exactly(self):
        report = self.report_json
        for function, (size, marker) in EXPECTED.items():
            leak = self.leak_in(report, function, "unreachable")
            self.assertEqual((leak["bytes"], leak["blocks"], leak["indirect"]), (size, 1, False), function)
            self.assertEqual(self.blamed(leak)["line"], line_of(SRC, marker), function)
        # realloc(p, 0) freed p; the failing calls and errno_kept left nothing behind.
        for function in ("realloc_zero", "failing_calls", "errno_kept"):
            self.assertEqual(self.leaks_in(report, function), [], function)
        self.assertEqual(report["stats"]["unknown_frees"], 0)

    def test_pvalloc_counts_whole_pages(self):
        # pvalloc rounds the size up to whole pages, and all of it is the program's.
        page = int(self.plain.stdout.rsplit("page=", 1)[1])
        leak = self.leak_in(self.report_json, "leak_pvalloc", "unreachable")
        self.assertEqual((leak["bytes"], leak["blocks"]), (-(-5000 // page) * page, 1))
        self.assertEqual(self.blamed(leak)["line"], line_of(SRC, "PVALLOC"))


if __name__ == "__main__":
    main()
