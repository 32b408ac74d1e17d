"""Shared harness for libleak's end-to-end scenarios.

Each scenario compiles a small real program, runs it under LD_PRELOAD=libleak.so and asserts on
leakreport's JSON: exact bytes, blocks, function names and lines. CTest runs every test_*.py file
here with LIBLEAK_BUILD_DIR pointing at the build tree.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
BUILD = os.path.abspath(os.environ.get("LIBLEAK_BUILD_DIR", os.path.join(HERE, "..", "..", "build")))
LIBLEAK = os.path.join(BUILD, "libleak.so")
LEAKREPORT = os.environ.get("LIBLEAK_LEAKREPORT", os.path.join(BUILD, "leakreport"))
# Debian's interpreter: the one python3-dev's headers match.
PYTHON = os.environ.get("LIBLEAK_TEST_PYTHON", "/usr/bin/python3")


def line_of(path, marker):
    """1-based line number of the first line containing `marker` (keeps tests free of magic numbers)."""
    with open(path) as f:
        for n, text in enumerate(f, 1):
            if marker in text:
                return n
    raise AssertionError(f"marker {marker!r} not found in {path}")


class Scenario(unittest.TestCase):
    """Base class: a private temporary directory and helpers to build, run and report."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="libleak-e2e-")

    def tearDown(self):
        if os.environ.get("LIBLEAK_KEEP_TMP"):
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- building ------------------------------------------------------------------------------
    def compile(self, source, *, cxx=False, shared=False, flags=(), libs=()):
        """Compiles programs/<source> (or an absolute path) with debug info; returns the output path."""
        src = source if os.path.isabs(source) else os.path.join(PROGRAMS, source)
        out = os.path.join(self.tmp, os.path.splitext(os.path.basename(src))[0] + (".so" if shared else ""))
        cmd = ["g++" if cxx else "gcc", "-g", "-O0", "-fno-omit-frame-pointer", "-fno-inline"]
        cmd += ["-shared", "-fPIC"] if shared else []
        cmd += list(flags) + [src, "-o", out] + list(libs) + (["-pthread"] if not shared else [])
        subprocess.run(cmd, check=True)
        return out

    def compile_python_extension(self, source, module, python=None):
        """Builds a CPython extension module named `module` from programs/<source> for `python`
        (default: PYTHON)."""
        src = os.path.join(PROGRAMS, source)
        python = python or PYTHON
        include = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        suffix = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                                check=True, capture_output=True, text=True).stdout.strip()
        out = os.path.join(self.tmp, module + suffix)
        subprocess.run(["gcc", "-g", "-O0", "-fno-omit-frame-pointer", "-shared", "-fPIC", f"-I{include}",
                        src, "-o", out], check=True)
        return out

    # ---- running -------------------------------------------------------------------------------
    def run_traced(self, argv, *, env=None, trace_name="trace.bin", timeout=120, check_rc=0, cwd=None,
                   preload=LIBLEAK):
        """Runs argv under libleak.so (this build's, or `preload`); returns (CompletedProcess, trace path)."""
        trace = os.path.join(self.tmp, trace_name)
        full_env = dict(os.environ)
        full_env.pop("LIBLEAK_ROOT_PID", None)
        full_env.update({"LD_PRELOAD": preload, "LIBLEAK_OUTPUT": trace})
        full_env.update(env or {})
        proc = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout,
                              cwd=cwd or self.tmp)
        if check_rc is not None:
            self.assertEqual(proc.returncode, check_rc, f"{argv} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc, trace

    def run_plain(self, argv, *, env=None, timeout=120, cwd=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout,
                              cwd=cwd or self.tmp)

    def leakreport(self, *args, check_rc=0, exe=LEAKREPORT):
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
        if check_rc is not None:
            self.assertEqual(proc.returncode, check_rc, f"{exe} {args}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def report(self, trace, *args, exe=LEAKREPORT):
        """leakreport --format json, parsed."""
        return json.loads(self.leakreport("--format", "json", *args, trace, exe=exe).stdout)

    # ---- querying ------------------------------------------------------------------------------
    @staticmethod
    def blamed(leak):
        return leak["frames"][leak["blame"]] if leak["frames"] else {}

    def leaks_in(self, report, function, verdict=None):
        """Leak entries whose blamed frame is `function` (and, if given, with this verdict)."""
        return [l for l in report["leaks"]
                if self.blamed(l).get("function") == function and (verdict is None or l["verdict"] == verdict)]

    def leak_in(self, report, function, verdict=None):
        found = self.leaks_in(report, function, verdict)
        self.assertEqual(len(found), 1, f"expected one leak blamed on {function} ({verdict}), got "
                         f"{json.dumps(found, indent=1)[:3000]}\nall: {[ (self.blamed(l).get('function'), l['verdict'], l['bytes']) for l in report['leaks']]}")
        return found[0]


def pyenv_python(minor):
    """The newest pyenv build of CPython 3.<minor> (PYENV_ROOT or ~/.pyenv), or None."""
    versions = os.path.join(os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv")), "versions")
    prefix = f"3.{minor}."
    found = []
    for name in os.listdir(versions) if os.path.isdir(versions) else []:
        exe = os.path.join(versions, name, "bin", "python3")
        if name.startswith(prefix) and name[len(prefix):].isdigit() and os.access(exe, os.X_OK):
            found.append((int(name[len(prefix):]), exe))
    return max(found)[1] if found else None


def python_version(python):
    """(major, minor) of an interpreter."""
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def main():
    unittest.main(verbosity=2)
