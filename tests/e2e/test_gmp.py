"""GMP scenarios: memory functions installed with mp_set_memory_functions are followed (domain gmp).

Covers the GMP 6.2 lazy-allocation leak with an mmap arena and with GMP's default allocator, sets
repeated and undone, blocks freed through GMP or through free(), GMP loaded late by dlopen, four
threads at once, and PARI/GP, a real program that installs its own functions.
"""
import os
import re
import shutil
import unittest

from harness import PROGRAMS, Scenario, line_of, main


class GmpScenario(Scenario):
    def gmp_program(self, name, **kw):
        return self.compile(name, libs=["-lgmp"], **kw)

    def gated(self, report):
        gates = set(report["totals"]["gated_verdicts"])
        return [l for l in report["leaks"] if l["verdict"] in gates]

    def counts(self, stdout, *names):
        """Integers printed after each name, e.g. `allocs 3 frees 2`."""
        return tuple(int(re.search(rf"\b{n} (\d+)", stdout).group(1)) for n in names)


class LazyAllocation(GmpScenario):
    N = 200
    LIMB = 8

    def run_lazy(self, allocator, variant):
        exe = self.gmp_program("gmp_lazy_alloc.c")
        proc, trace = self.run_traced([exe, allocator, variant, str(self.N)], trace_name=f"{allocator}-{variant}.bin")
        self.assertTrue(proc.stdout.startswith("sum "), proc.stdout)
        return proc, self.report(trace)

    def test_arena_bug_found_in_constructor(self):
        proc, report = self.run_lazy("arena", "buggy")
        gmp = [l for l in self.gated(report) if l["domain"] == "gmp"]
        self.assertTrue(gmp, report["leaks"])
        top = gmp[0]
        self.assertEqual(self.blamed(top)["function"], "integer_construct")
        self.assertEqual(self.blamed(top)["line"], line_of(os.path.join(PROGRAMS, "gmp_lazy_alloc.c"), "CONSTRUCTOR_LIMB"))
        self.assertEqual((top["blocks"], top["bytes"], top["verdict"]), (self.N, self.N * self.LIMB, "unreachable"))
        self.assertEqual(len(gmp), 1, gmp)  # every other arena block was freed through GMP
        self.assertEqual(report["stats"]["unknown_frees"], 0)

    def test_arena_fixed_template_reports_nothing(self):
        buggy, _ = self.run_lazy("arena", "buggy")
        fixed, report = self.run_lazy("arena", "fixed")
        self.assertEqual(fixed.stdout, buggy.stdout)
        self.assertEqual(self.leaks_in(report, "integer_construct"), [])
        self.assertEqual([l for l in report["leaks"] if l["domain"] == "gmp"], [])
        self.assertEqual(report["stats"]["unknown_frees"], 0)

    def test_default_allocator_bug_found_as_malloc(self):
        # GMP's defaults call malloc, so the block is recorded by the malloc hook: domain malloc,
        # innermost frame __gmp_default_allocate in libgmp, blame on the constructor.
        _, report = self.run_lazy("default", "buggy")
        leak = self.leak_in(report, "integer_construct", "unreachable")
        self.assertEqual((leak["blocks"], leak["bytes"], leak["domain"]), (self.N, self.N * self.LIMB, "malloc"))
        self.assertIn("libgmp.so", leak["frames"][0]["module"])
        self.assertEqual(leak["blame"], 1)
        _, fixed = self.run_lazy("default", "fixed")
        self.assertEqual(self.leaks_in(fixed, "integer_construct"), [])


class SetAndFree(GmpScenario):
    def test_functions_set_twice_restored_and_reset(self):
        exe = self.gmp_program("gmp_set_twice.c")
        n = 40
        _, base_trace = self.run_traced([exe, "0"], trace_name="zero.bin")
        proc, trace = self.run_traced([exe, str(n)])
        # Printed as `a ALLOCS REALLOCS FREES b ALLOCS REALLOCS FREES`. a: allocs, reallocs, frees; b likewise. The second half of the first set's blocks is
        # freed through the saved first-set free after the second set: it must still reach a_free.
        a_counts = tuple(map(int, proc.stdout.split()[1:4]))
        b_counts = tuple(map(int, proc.stdout.split()[5:8]))
        self.assertEqual(a_counts, (2 * n, n, n + n // 2))
        self.assertEqual(b_counts, (0, n // 2, n // 2))
        r0, r = self.report(base_trace), self.report(trace)
        # Each program call recorded once; the NULL (default) phase adds n mallocs and n reallocs.
        self.assertEqual(r["stats"]["allocations"] - r0["stats"]["allocations"],
                         a_counts[0] + a_counts[1] + b_counts[0] + b_counts[1] + 2 * n)
        self.assertEqual(r["stats"]["frees"] - r0["stats"]["frees"],
                         a_counts[2] + a_counts[1] + b_counts[2] + b_counts[1] + 2 * n)
        self.assertEqual(r["stats"]["unknown_frees"], 0)
        self.assertEqual([l for l in r["leaks"] if l["domain"] == "gmp"], [])
        self.assertEqual(self.gated(r), [])

    def test_block_counted_once_and_freed_either_way(self):
        exe = self.gmp_program("gmp_malloc_inside.c")
        freed, kept = 10, 3
        _, base_trace = self.run_traced([exe, "0", "0"], trace_name="zero.bin")
        proc, trace = self.run_traced([exe, str(freed), str(kept)])
        self.assertEqual(self.counts(proc.stdout, "allocs", "frees"), (freed + kept, freed))
        r0, r = self.report(base_trace), self.report(trace)
        # freed GMP blocks + freed malloc blocks + kept GMP blocks: the inner malloc adds nothing.
        self.assertEqual(r["stats"]["allocations"] - r0["stats"]["allocations"], 2 * freed + kept)
        self.assertEqual(r["stats"]["frees"] - r0["stats"]["frees"], 2 * freed)
        self.assertEqual(r["stats"]["unknown_frees"], 0)
        leak = self.leak_in(r, "make_block")
        self.assertEqual((leak["domain"], leak["verdict"], leak["blocks"], leak["bytes"]),
                         ("gmp", "reachable", kept, kept * 56))
        self.assertEqual(self.blamed(leak)["line"], line_of(os.path.join(PROGRAMS, "gmp_malloc_inside.c"), "MAKE_BLOCK"))
        self.assertEqual(self.gated(r), [])


class LateAndConcurrent(GmpScenario):
    def run_plugin(self, n):
        plugin = self.gmp_program("gmp_dlopen_lib.c", shared=True)
        exe = self.compile("gmp_dlopen_main.c", libs=["-ldl"])
        with open(exe, "rb") as f:
            self.assertNotIn(b"libgmp", f.read())  # the program itself does not link GMP
        proc, trace = self.run_traced([exe, plugin, str(n)])
        return proc, self.report(trace)

    def test_gmp_loaded_late_with_dlopen(self):
        n = 7
        proc, report = self.run_plugin(n)
        self.assertEqual(self.counts(proc.stdout, "allocs"), (n + 1,))  # n limbs + 3^5000
        gmp = [l for l in report["leaks"] if l["domain"] == "gmp"]
        self.assertEqual(len(gmp), 1, gmp)
        self.assertEqual((gmp[0]["verdict"], gmp[0]["blocks"], gmp[0]["bytes"]), ("unreachable", n, 8 * n))
        call_line = line_of(os.path.join(PROGRAMS, "gmp_dlopen_main.c"), "run(atoi")
        self.assertIn(("main", call_line), [(f["function"], f["line"]) for f in gmp[0]["frames"]])
        self.assertEqual(self.blamed(gmp[0])["function"], "plugin_lose_limb")
        self.assertEqual(self.blamed(gmp[0])["line"], line_of(os.path.join(PROGRAMS, "gmp_dlopen_lib.c"), "PLUGIN_LEAK"))

    def test_four_threads_exact_totals(self):
        exe = self.gmp_program("gmp_threads.c")
        iterations = 5000
        base, base_trace = self.run_traced([exe, "0"], trace_name="zero.bin")
        proc, trace = self.run_traced([exe, str(iterations)])
        names = ("allocs", "reallocs", "frees")
        c0, c = self.counts(base.stdout, *names), self.counts(proc.stdout, *names)
        per_thread = 2 * iterations  # one mpz and one direct block per iteration
        self.assertEqual(c, (4 * per_thread + 4, 4 * per_thread + 4, 4 * per_thread))
        r0, r = self.report(base_trace), self.report(trace)
        # A realloc records one allocation and one free (the old block).
        self.assertEqual(r["stats"]["allocations"] - r0["stats"]["allocations"], (c[0] + c[1]) - (c0[0] + c0[1]))
        self.assertEqual(r["stats"]["frees"] - r0["stats"]["frees"], (c[2] + c[1]) - (c0[2] + c0[1]))
        self.assertEqual(r["stats"]["unknown_frees"], 0)
        self.assertEqual(r["stats"]["dropped_blocks"], 0)
        gmp = [l for l in r["leaks"] if l["domain"] == "gmp"]
        self.assertEqual(len(gmp), 1, gmp)
        kept = gmp[0]
        self.assertEqual((self.blamed(kept)["function"], kept["verdict"], kept["blocks"], kept["bytes"]),
                         ("worker", "reachable", 4, 4 * 64))
        self.assertEqual(self.blamed(kept)["line"], line_of(os.path.join(PROGRAMS, "gmp_threads.c"), "KEPT"))


GP_SCRIPT = """\
f = 20000!;
print(#digits(f));
print(f % 1000000007);
x = 3^200000;
print(x % (2^127 - 1));
print(#Str(x));
print(gcd(f, x - 1));
print(sqrtint(x) % 1000003);
quit
"""


@unittest.skipUnless(shutil.which("gp"), "PARI/GP (Debian pari-gp) not installed")
class PariGp(GmpScenario):
    def test_gp_output_unchanged_and_gmp_allocations_recorded(self):
        # gp calls mp_set_memory_functions from pari_init_opts with its own functions; GMP then
        # allocates through them for scratch space above its alloca limit (large products, radix
        # conversion), so those blocks must come out as domain gmp.
        script = os.path.join(self.tmp, "big.gp")
        with open(script, "w") as f:
            f.write(GP_SCRIPT)
        argv = ["gp", "-q", "-f", script]
        plain = self.run_plain(argv)
        traced, trace = self.run_traced(argv, check_rc=None)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual(traced.returncode, plain.returncode, traced.stderr)
        self.assertEqual(traced.stdout, plain.stdout)
        self.assertEqual(plain.stdout.splitlines()[0], "77338")  # digits of 20000!: the script ran
        report = self.report(trace)
        # Per-domain totals cover every callsite, including those with nothing live.
        gmp = report["totals"]["by_domain"]["gmp"]
        self.assertGreaterEqual(gmp["allocations"], 1, gmp)
        self.assertEqual(gmp["live_blocks"], 0, gmp)  # scratch: all freed again
        self.assertEqual(report["stats"]["dropped_blocks"], 0)
        self.assertEqual([l for l in report["leaks"] if l["domain"] == "gmp"], [])


if __name__ == "__main__":
    main()
