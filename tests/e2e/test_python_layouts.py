"""The CPython struct layouts checked into src/preload/python/layouts.h match the headers of every
interpreter installed here: tools/pylayout/pylayout.c is recompiled against each version's headers
and its row must appear in the table exactly. Versions not installed are skipped by name."""
import os
import re
import subprocess
import unittest

from harness import HERE, Scenario, main, pyenv_python, python_version

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TABLE = os.path.join(ROOT, "src", "preload", "python", "layouts.h")
TOOL = os.path.join(ROOT, "tools", "pylayout")
DEBIAN = "/usr/bin/python3"


def table_rows():
    with open(TABLE) as f:
        return [l.rstrip("\n") for l in f if l.startswith("  {.major = ")]


class PythonLayouts(Scenario):
    def generated_row(self, python):
        """pylayout's row for `python`'s headers; skips when the interpreter or headers are absent."""
        if not python or not os.access(python, os.X_OK):
            self.skipTest("interpreter not installed")
        include = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        if not os.path.exists(os.path.join(include, "Python.h")):
            self.skipTest(f"no headers in {include}")
        exe = os.path.join(self.tmp, "pylayout")
        subprocess.run(["cc", "-std=gnu11", "-w", f"-I{include}", os.path.join(TOOL, "pylayout.c"), "-o", exe],
                       check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        self.assertEqual(out.count("\n"), 1, out)
        return out.rstrip("\n"), python_version(python)

    def check(self, python):
        row, version = self.generated_row(python)
        self.assertTrue(row.startswith(f"  {{.major = {version[0]}, .minor = {version[1]}, "), row)
        self.assertIn(row, table_rows(), f"python/layouts.h is stale for {python}: run tools/pylayout/generate.sh")

    def test_table_covers_3_8_to_3_13_once_each(self):
        versions = [tuple(int(x) for x in re.match(r"  \{\.major = (\d+), \.minor = (\d+),", r).groups())
                    for r in table_rows()]
        self.assertEqual(versions, [(3, minor) for minor in range(8, 14)])

    def test_debian_python3(self):
        self.check(DEBIAN)

    def test_generate_reproduces_the_table(self):
        pythons = [pyenv_python(minor) for minor in range(8, 14)]
        if None in pythons:
            self.skipTest("needs pyenv builds of all of 3.8-3.13")
        out = subprocess.run(["sh", os.path.join(TOOL, "generate.sh"), *pythons], check=True,
                             capture_output=True, text=True).stdout
        with open(TABLE) as f:
            self.assertEqual(out, f.read())


def version_test(minor):
    def test(self):
        python = pyenv_python(minor)
        if not python:
            self.skipTest(f"no pyenv build of CPython 3.{minor}")
        self.check(python)
    return test


for _minor in range(8, 14):
    setattr(PythonLayouts, f"test_pyenv_3_{_minor}", version_test(_minor))

if __name__ == "__main__":
    main()
