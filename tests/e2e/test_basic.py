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

    def test_two_runs_give_the_same_verdicts(self):
        # Addresses differ between runs (ASLR); the verdicts of the program's leaks must not.
        exe = self.compile("basic_leaks.c")

        def verdicts(name):
            _, trace = self.run_traced([exe], trace_name=name)
            return sorted((self.blamed(l).get("function"), l["verdict"], l["indirect"], l["bytes"], l["blocks"])
                          for l in self.report(trace)["leaks"]
                          if self.blamed(l).get("function") in ("leak_small", "leak_calloc", "no_leak"))

        first = verdicts("first.bin")
        self.assertEqual(first, [("leak_calloc", "unreachable", False, 300, 3),
                                 ("leak_small", "unreachable", False, 1000, 10)])
        self.assertEqual(verdicts("second.bin"), first)


if __name__ == "__main__":
    main()
