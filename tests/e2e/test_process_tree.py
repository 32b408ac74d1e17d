"""Process trees: a forked child writes its own trace with only its own leaks, exec'd
descendants are traced into NAME.<pid>, LIBLEAK_FOLLOW chooses who is traced, a wrapper that
execs keeps the exact name, and leakreport on a directory reports per process and gates on the
total. A Python multiprocessing pool and a shell script are the real-world cases."""
import os
import re
import subprocess
import sys

from harness import PROGRAMS, PYTHON, line_of, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, by_pid, live_at, processes  # noqa: E402


def pids(stdout, role):
    return [int(m) for m in re.findall(rf"^{role} (\d+)", stdout, re.M)]


class ForkOnly(ProcessScenario):
    def test_child_has_own_trace_with_own_leaks(self):
        exe = self.compile("proc_fork.c")
        proc, trace = self.run_traced([exe])
        (child,), (parent,) = pids(proc.stdout, "child"), pids(proc.stdout, "parent")
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(["proc_fork", "trace.bin", f"trace.bin.{child}"]))
        src = os.path.join(PROGRAMS, "proc_fork.c")

        parent_report = self.report(trace)
        self.assertEqual((parent_report["process"]["pid"], parent_report["process"]["fork_child"]), (parent, False))
        self.assertEqual(parent_report["process"]["exit"], "normal")
        before = self.leak_in(parent_report, "parent_leak", "unreachable")
        self.assertEqual((before["bytes"], before["blocks"]), (300, 3))
        self.assertEqual(self.blamed(before)["line"], line_of(src, "PARENT_LEAK"))
        after = self.leak_in(parent_report, "parent_after", "unreachable")
        self.assertEqual((after["bytes"], after["blocks"]), (60, 2))
        # The child's leak is not the parent's; the kept blocks were freed by the parent too.
        self.assertEqual(live_at(parent_report, "child_leak"), (0, 0))
        self.assertEqual(live_at(parent_report, "parent_keep"), (0, 0))
        self.assertEqual(parent_report["totals"]["by_verdict"]["unreachable"], {"bytes": 360, "blocks": 5})

        child_report = self.report(f"{trace}.{child}")
        self.assertEqual((child_report["process"]["pid"], child_report["process"]["ppid"]), (child, parent))
        self.assertTrue(child_report["process"]["fork_child"])
        self.assertEqual(child_report["process"]["exit"], "normal")
        own = self.leak_in(child_report, "child_leak", "unreachable")
        self.assertEqual((own["bytes"], own["blocks"]), (1000, 5))
        self.assertEqual(self.blamed(own)["line"], line_of(src, "CHILD_LEAK"))
        # Live in the child too, but the parent's to report: not here, neither leaked nor freed.
        self.assertEqual(live_at(child_report, "parent_leak"), (0, 0))
        self.assertEqual(live_at(child_report, "parent_keep"), (0, 0))
        self.assertEqual(child_report["totals"]["by_verdict"]["unreachable"], {"bytes": 1000, "blocks": 5})
        # The child freed the 4 inherited blocks: not its frees, and not unknown pointers either.
        # Its own allocations: the 5 leaks and stdout's buffer (first printed to in the child).
        self.assertEqual(child_report["stats"]["unknown_frees"], 0)
        self.assertEqual((child_report["stats"]["allocations"], child_report["stats"]["frees"]), (6, 0))

    def test_output_with_pid_placeholder(self):
        exe = self.compile("proc_fork.c")
        proc, _ = self.run_traced([exe], env={"LIBLEAK_OUTPUT": os.path.join(self.tmp, "t.%p.bin")})
        (child,), (parent,) = pids(proc.stdout, "child"), pids(proc.stdout, "parent")
        self.assertEqual(sorted(f for f in os.listdir(self.tmp) if f.startswith("t.")),
                         sorted([f"t.{parent}.bin", f"t.{child}.bin"]))
        self.assertEqual(live_at(self.report(os.path.join(self.tmp, f"t.{child}.bin")), "child_leak"), (1000, 5))

    def test_fork_while_threads_allocate(self):
        # 20 forks while 4 threads allocate: no child deadlocks (timeout), each has its own leak.
        exe = self.compile("proc_fork_threads.c")
        out = self.outdir()
        proc, _ = self.run_traced([exe], env={"LIBLEAK_OUTPUT": os.path.join(out, "t.bin")}, timeout=60)
        self.assertTrue(proc.stdout.endswith("ok 20\n"), proc.stdout)
        children = {int(pid): how for pid, how in re.findall(r"^child (\d+) (\S+)$", proc.stdout, re.M)}
        self.assertEqual(len(children), 20)
        self.assertEqual(sorted(os.listdir(out)), sorted(["t.bin"] + [f"t.bin.{p}" for p in children]))
        report = self.report(out)
        for pid, p in by_pid(report).items():
            if pid not in children:
                self.assertEqual(live_at(p, "fork_child_work"), (0, 0))
                continue
            self.assertEqual(p["process"]["exit"], {"exit": "normal", "_exit": "fast_exit"}[children[pid]], pid)
            self.assertEqual(p["process"]["exit_code"], 0)
            self.assertTrue(p["process"]["fork_child"])
            self.assertEqual(live_at(p, "fork_child_work"), (77, 1), pid)
            self.assertEqual(p["stats"]["unknown_frees"], 0, pid)
        self.assertEqual(live_at({"leaks": [l for p in processes(report) for l in p["leaks"]]}, "fork_child_work"),
                         (77 * 20, 20))


class ForkExec(ProcessScenario):
    def build_tree(self):
        child = self.compile("proc_exec_child.c")
        return [self.compile("proc_tree.c"), child]

    def run_tree(self, follow):
        out = self.outdir(f"out-{follow}")
        env = {"LIBLEAK_OUTPUT": os.path.join(out, "trace.bin")}
        if follow:
            env["LIBLEAK_FOLLOW"] = follow
        proc, _ = self.run_traced(self.build_tree(), env=env)
        self.last_stderr = proc.stderr
        roles = {role: pids(proc.stdout, role) for role in ("root", "fork")}
        execs = {int(n): int(pid) for pid, n in re.findall(r"^exec (\d+) (\d+)$", proc.stdout, re.M)}
        self.assertEqual((len(roles["root"]), len(roles["fork"]), sorted(execs)), (1, 1, [3, 4]), proc.stdout)
        return out, roles["root"][0], roles["fork"][0], execs

    def test_follow_all_traces_every_descendant(self):
        for follow in (None, "all"):  # all is the default
            out, root, fork, execs = self.run_tree(follow)
            report = self.report(out)
            traced = by_pid(report)
            # The root, the fork-only child, its fork+exec grandchild, the proc_exec_child started by
            # system() and the /bin/sh in between: each its own trace named after its pid.
            self.assertEqual(sorted(os.listdir(out)), sorted(["trace.bin"] + [f"trace.bin.{p}" for p in traced
                                                                              if p != root]))
            self.assertEqual(self.report(os.path.join(out, "trace.bin"))["process"]["pid"], root)
            self.assertTrue({root, fork, execs[3], execs[4]} <= set(traced))
            shells = set(traced) - {root, fork, execs[3], execs[4]}
            for pid in shells:
                self.assertEqual(os.path.basename(traced[pid]["process"]["command"][0]), "sh")
            self.assertLessEqual(len(shells), 1)

            self.assertEqual(live_at(traced[root], "root_leak", ["unreachable"]), (16, 1))
            self.assertEqual(live_at(traced[fork], "fork_only_leak", ["unreachable"]), (96, 2))
            self.assertTrue(traced[fork]["process"]["fork_child"])
            for n in (3, 4):
                p = traced[execs[n]]
                self.assertEqual(live_at(p, "exec_child_leak", ["unreachable"]), (64 * n, n))
                self.assertEqual(p["process"]["command"][1:], [str(n)])
                self.assertFalse(p["process"]["fork_child"])  # a new image starts afresh
                self.assertEqual(live_at(p, "fork_only_leak"), (0, 0))
            # Nothing of one process is counted in another.
            for pid, p in traced.items():
                mine = {root: "root_leak", fork: "fork_only_leak", execs[3]: "exec_child_leak",
                        execs[4]: "exec_child_leak"}.get(pid)
                for f in {"root_leak", "fork_only_leak", "exec_child_leak"} - {mine}:
                    self.assertEqual(live_at(p, f), (0, 0), (pid, f))

    def test_follow_fork_traces_forked_children_only(self):
        out, root, fork, _ = self.run_tree("fork")
        self.assertEqual(sorted(os.listdir(out)), sorted(["trace.bin", f"trace.bin.{fork}"]))
        traced = by_pid(self.report(out))
        self.assertEqual(live_at(traced[root], "root_leak", ["unreachable"]), (16, 1))
        self.assertEqual(live_at(traced[fork], "fork_only_leak", ["unreachable"]), (96, 2))

    def test_follow_none_traces_the_started_process_only(self):
        out, root, _, _ = self.run_tree("none")
        self.assertEqual(os.listdir(out), ["trace.bin"])
        report = self.report(os.path.join(out, "trace.bin"))
        self.assertEqual(report["process"]["pid"], root)
        self.assertEqual(live_at(report, "root_leak", ["unreachable"]), (16, 1))

    def test_bad_follow_value_warns_and_traces_all(self):
        out, root, fork, execs = self.run_tree("children")
        self.assertTrue({root, fork, execs[3], execs[4]} <= set(by_pid(self.report(out))))
        # One warning line per traced process, each naming the variable.
        lines = self.last_stderr.splitlines()
        self.assertTrue(lines and all("LIBLEAK_FOLLOW" in l for l in lines), self.last_stderr)

    def test_posix_spawn_and_vfork(self):
        child = self.compile("proc_exec_child.c")
        out = self.outdir()
        proc, _ = self.run_traced([self.compile("proc_spawn.c"), child],
                                  env={"LIBLEAK_OUTPUT": os.path.join(out, "trace.bin")})
        (spawned,), (vforked,), (parent,) = pids(proc.stdout, "exec"), pids(proc.stdout, "vfork"), pids(proc.stdout, "parent")
        # The spawned program is traced; the vfork child that only called _exit wrote nothing.
        self.assertEqual(sorted(os.listdir(out)), sorted(["trace.bin", f"trace.bin.{spawned}"]))
        self.assertNotEqual(vforked, spawned)
        self.assertEqual(live_at(self.report(os.path.join(out, f"trace.bin.{spawned}")), "exec_child_leak",
                                 ["unreachable"]), (128, 2))
        report = self.report(os.path.join(out, "trace.bin"))
        self.assertEqual((report["process"]["pid"], report["process"]["exit"]), (parent, "normal"))
        self.assertEqual(live_at(report, "spawn_parent_leak", ["unreachable"]), (24, 1))

    def test_wrapper_that_execs_keeps_the_exact_name(self):
        # A shell wrapper (pyenv's shims are such) that execs the real program: same pid, so the
        # program is the process the user started and writes the name asked for.
        child = self.compile("proc_exec_child.c")
        out = self.outdir()
        proc, _ = self.run_traced(["/bin/sh", "-c", f"exec {child} 2"],
                                  env={"LIBLEAK_OUTPUT": os.path.join(out, "trace.bin")})
        self.assertEqual(os.listdir(out), ["trace.bin"])
        report = self.report(os.path.join(out, "trace.bin"))
        self.assertEqual(report["process"]["command"], [child, "2"])
        self.assertEqual(report["process"]["pid"], pids(proc.stdout, "exec")[0])
        self.assertEqual(live_at(report, "exec_child_leak", ["unreachable"]), (128, 2))


class ShellScript(ProcessScenario):
    def test_directory_report_per_process_and_gate_on_total(self):
        child = self.compile("proc_exec_child.c")
        script = os.path.join(self.tmp, "several.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\n{child} 1\n{child} 2\n{child} 3\necho done\n")
        out = self.outdir()
        proc, _ = self.run_traced(["/bin/sh", script], env={"LIBLEAK_OUTPUT": os.path.join(out, "trace.bin")})
        execs = {int(n): int(pid) for pid, n in re.findall(r"^exec (\d+) (\d+)$", proc.stdout, re.M)}
        self.assertEqual(sorted(execs), [1, 2, 3])
        self.assertEqual(sorted(os.listdir(out)), sorted(["trace.bin"] + [f"trace.bin.{p}" for p in execs.values()]))

        report = self.report(out)
        traced = by_pid(report)
        self.assertEqual(len(traced), 4)
        shell = [p for pid, p in traced.items() if pid not in execs.values()][0]
        self.assertEqual(shell["process"]["command"], ["/bin/sh", script])
        for n, pid in execs.items():
            self.assertEqual(traced[pid]["totals"]["by_verdict"]["unreachable"], {"bytes": 64 * n, "blocks": n})
            self.assertEqual(traced[pid]["totals"]["leaked_bytes"], 64 * n)
        # The total is the sum over processes, verdict by verdict.
        total = report["totals"]
        self.assertEqual(total["leaked_bytes"], sum(p["totals"]["leaked_bytes"] for p in traced.values()))
        self.assertEqual(total["leaked_bytes"], 64 * 6 + shell["totals"]["leaked_bytes"])
        for verdict, amount in total["by_verdict"].items():
            self.assertEqual(amount["bytes"], sum(p["totals"]["by_verdict"][verdict]["bytes"] for p in traced.values()))
        self.assertEqual(total["allocations"], sum(p["totals"]["allocations"] for p in traced.values()))

        text = self.leakreport(out).stdout
        for pid in traced:
            self.assertIn(f"== pid {pid}: ", text)
        self.assertIn("== total over 4 processes ==", text)
        # The gate applies to the total: above every single process, still over the limit.
        limit = total["leaked_bytes"]
        self.assertGreater(limit - 1, max(p["totals"]["leaked_bytes"] for p in traced.values()))
        fail = self.leakreport("--fail-above", str(limit - 1), out, check_rc=1)
        self.assertIn(f"FAIL: {limit} bytes", fail.stderr)
        self.leakreport("--fail-above", str(limit), out, check_rc=0)
        # Several files given one by one are the same report as their directory.
        files = [os.path.join(out, f) for f in sorted(os.listdir(out))]
        self.assertEqual(json_totals(self, files), total)
        self.leakreport("--fail-above", str(limit - 1), *files, check_rc=1)


def json_totals(scenario, files):
    import json
    return json.loads(scenario.leakreport("--format", "json", *files).stdout)["totals"]


class PythonPool(ProcessScenario):
    def test_multiprocessing_pool_workers_each_traced(self):
        self.compile_python_extension("proc_mpext.c", "proc_mpext")
        out = self.outdir()
        proc, _ = self.run_traced([PYTHON, os.path.join(PROGRAMS, "proc_pool.py")],
                                  env={"LIBLEAK_OUTPUT": os.path.join(out, "trace.bin"), "PYTHONPATH": self.tmp},
                                  timeout=60)
        tasks = {int(i): int(pid) for i, pid in re.findall(r"^task (\d+) (\d+)$", proc.stdout, re.M)}
        (parent,) = pids(proc.stdout, "parent")
        self.assertEqual(sorted(tasks), list(range(6)))
        report = self.report(out)
        traced = by_pid(report)
        self.assertIn(parent, traced)
        workers = set(traced) - {parent}
        self.assertEqual(len(workers), 3)  # Pool(3): every worker wrote a trace, busy or not
        self.assertTrue(set(tasks.values()) <= workers)
        # Task i leaked i+1 blocks of 100 bytes in the worker that ran it, and only there.
        for pid in workers:
            p = traced[pid]
            blocks = sum(i + 1 for i, w in tasks.items() if w == pid)
            self.assertEqual(live_at(p, "mp_leak_blocks"), (100 * blocks, blocks), pid)
            self.assertTrue(p["process"]["fork_child"])
            self.assertEqual((p["process"]["exit"], p["process"]["exit_code"]), ("fast_exit", 0))  # os._exit
            self.assertEqual(p["process"]["ppid"], parent)
        self.assertEqual(live_at(traced[parent], "mp_leak_blocks"), (7, 1))
        self.assertEqual(traced[parent]["process"]["exit"], "normal")
        self.assertEqual(report["totals"]["leaked_bytes"],
                         sum(p["totals"]["leaked_bytes"] for p in traced.values()))


if __name__ == "__main__":
    main()
