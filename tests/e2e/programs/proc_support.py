"""Helpers shared by the process scenarios (tests/e2e/test_process_*.py): reports of several
processes, live amounts per function whatever the verdict, programs run in the background."""
import os
import subprocess
import time

from harness import LIBLEAK, Scenario


def processes(report):
    """The per-process bodies of a report of one trace or of several."""
    return report["processes"] if "processes" in report else [report]


def by_pid(report):
    return {p["process"]["pid"]: p for p in processes(report)}


def live_at(report, function, verdicts=None):
    """(bytes, blocks) still live at exit and blamed on `function`, over every verdict (or the
    given ones): the conservative scan may call a dropped block reachable, but it is still live."""
    found = [l for l in report["leaks"] if l["frames"] and l["frames"][l["blame"]].get("function") == function
             and (verdicts is None or l["verdict"] in verdicts)]
    return sum(l["bytes"] for l in found), sum(l["blocks"] for l in found)


def verdicts_at(report, function):
    return sorted({l["verdict"] for l in report["leaks"]
                   if l["frames"] and l["frames"][l["blame"]].get("function") == function})


class ProcessScenario(Scenario):
    def traced_env(self, output, **extra):
        env = dict(os.environ)
        env.pop("LIBLEAK_ROOT_PID", None)
        env.update({"LD_PRELOAD": LIBLEAK, "LIBLEAK_OUTPUT": output})
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def outdir(self, name="out"):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def popen_traced(self, argv, output, **extra):
        return subprocess.Popen(argv, env=self.traced_env(output, **extra), cwd=self.tmp, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def wait_for_line(self, proc, expected):
        line = proc.stdout.readline()
        self.assertEqual(line, expected, proc.stderr.read() if not line else line)

    @staticmethod
    def wait_for_file(path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path):
                return True
            time.sleep(0.02)
        return False
