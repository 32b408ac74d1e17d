"""The public API (include/libleak/libleak.h) is safe without libleak: examples/phases.c calls
libleak_mark() unguarded, runs with exit 0 and the same output without the preload (the call
returns -1; issue 16: it crashed with SIGSEGV), and under libleak.so its mark is in the report.
The same from C++, where a guarded call (`libleak_mark ? libleak_mark(...) : -1`) still works."""
import os

from harness import HERE, Scenario, line_of, main

EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "phases.c"))
INCLUDE = os.path.normpath(os.path.join(HERE, "..", "..", "include"))


class PublicApi(Scenario):
    def build(self, *flags):
        return self.compile(EXAMPLE, flags=["-I", INCLUDE, "-Wall", "-Wextra", "-Werror", *flags])

    def test_runs_without_libleak(self):
        for flags in ([], ["-O2"]):
            with self.subTest(flags=flags):
                plain = self.run_plain([self.build(*flags)])
                self.assertEqual((plain.returncode, plain.stdout, plain.stderr),
                                 (0, "100 requests, 10 errors; libleak_mark returned -1\n", ""))

    def test_cxx_with_and_without_libleak(self):
        exe = self.compile("public_api.cpp", cxx=True, flags=["-I", INCLUDE, "-Wall", "-Wextra", "-Werror"])
        plain = self.run_plain([exe])
        self.assertEqual((plain.returncode, plain.stdout), (0, "-1 -1 -1 0\n"))
        traced, trace = self.run_traced([exe])
        self.assertEqual(traced.stdout, "0 1 0 1\n")
        self.assertEqual([m["label"] for m in self.report(trace)["marks"]], ["start", "guarded"])

    def test_mark_in_report_under_libleak(self):
        proc, trace = self.run_traced([self.build()])
        self.assertEqual(proc.stdout, "100 requests, 10 errors; libleak_mark returned 0\n")
        report = self.report(trace)
        self.assertEqual([m["label"] for m in report["marks"]], ["warm-up done"])
        leak = self.leak_in(report, "serve", "unreachable")
        self.assertEqual((leak["bytes"], leak["blocks"], self.blamed(leak)["line"]),
                         (320, 10, line_of(EXAMPLE, "PHASES_LEAK")))
        self.assertEqual(leak["after_marks"], [{"mark": 0, "blocks": 10, "bytes": 320}])
        cache = self.leak_in(report, "warm_up", "reachable")
        self.assertEqual((cache["bytes"], cache["blocks"]), (64 * 128, 64))
        self.assertIn('#1 unreachable: 320 bytes in 10 blocks (malloc)\n'
                      '    after mark 0 "warm-up done": 320 bytes in 10 blocks of this callsite still live\n',
                      self.leakreport(trace).stdout)


if __name__ == "__main__":
    main()
