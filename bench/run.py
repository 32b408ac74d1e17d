#!/usr/bin/python3
"""Benchmark: baseline vs libleak vs heaptrack, side by side in one run; prints markdown tables.

usage: bench/run.py [BUILD_DIR] [--reps N] [--variants] [--keep] [--python PATH ...] [--against DIR]
BUILD_DIR (default /work/main/build) must hold libleak.so and leakreport. The script installs
nothing: it compiles the workloads with gcc into a scratch directory and needs `heaptrack` on PATH
(Debian package heaptrack; its column is skipped with a note when it is missing).

Every number is the median of N repetitions (default 3); variants of one workload run interleaved
within each repetition, so drift of the machine spreads over all of them. Wall time is measured
around the whole process (for heaptrack: the `heaptrack` script, its interpreter and compressor),
peak RSS is ru_maxrss as seen by bench/spawn.c (for heaptrack: the largest of its processes, not
their sum).
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's interpreter, with PYTHONMALLOC=malloc for every variant
SCAN_BLOCKS = 1_000_000
SCAN_BLOCKS_SMALL = 1_000  # the same program nearly empty: isolates the fixed overhead

# Targets from issue 2 (benchmark section) and issue 3 (scan time).
TARGET_RATIO = {"c 1 thread": 2.0, "c 2 threads": 2.0, "python": 3.0}
TARGET_TRACE_BYTES = 1 << 20
TARGET_REPORT_S = 0.5
TARGET_BYTES_PER_BLOCK = 32
TARGET_FIXED_BYTES = 16 << 20


# ---- running one process ---------------------------------------------------------------------------
class Result:
    def __init__(self, wall, cpu, rss_kb, stdout, end_mono_ns):
        self.wall = wall
        self.cpu = cpu
        self.rss_kb = rss_kb
        self.stdout = stdout
        self.end_mono_ns = end_mono_ns


def run(cmd, env, log):
    """Runs cmd under the spawn helper; wall time, peak RSS (KiB), stdout, end time. Fails loudly."""
    result = os.path.join(os.path.dirname(log), "spawn.result")
    with open(log, "ab") as err, tempfile.TemporaryFile() as out:
        start = time.monotonic_ns()
        rc = subprocess.run([SPAWN, result] + cmd, env=env, stdout=out, stderr=err).returncode
        out.seek(0)
        text = out.read().decode(errors="replace")
    if rc != 0:
        sys.exit(f"bench: {' '.join(cmd)} exited with {rc}; see {log}")
    with open(result) as f:
        fields = dict(word.split("=") for word in f.read().split())
    end = int(fields["end_ns"])
    return Result((end - start) / 1e9, int(fields["cpu_ns"]) / 1e9, int(fields["maxrss_kb"]), text, end)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LIBLEAK_", "HEAPTRACK", "BENCH_")) and k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    env.update(extra)
    return env


# ---- variants ----------------------------------------------------------------------------------------
class Variant:
    """One way to run a program: baseline, libleak (with extra env) or heaptrack."""

    def __init__(self, name, kind, env=None, build=None):
        self.name, self.kind, self.env = name, kind, env or {}
        self.build = build  # another build's libleak.so and leakreport (--against), else this one's

    def command(self, prog, work, tag):
        """Returns (argv, env, trace-path-or-glob)."""
        if self.kind == "baseline":
            return prog, clean_env(**self.env), None
        if self.kind == "libleak":
            trace = os.path.join(work, f"{tag}.bin")
            lib = os.path.join(self.build, "libleak.so") if self.build else LIBLEAK
            env = clean_env(BENCH_PRELOAD=lib, LIBLEAK_OUTPUT=trace, **self.env)
            return prog, env, trace
        prefix = os.path.join(work, f"{tag}.heaptrack")
        for old in glob.glob(prefix + "*"):
            os.remove(old)
        return ["heaptrack", "-o", prefix] + prog, clean_env(**self.env), prefix + "*"


def trace_file(pattern):
    if pattern is None:
        return None
    found = sorted(glob.glob(pattern))
    return found[0] if found else None


class Measured:
    def __init__(self):
        self.walls, self.cpus, self.rss, self.exit_s = [], [], [], []
        self.trace = None

    def add(self, r, trace):
        self.walls.append(r.wall)
        self.cpus.append(r.cpu)
        self.rss.append(r.rss_kb)
        for line in r.stdout.splitlines():  # scan workload: time from its last line to its end
            for word in line.split():
                if word.startswith("end_ns="):
                    self.exit_s.append((r.end_mono_ns - int(word[7:])) / 1e9)
        self.trace = trace_file(trace)

    wall = property(lambda self: statistics.median(self.walls))
    cpu = property(lambda self: statistics.median(self.cpus))
    rss_kb = property(lambda self: statistics.median(self.rss))
    exit = property(lambda self: statistics.median(self.exit_s) if self.exit_s else None)


def measure(workload, prog, variants, reps, work):
    """Runs every variant `reps` times, interleaved; returns {variant name: Measured}."""
    results = {v.name: Measured() for v in variants}
    log = os.path.join(work, "stderr.log")
    for rep in range(reps):
        for v in variants:
            tag = f"{workload.replace(' ', '_')}-{v.name.replace(' ', '_').replace('=', '')}"
            argv, env, trace = v.command(prog, work, tag)
            r = run(argv, env, log)
            results[v.name].add(r, trace)
            print(f"  {workload:14} {v.name:24} rep {rep + 1}: {r.wall:7.3f} s wall {r.cpu:7.3f} s cpu "
                  f"{r.rss_kb / 1024:7.1f} MiB",
                  file=sys.stderr)
    return results


def time_leakreport(trace, reps, work, build=None):
    if not trace:
        return None
    log = os.path.join(work, "stderr.log")
    leakreport = os.path.join(build, "leakreport") if build else LEAKREPORT
    times = []
    for _ in range(reps):
        with open(log, "ab") as err:
            start = time.monotonic()
            rc = subprocess.run([leakreport, trace], stdout=subprocess.DEVNULL, stderr=err).returncode
            times.append(time.monotonic() - start)
        if rc not in (0, 1):
            return f"exit {rc}"
    return statistics.median(times)


# ---- formatting ----------------------------------------------------------------------------------------
def size_text(n):
    if n is None:
        return "-"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def verdict(ok):
    return "" if ok is None else (" ✓" if ok else " ✗")


def main_table(rows):
    print("| workload | tool | wall (s) | wall ratio | cpu (s) | cpu ratio | peak RSS | trace | leakreport (s) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for workload, name, m, base, trace_bytes, report_s in rows:
        ratio = m.wall / base.wall
        target = TARGET_RATIO.get(workload.split(" (")[0]) if name == "libleak" else None
        ok = None if target is None else ratio <= target
        trace_ok = None if name != "libleak" or trace_bytes is None else trace_bytes <= TARGET_TRACE_BYTES
        if isinstance(report_s, float):
            rep = f"{report_s:.3f}{verdict(report_s < TARGET_REPORT_S)}"
        else:
            rep = report_s or "-"
        print(f"| {workload} | {name} | {m.wall:.3f} | {ratio:.2f}x{verdict(ok)} | {m.cpu:.3f} | "
              f"{m.cpu / base.cpu:.2f}x | {m.rss_kb / 1024:.1f} MiB | "
              f"{size_text(trace_bytes)}{verdict(trace_ok)} | {rep} |")


# ---- main ----------------------------------------------------------------------------------------------
def build_workloads(work):
    global SPAWN
    progs = {}
    for name, extra in (("c_workload", ["-pthread"]), ("scan_workload", []), ("spawn", [])):
        out = os.path.join(work, name)
        subprocess.run(["gcc", "-O2", "-g", "-Wall", "-Wextra", os.path.join(HERE, name + ".c"), "-o", out] + extra,
                       check=True)
        progs[name] = out
    SPAWN = progs["spawn"]
    return progs


def main():
    global LIBLEAK, LEAKREPORT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", default="/work/main/build", help="build dir with libleak.so and leakreport")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per measurement (median is shown)")
    ap.add_argument("--variants", action="store_true",
                    help="also run libleak with LIBLEAK_DEPTH=8, LIBLEAK_INTERVAL_MS=0, LIBLEAK_SCAN=0 on the C workloads")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (traces, logs)")
    ap.add_argument("--python", action="append", default=[], metavar="PATH",
                    help="also run the Python workload with this interpreter (repeatable), e.g. a pyenv 3.13")
    ap.add_argument("--against", metavar="DIR",
                    help="also run another build's libleak.so (and its leakreport) interleaved: before/after")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    LIBLEAK, LEAKREPORT = os.path.join(build, "libleak.so"), os.path.join(build, "leakreport")
    for f in (LIBLEAK, LEAKREPORT):
        if not os.path.exists(f):
            sys.exit(f"bench: {f} is missing; build first (cmake --build {build})")
    have_heaptrack = shutil.which("heaptrack") is not None
    work = tempfile.mkdtemp(prefix="libleak-bench-")
    try:
        progs = build_workloads(work)
        run_all(args, progs, work, have_heaptrack)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_all(args, progs, work, have_heaptrack):
    tools = [Variant("baseline", "baseline"), Variant("libleak", "libleak")]
    if args.against:
        tools.append(Variant("libleak (against)", "libleak", build=os.path.abspath(args.against)))
    if have_heaptrack:
        tools.append(Variant("heaptrack", "heaptrack"))
    py = {"PYTHONMALLOC": "malloc"}
    workloads = [
        ("c 1 thread", [progs["c_workload"], "1"], {}),
        ("c 2 threads", [progs["c_workload"], "2"], {}),
        ("python", [PYTHON, os.path.join(HERE, "py_workload.py")], py),
    ]
    for interpreter in args.python:
        version = subprocess.run([interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        workloads.append((f"python ({version})", [interpreter, os.path.join(HERE, "py_workload.py")], py))
    rows, extra = [], []
    started = time.monotonic()
    for workload, prog, env in workloads:
        variants = [Variant(v.name, v.kind, dict(env), v.build) for v in tools]
        if args.variants and workload.startswith("c "):
            for toggles in ({"LIBLEAK_DEPTH": "8"}, {"LIBLEAK_INTERVAL_MS": "0"}, {"LIBLEAK_SCAN": "0"},
                            {"LIBLEAK_DEPTH": "8", "LIBLEAK_INTERVAL_MS": "0", "LIBLEAK_SCAN": "0"}):
                label = "libleak " + " ".join(f"{k[8:]}={v}" for k, v in toggles.items())
                variants.append(Variant(label, "libleak", {**env, **toggles}))
        res = measure(workload, prog, variants, args.reps, work)
        base = res["baseline"]
        rows.append((workload, "baseline", base, base, None, None))
        for v in variants[1:]:
            m = res[v.name]
            size = os.path.getsize(m.trace) if m.trace else None
            report = time_leakreport(m.trace, args.reps, work, v.build) if v.kind == "libleak" else None
            main_row = v.name in ("libleak", "libleak (against)", "heaptrack")
            (rows if main_row else extra).append((workload, v.name, m, base, size, report))

    scan = scan_section(args, progs, work, have_heaptrack)
    print()
    main_table(rows)
    if extra:
        print("\nlibleak with toggles (C workloads):\n")
        main_table(extra)
    print()
    print(scan)
    if not have_heaptrack:
        print("\n(heaptrack not found on PATH: its rows are missing)")
    print(f"\n{args.reps} repetitions, median; total {time.monotonic() - started:.0f} s; "
          f"{os.cpu_count()} CPUs; targets: ✓ met, ✗ missed.")


def scan_section(args, progs, work, have_heaptrack):
    """Exit scan time and profiler memory per live block, from the scan workload."""
    variants = [Variant("baseline", "baseline"), Variant("libleak SCAN=0", "libleak", {"LIBLEAK_SCAN": "0"}),
                Variant("libleak SCAN=1", "libleak", {"LIBLEAK_SCAN": "1"})]
    if have_heaptrack:
        variants.append(Variant("heaptrack", "heaptrack"))
    big = measure("scan 1M", [progs["scan_workload"], str(SCAN_BLOCKS)], variants, args.reps, work)
    small = measure("scan 1k", [progs["scan_workload"], str(SCAN_BLOCKS_SMALL)], variants[:3], args.reps, work)
    live_big = SCAN_BLOCKS + SCAN_BLOCKS // 100
    live_small = SCAN_BLOCKS_SMALL + SCAN_BLOCKS_SMALL // 100

    def overhead(res, name):  # bytes of RSS above the baseline
        return (res[name].rss_kb - res["baseline"].rss_kb) * 1024

    lines = [f"Exit scan ({live_big:,} live blocks, {SCAN_BLOCKS // 100:,} of them unreachable):", "",
             "| variant | wall (s) | exit time (s) | peak RSS | RSS over baseline | per live block | trace |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for v in variants:
        m = big[v.name]
        over = overhead(big, v.name) if v.name != "baseline" else 0
        per_block = f"{over / live_big:.1f} B" if v.name != "baseline" else "-"
        size = os.path.getsize(m.trace) if m.trace else None
        lines.append(f"| {v.name} | {m.wall:.3f} | {m.exit:.3f} | {m.rss_kb / 1024:.1f} MiB | "
                     f"{size_text(over) if over else '-'} | {per_block} | {size_text(size)} |")
    scan_s = big["libleak SCAN=1"].exit - big["libleak SCAN=0"].exit
    lines += ["", f"- scan time (exit time SCAN=1 minus SCAN=0): **{scan_s:.3f} s**"]
    for name in ("libleak SCAN=0", "libleak SCAN=1"):
        fixed = overhead(small, name)
        per = (overhead(big, name) - fixed) / (live_big - live_small)
        ok = per <= TARGET_BYTES_PER_BLOCK and fixed <= TARGET_FIXED_BYTES
        lines.append(f"- profiler memory, {name}: {per:.1f} B per live block + {size_text(fixed)} fixed "
                     f"(fixed = RSS over baseline with {live_small:,} blocks){verdict(ok)}")
    report = time_leakreport(big["libleak SCAN=1"].trace, args.reps, work)
    if isinstance(report, float):
        lines.append(f"- leakreport on the SCAN=1 trace: {report:.3f} s{verdict(report < TARGET_REPORT_S)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
