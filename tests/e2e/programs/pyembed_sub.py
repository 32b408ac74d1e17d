# Run by pyembed_script.py in a sub-interpreter (as "<string>"). A sub-interpreter starts with its
# own sys.path, without the script's directory, which the script passes in PYEMBED_DIR.
import os
import sys

sys.path.insert(0, os.environ["PYEMBED_DIR"])
import leakyext  # noqa: E402

for _ in range(int(os.environ["PYEMBED_COUNT"])):
    leakyext.leak_double()  # CALL_SUB
