"""The Python frames scenarios of test_python_frames.py under every CPython from 3.8 to 3.13
installed with pyenv (the newest patch release of each), plus /usr/bin/python3 when
LIBLEAK_TEST_PYTHON points test_python_frames.py elsewhere. Each version is read with its own
layout row; a version that is not installed is skipped and says so."""
import os
import unittest

import test_python_frames as base
from harness import PYTHON, main, pyenv_python, python_version

DEBIAN = "/usr/bin/python3"


def frames_under(python, label):
    """A PythonFrames subclass running under `python`, skipped when it is absent."""
    class Frames(base.PythonFrames):
        @classmethod
        def setUpClass(cls):
            if not python or not os.access(python, os.X_OK):
                raise unittest.SkipTest(f"{label} is not installed")
            cls.python = python
            super().setUpClass()
            version = python_version(python)
            if version != expected_version(label):
                raise AssertionError(f"{python} is {version}, expected {label}")

    Frames.__name__ = Frames.__qualname__ = "PythonFrames_" + label.replace(".", "_").replace(" ", "_")
    return Frames


def expected_version(label):
    if label.startswith("CPython 3."):
        return 3, int(label.split(".")[1])
    return python_version(DEBIAN)


for minor in range(8, 14):
    cls = frames_under(pyenv_python(minor), f"CPython 3.{minor}")
    globals()[cls.__name__] = cls
if os.path.realpath(PYTHON) != os.path.realpath(DEBIAN):
    cls = frames_under(DEBIAN if os.path.exists(DEBIAN) else None, "Debian python3")
    globals()[cls.__name__] = cls
del cls

if __name__ == "__main__":
    main()
