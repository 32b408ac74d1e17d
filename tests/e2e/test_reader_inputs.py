"""leakreport on inputs that are not traces, or cannot be read, or are built to make it run away:
one error line and exit code 2, at once (no endless read of /dev/zero, no wait on a FIFO, no
inflating of a zlib bomb), and a directory with an entry that cannot be read is an error rather
than a report that silently misses a process."""
import os
import struct
import subprocess
import zlib

from harness import LEAKREPORT, Scenario, main


def bomb_trace():
    """A trace whose modules section, 1 MiB of zeros, is stored zlib-compressed (about 1000:1):
    the bytes and the stored stream size."""
    process = struct.pack("<QQQQIiIIIIII", 1, 0, 0, 0, 1, 0, 0, 32, 100, 1, 1, 2) + b"x\0"
    stream = zlib.compress(bytes(1 << 20))
    sections = b""
    for kind, flags, payload in ((1, 0, process), (2, 1, struct.pack("<Q", 1 << 20) + stream)):
        section = struct.pack("<IIQ", kind, flags, len(payload)) + payload
        sections += section + bytes(-len(section) % 8)
    header = b"LIBLEAK\x1a" + struct.pack("<IIQII", 1, 64, 64 + len(sections), 2, 0) + bytes(32)
    return header + sections, len(stream)


class ReaderInputs(Scenario):
    def leakreport_error(self, *args):
        """Runs leakreport, which must fail with one line on stderr (within 30 s: no hang)."""
        proc = subprocess.run([LEAKREPORT, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
        return proc.stderr

    def test_dev_zero_is_not_read(self):
        self.assertEqual(self.leakreport_error("/dev/zero"),
                         "leakreport: /dev/zero: not a regular file: a character device\n")

    def test_fifo_without_a_writer_does_not_block(self):
        fifo = os.path.join(self.tmp, "trace.bin")
        os.mkfifo(fifo)
        self.assertEqual(self.leakreport_error(fifo), f"leakreport: {fifo}: not a regular file: a FIFO\n")

    def test_unreadable_entry_of_a_trace_directory_is_an_error(self):
        traces = os.path.join(self.tmp, "traces")
        os.mkdir(traces)
        self.run_traced(["/bin/true"], env={"LIBLEAK_OUTPUT": os.path.join(traces, "a.bin")})
        os.mkfifo(os.path.join(traces, "fifo"))  # not a trace: skipped, never waited on
        self.assertEqual(self.leakreport(traces).returncode, 0)
        # Running as root, no file mode makes a read fail: a dangling symlink stands for a trace
        # that cannot be read.
        gone = os.path.join(traces, "b.bin")
        os.symlink(os.path.join(self.tmp, "gone"), gone)
        self.assertEqual(self.leakreport_error(traces),
                         f"leakreport: {gone}: cannot read: No such file or directory\n")

    def test_zlib_bomb_is_refused_before_inflating(self):
        data, stream = bomb_trace()
        path = os.path.join(self.tmp, "bomb.bin")
        with open(path, "wb") as f:
            f.write(data)
        self.assertEqual(self.leakreport_error(path),
                         f"leakreport: {path}: section 1 claims 1048576 bytes uncompressed from {stream} "
                         f"compressed (at most {stream * 32 + 4096} allowed)\n")


if __name__ == "__main__":
    main()
