"""Roots of the exit scan: a block whose only pointer is in a global, on the stack of a thread
blocked while main calls exit(), or in such a thread's __thread variable is reachable; the same
program with the pointer overwritten reports it unreachable."""
import os

from harness import PROGRAMS, Scenario, line_of, main

SRC = os.path.join(PROGRAMS, "reachability.c")


class Reachability(Scenario):
    def setUp(self):
        super().setUp()
        self.exe = self.compile("reachability.c")

    def verdict_of(self, mode, function, marker, size, *, lose=False):
        argv = [self.exe, mode] + (["lose"] if lose else [])
        proc, trace = self.run_traced(argv, trace_name=f"{mode}-{lose}.bin")
        self.assertEqual(proc.stdout, mode + "\n")
        report = self.report(trace)
        self.assertTrue(report["process"]["scan_done"])
        leak = self.leak_in(report, function)
        self.assertEqual((leak["bytes"], leak["blocks"]), (size, 1))
        self.assertEqual(self.blamed(leak)["line"], line_of(SRC, marker))
        return leak["verdict"], leak["indirect"]

    def check(self, mode, function, marker, size):
        self.assertEqual(self.verdict_of(mode, function, marker, size), ("reachable", False))
        self.assertEqual(self.verdict_of(mode, function, marker, size, lose=True), ("unreachable", False))

    def test_global(self):
        self.check("global", "keep_global", "KEEP_GLOBAL", 777)

    def test_stack_of_thread_blocked_in_pause(self):
        self.check("stack", "keep_on_stack", "KEEP_STACK", 555)

    def test_stack_of_thread_blocked_in_cond_wait(self):
        self.check("condwait", "keep_on_stack", "KEEP_STACK", 555)

    def test_stack_of_blocked_thread_block_from_realloc(self):
        self.check("realloc", "keep_by_realloc", "KEEP_REALLOC", 444)

    def test_tls_of_blocked_thread(self):
        self.check("tls", "keep_in_tls", "KEEP_TLS", 333)

    def test_chain_from_global(self):
        # Reachability is transitive: every node of a list headed by a global is reachable.
        proc, trace = self.run_traced([self.exe, "chain"])
        report = self.report(trace)
        nodes = self.leaks_in(report, "keep_chained")
        self.assertEqual([(l["verdict"], l["bytes"], l["blocks"]) for l in nodes], [("reachable", 20 * 444, 20)])
        # Lost: the head is the one direct leak, the 20 nodes hang off it.
        proc, trace = self.run_traced([self.exe, "chain", "lose"], trace_name="lost.bin")
        report = self.report(trace)
        head = self.leak_in(report, "keep_global")
        self.assertEqual((head["verdict"], head["indirect"], head["blocks"]), ("unreachable", False, 1))
        nodes = self.leaks_in(report, "keep_chained")
        self.assertEqual([(l["verdict"], l["indirect"], l["bytes"], l["blocks"]) for l in nodes],
                         [("unreachable", True, 20 * 444, 20)])


if __name__ == "__main__":
    main()
