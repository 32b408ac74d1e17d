"""Installing: `cmake --install` into a DESTDIR under another prefix than the configured one, and
the .deb that cpack builds. In each, the INSTALLED leakreport reports on a trace written by the
INSTALLED libleak.so, --version names the project's version, and the installed pkg-config file
compiles a program against the installed header."""
import glob
import os
import shlex
import subprocess

from harness import BUILD, HERE, LIBLEAK, LEAKREPORT, Scenario, main

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CMAKE = os.environ.get("LIBLEAK_CMAKE", "cmake")
CPACK = os.environ.get("LIBLEAK_CPACK", "cpack")
LIBDIR = os.environ.get("LIBLEAK_INSTALL_LIBDIR", "lib")  # GNUInstallDirs' choice for the prefix


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        text = f.read()
    start = text.index("project(libleak VERSION ") + len("project(libleak VERSION ")
    return text[start:].split()[0]


VERSION = project_version()
# Relative to the prefix; libleak.so has a directory of its own (it is preloaded, never linked).
INSTALLED = {"bin/leakreport", f"{LIBDIR}/libleak/libleak.so", "include/libleak/libleak.h",
             f"{LIBDIR}/pkgconfig/libleak.pc"}


class Install(Scenario):
    def run_ok(self, argv, **kwargs):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)
        self.assertEqual(proc.returncode, 0, f"{argv}:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def files_under(self, top):
        return {os.path.relpath(os.path.join(d, f), top) for d, _, fs in os.walk(top) for f in fs}

    def check_tools(self, prefix):
        """The installed leakreport on the bundled example traced by the installed libleak.so."""
        leakreport = os.path.join(prefix, "bin", "leakreport")
        preload = os.path.join(prefix, LIBDIR, "libleak", "libleak.so")
        self.assertEqual(self.run_ok([leakreport, "--version"]), f"leakreport {VERSION}\n")
        for path in (leakreport, preload):  # nothing may lead back into the build tree
            self.assertNotIn(BUILD, self.run_ok(["readelf", "-d", path]))
        exe = self.compile(os.path.join(ROOT, "examples", "leaky.c"))
        proc, trace = self.run_traced([exe], preload=preload)
        self.assertEqual(proc.stdout, self.run_plain([exe]).stdout)
        leak = self.leak_in(self.report(trace, exe=leakreport), "simulate", "unreachable")
        self.assertEqual((leak["bytes"], leak["blocks"]), (80000, 10000))
        # Sizes in the gate (README "Sizes"): 80KB is 80000 bytes, not exceeded; 79.999KB is 79999.
        self.leakreport("--fail-above", "80KB", trace, exe=leakreport, check_rc=0)
        gate = self.leakreport("--fail-above", "79.999KB", trace, exe=leakreport, check_rc=1)
        self.assertIn("> limit 79999 bytes", gate.stderr)

    def check_pkg_config(self, prefix):
        """pkg-config finds the installed header and libleak.so through the installed .pc file."""
        env = dict(os.environ, PKG_CONFIG_LIBDIR=os.path.join(prefix, LIBDIR, "pkgconfig"))
        query = lambda *args: self.run_ok(["pkg-config", *args, "libleak"], env=env).strip()
        self.assertEqual(query("--modversion"), VERSION)
        self.assertEqual(query("--libs"), "")  # weak symbols: nothing to link
        cflags = shlex.split(query("--cflags"))
        self.assertEqual([os.path.normpath(f[2:]) for f in cflags], [os.path.join(prefix, "include")])
        preload = os.path.normpath(query("--variable=preload"))
        self.assertEqual(preload, os.path.join(prefix, LIBDIR, "libleak", "libleak.so"))

        exe = os.path.join(self.tmp, "phases")
        self.run_ok(["gcc", "-g", "-O0", *cflags, os.path.join(ROOT, "examples", "phases.c"), "-o", exe])
        plain = self.run_plain([exe])
        self.assertEqual((plain.returncode, plain.stdout),
                         (0, "100 requests, 10 errors; libleak_mark returned -1\n"))
        proc, trace = self.run_traced([exe], preload=preload, trace_name="phases.bin")
        self.assertEqual(proc.stdout, "100 requests, 10 errors; libleak_mark returned 0\n")
        report = self.report(trace, exe=os.path.join(prefix, "bin", "leakreport"))
        self.assertEqual([m["label"] for m in report["marks"]], ["warm-up done"])

    def test_cmake_install_to_destdir(self):
        stage = os.path.join(self.tmp, "stage")
        self.run_ok([CMAKE, "--install", BUILD, "--prefix", "/opt/libleak"], env=dict(os.environ, DESTDIR=stage))
        self.assertEqual(self.files_under(stage), {os.path.join("opt/libleak", f) for f in INSTALLED})
        prefix = os.path.join(stage, "opt", "libleak")
        self.check_tools(prefix)
        self.check_pkg_config(prefix)

    def test_deb_package(self):
        out = os.path.join(self.tmp, "package")
        self.run_ok([CPACK, "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", out])
        arch = self.run_ok(["dpkg", "--print-architecture"]).strip()
        deb = os.path.join(out, f"libleak_{VERSION}_{arch}.deb")
        self.assertEqual(glob.glob(os.path.join(out, "*.deb")), [deb])
        fields = {f: self.run_ok(["dpkg-deb", "-f", deb, f]).strip() for f in ("Package", "Version", "Depends")}
        self.assertEqual((fields["Package"], fields["Version"]), ("libleak", VERSION))
        depends = {d.split()[0] for d in fields["Depends"].split(", ")}
        self.assertEqual(depends, self.packages_loaded_by([LIBLEAK, LEAKREPORT]))

        root = os.path.join(self.tmp, "deb-root")
        self.run_ok(["dpkg-deb", "-x", deb, root])
        self.assertEqual(self.files_under(root), {os.path.join("usr", f) for f in INSTALLED})
        self.check_tools(os.path.join(root, "usr"))
        self.check_pkg_config(os.path.join(root, "usr"))

    def packages_loaded_by(self, binaries):
        """The Debian packages that ship the shared libraries these binaries name as NEEDED."""
        multiarch = self.run_ok(["gcc", "-print-multiarch"]).strip()
        packages = set()
        for binary in binaries:
            for line in self.run_ok(["readelf", "-d", binary]).splitlines():
                if "(NEEDED)" not in line:
                    continue
                soname = line.split("[", 1)[1].rstrip("]")
                owners = self.run_ok(["dpkg-query", "-S", f"*/{multiarch}/{soname}"]).splitlines()
                packages |= {o.split(":", 1)[0] for o in owners}
        return packages


if __name__ == "__main__":
    main()
