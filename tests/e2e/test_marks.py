"""Phase marks (libleak_mark): per leak, the blocks still live that were allocated after each
mark, in JSON and text, at exit and in a snapshot taken while running (libleak_snapshot)."""
import os

from harness import PROGRAMS, Scenario, line_of, main

SRC = os.path.join(PROGRAMS, "marks.c")
INCLUDE = os.path.join(PROGRAMS, "..", "..", "..", "include")


class Marks(Scenario):
    def run_program(self):
        exe = self.compile("marks.c", flags=["-I", INCLUDE])
        snapshot = os.path.join(self.tmp, "snapshot.bin")
        proc, trace = self.run_traced([exe, snapshot])
        self.assertEqual(proc.stdout, "0 0 1\n")
        plain = self.run_plain([exe, snapshot])  # without libleak.so the weak API is absent
        self.assertEqual((plain.returncode, plain.stdout), (0, "-1 -1 -1\n"))
        return trace, snapshot

    def leak_of(self, report, verdicts):
        """The leak_some entries merged: (bytes, blocks, after_marks of the callsite)."""
        leaks = self.leaks_in(report, "leak_some")
        self.assertEqual(sorted(l["verdict"] for l in leaks), verdicts)
        for l in leaks:
            self.assertEqual(self.blamed(l)["line"], line_of(SRC, "MARKS_LEAK"))
            self.assertEqual(l["after_marks"], leaks[0]["after_marks"])  # one callsite
        return sum(l["bytes"] for l in leaks), sum(l["blocks"] for l in leaks), leaks[0]["after_marks"]

    def test_marks_at_exit(self):
        trace, _ = self.run_program()
        report = self.report(trace)
        self.assertEqual(report["process"]["exit"], "normal")
        self.assertEqual([m["label"] for m in report["marks"]], ["warm-up done", "shutdown"])
        self.assertLessEqual(report["marks"][0]["time_ns"], report["marks"][1]["time_ns"])
        self.assertGreater(report["marks"][0]["time_ns"], 0)
        # 8 blocks leaked in all, 5 of them after "warm-up done", none after "shutdown".
        self.assertEqual(self.leak_of(report, ["unreachable"]),
                         (8 * 24, 8, [{"mark": 0, "blocks": 5, "bytes": 5 * 24}]))
        text = self.leakreport(trace).stdout
        self.assertRegex(text, r'\nmark 0 "warm-up done" at \+\d+\.\d{3} s: 120 bytes in 5 blocks '
                               r'allocated after it still live\n')
        self.assertRegex(text, r'\nmark 1 "shutdown" at \+\d+\.\d{3} s: 0 bytes in 0 blocks '
                               r'allocated after it still live\n')
        self.assertIn('#1 unreachable: 192 bytes in 8 blocks (malloc)\n'
                      '    after mark 0 "warm-up done": 120 bytes in 5 blocks of this callsite still live\n'
                      '  > #0 ', text)

    def test_snapshot_while_running(self):
        _, snapshot = self.run_program()
        report = self.report(snapshot)
        self.assertEqual(report["process"]["exit"], "running")
        self.assertEqual([m["label"] for m in report["marks"]], ["warm-up done"])
        self.assertEqual(self.leak_of(report, ["unfreed"]),
                         (8 * 24, 8, [{"mark": 0, "blocks": 5, "bytes": 5 * 24}]))


if __name__ == "__main__":
    main()
