"""Core scenario: exact bytes, blocks, function and line for plain C leaks."""
import os

from harness import PROGRAMS, Scenario, line_of, main


class BasicLeaks(Scenario):
    def test_exact_leaks_blamed_on_function_and_line(self):
        exe = self.compile("basic_leaks.c")
        proc, trace = self.run_traced([exe])
        self.assertEqual(proc.stdout, "done\n")
        report = self.report(trace)
        src = os.path.join(PROGRAMS, "basic_leaks.c")

        small = self.leak_in(report, "leak_small", "unreachable")
        self.assertEqual((small["bytes"], small["blocks"]), (1000, 10))
        self.assertEqual(self.blamed(small)["line"], line_of(src, "LEAK_SMALL"))
        self.assertTrue(self.blamed(small)["file"].endswith("basic_leaks.c"))

        cal = self.leak_in(report, "leak_calloc", "unreachable")
        self.assertEqual((cal["bytes"], cal["blocks"]), (300, 3))
        self.assertEqual(self.blamed(cal)["line"], line_of(src, "LEAK_CALLOC"))

        self.assertEqual(self.leaks_in(report, "no_leak"), [])


if __name__ == "__main__":
    main()
