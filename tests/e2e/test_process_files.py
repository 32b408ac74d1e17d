"""Trace files are written without following symlinks: a symlink planted at the trace's name or
at its temporary name is replaced or removed, never written through; an unwritable output costs
the program nothing but one line on stderr."""
import os
import re
import sys

from harness import PROGRAMS, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, live_at  # noqa: E402


class HostileFiles(ProcessScenario):
    def setUp(self):
        super().setUp()
        self.victim = os.path.join(self.tmp, "victim")
        with open(self.victim, "w") as f:
            f.write("precious\n")

    def assert_victim_intact(self):
        with open(self.victim) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_symlink_at_the_output_name_is_replaced_not_followed(self):
        exe = self.compile("proc_exec_child.c")
        out = self.outdir()
        trace = os.path.join(out, "trace.bin")
        os.symlink(self.victim, trace)
        dangling = os.path.join(out, "trace.bin.x")
        os.symlink(os.path.join(self.tmp, "must-not-exist"), dangling)
        self.run_traced([exe, "2"], env={"LIBLEAK_OUTPUT": trace})
        self.assert_victim_intact()
        self.assertFalse(os.path.islink(trace))
        self.assertEqual(live_at(self.report(trace), "exec_child_leak"), (128, 2))
        # A link to a file that does not exist yet: the file is not created through it.
        self.run_traced([exe, "1"], env={"LIBLEAK_OUTPUT": dangling})
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "must-not-exist")))
        self.assertFalse(os.path.islink(dangling))

    def test_symlinks_at_temporary_and_child_names(self):
        exe = self.compile("proc_symlink.c")
        out = self.outdir()
        trace = os.path.join(out, "trace.bin")
        proc, _ = self.run_traced([exe, self.victim], env={"LIBLEAK_OUTPUT": trace})
        (child,) = [int(p) for p in re.findall(r"^child (\d+)$", proc.stdout, re.M)]
        self.assert_victim_intact()
        # The planted links are gone (the temporary names) or replaced by the trace (the child's
        # name); nothing else is left behind.
        self.assertEqual(sorted(os.listdir(out)), sorted(["trace.bin", f"trace.bin.{child}"]))
        for name in os.listdir(out):
            self.assertFalse(os.path.islink(os.path.join(out, name)), name)
        self.assertEqual(self.report(f"{trace}.{child}")["process"]["pid"], child)

    def test_unwritable_output_leaves_the_program_alone(self):
        exe = self.compile("proc_exec_child.c")
        blocked = self.outdir("a-directory")  # rename() cannot replace a directory with a file
        plain = self.run_plain([exe, "2"])
        proc, _ = self.run_traced([exe, "2"], env={"LIBLEAK_OUTPUT": blocked})
        self.assertEqual(proc.stdout.split()[0::2], plain.stdout.split()[0::2])  # "exec <pid> 2"
        self.assertEqual(proc.stderr, f"libleak: cannot write the trace to {blocked} "
                                      "(the program continues; later writes will retry)\n")
        self.assertEqual(os.listdir(blocked), [])
        self.assertEqual([f for f in os.listdir(self.tmp) if ".tmp." in f], [])  # temporary removed


if __name__ == "__main__":
    main()
