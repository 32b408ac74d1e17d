"""LIBLEAK_* settings: a bad value costs one stderr line and the default, never the program."""
import os

from harness import HERE, LIBLEAK, Scenario, main

README = os.path.join(HERE, "..", "..", "README.md")


class Config(Scenario):
    def test_bad_values_warn_once_and_use_defaults(self):
        exe = self.compile("basic_leaks.c")
        plain = self.run_plain([exe])
        bad = {"LIBLEAK_DEPTH": "lots", "LIBLEAK_EPOCH_MS": "0", "LIBLEAK_SCAN": "maybe",
               "LIBLEAK_INTERVAL_MS": "-5", "LIBLEAK_UNWIND": "dwarf"}
        proc, trace = self.run_traced([exe], env=bad)
        self.assertEqual((proc.returncode, proc.stdout), (plain.returncode, plain.stdout))
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), len(bad), proc.stderr)
        for name in bad:
            self.assertEqual(sum(name in line and line.startswith("libleak: ignoring bad ") for line in lines), 1, name)
        report = self.report(trace)
        self.assertTrue(report["process"]["scan_done"])  # LIBLEAK_SCAN kept its default (on)
        small = self.leak_in(report, "leak_small", "unreachable")
        self.assertEqual((small["bytes"], small["blocks"]), (1000, 10))
        self.assertGreater(len(small["frames"]), 4)  # LIBLEAK_DEPTH kept its default (32)

    def test_depth_limits_recorded_frames(self):
        exe = self.compile("basic_leaks.c")
        _, trace = self.run_traced([exe], env={"LIBLEAK_DEPTH": "2"})
        report = self.report(trace)
        small = self.leak_in(report, "leak_small", "unreachable")
        self.assertEqual([f["function"] for f in small["frames"]], ["leak_small", "main"])

    def test_both_unwinders_give_the_same_stacks(self):
        """LIBLEAK_UNWIND=fast (cached .eh_frame rules) and =libunwind: the same leaks, frame by frame,
        for a single-threaded and a multi-threaded program."""
        for program in ("basic_leaks.c", "threads.c"):
            exe = self.compile(program)
            stacks = {}
            for unwind in ("fast", "libunwind"):
                _, trace = self.run_traced([exe], env={"LIBLEAK_UNWIND": unwind}, trace_name=f"{unwind}.bin")
                report = self.report(trace)
                stacks[unwind] = sorted((l["bytes"], l["blocks"], tuple((f["function"], f["line"]) for f in l["frames"]))
                                        for l in report["leaks"])
                self.assertGreater(len(stacks[unwind]), 1, program)
            self.assertEqual(stacks["fast"], stacks["libunwind"], program)

    def test_readme_table_is_the_flag_list(self):
        """The README's configuration table names exactly the variables libleak.so reads, in the
        same order and with the same defaults: LIBLEAK_HELP prints them from the one flag table
        (src/preload/base/flags.inc)."""
        proc = self.run_plain(["/bin/true"], env={"LD_PRELOAD": LIBLEAK, "LIBLEAK_HELP": "1"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        listed = []
        for line in proc.stderr.splitlines():
            self.assertTrue(line.startswith("libleak: LIBLEAK_"), line)
            name, rest = line[len("libleak: "):].split("=", 1)
            listed.append((name, rest.split("  ", 1)[0]))
        documented = []
        with open(README) as f:
            for line in f:
                if line.startswith("| `LIBLEAK_"):
                    cells = [c.strip().strip("`") for c in line.split("|")[1:3]]
                    documented.append((cells[0], cells[1]))
        self.assertEqual(len(listed), 15)
        self.assertEqual(documented, listed)


if __name__ == "__main__":
    main()
