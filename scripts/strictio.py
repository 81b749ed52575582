"""strictio.py: the input and output discipline of pollstorm's Python tools
(the same as harness/cli/cli.h for the binaries; docs/bad-input.md).

Every bad input is exit 2 with one line naming it; an internal error is
exit 3 with a message, never a traceback; inputs that are not regular files
are refused without blocking (a FIFO with no writer would hang a plain
open()); outputs go through a temporary file renamed into place.
"""
import json
import math
import os
import re
import stat
import sys

PROG = [os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "pollstorm"]


class BadInput(Exception):
    """Raised where exiting at once is not wanted (tests, callers that clean up)."""


def set_prog(name):
    PROG[0] = name


def fail(msg):
    """Exit 2 with one line naming the bad input."""
    print(f"{PROG[0]}: {msg}", file=sys.stderr)
    sys.exit(2)


def shown(s, limit=160):
    """A user's token for a message: at most `limit` characters, control and
    non-ASCII characters escaped, so a huge or binary token stays one line."""
    s = str(s)
    out = s[:limit].encode("ascii", "backslashreplace").decode("ascii")
    out = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in out)
    return out + (f"... ({len(s)} characters)" if len(s) > limit else "")


_DIGITS = re.compile(r"[0-9]{1,30}")


def parse_int(flag, text, lo, hi):
    """A decimal number in [lo, hi]: ASCII digits only (int() would take
    '²', '١٢' and '1_000', and 5000 digits)."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text) or not lo <= int(text) <= hi:
        fail(f"{flag} takes a whole number in {lo}..{hi}, not '{shown(text)}'")
    return int(text)


_FLOAT = re.compile(r"[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?")


def parse_float(flag, text, lo, hi, what=None):
    """A finite decimal number in [lo, hi] written in ASCII: no sign, no
    nan or inf, and no exponent that overflows (1e999 is inf)."""
    if (not isinstance(text, str) or not _FLOAT.fullmatch(text)
            or not math.isfinite(float(text)) or not lo <= float(text) <= hi):
        fail(f"{flag} takes {what or f'a number in {lo}..{hi}'}, not '{shown(text)}'")
    return float(text)


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _read(path, what, max_bytes):
    """The contents of a regular file; raises BadInput naming it. Opened with
    O_NONBLOCK and checked with fstat before any read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as e:
        raise BadInput(f"cannot read {what} '{shown(path)}': {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{what} '{shown(path)}' is {_kind(st.st_mode)}, not a regular file")
        if st.st_size > max_bytes:
            raise BadInput(f"{what} '{shown(path)}' is too large ({st.st_size} bytes; "
                           f"at most {max_bytes})")
        chunks = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    except OSError as e:
        raise BadInput(f"cannot read {what} '{shown(path)}': {e.strerror}") from None
    finally:
        os.close(fd)


def _json(path, what, max_bytes):
    data = _read(path, what, max_bytes)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise BadInput(f"{what} '{shown(path)}' is not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{what} '{shown(path)}' is not JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise BadInput(f"{what} '{shown(path)}' is nested too deeply") from None


def try_load_json(path, what="JSON input", max_bytes=256 << 20):
    """(parsed JSON, None), or (None, the reason) for an input that may be
    missing or damaged without stopping the tool (a previous run's summary)."""
    try:
        return _json(path, what, max_bytes), None
    except BadInput as e:
        return None, str(e)


def read_bytes(path, what="input", max_bytes=256 << 20):
    """The contents of a regular file, or exit 2 naming it."""
    try:
        return _read(path, what, max_bytes)
    except BadInput as e:
        fail(str(e))


def read_text(path, what="input", max_bytes=256 << 20):
    data = read_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{what} '{shown(path)}' is not UTF-8 text (byte {e.start})")


def load_json(path, what="JSON input", max_bytes=256 << 20):
    """Parsed JSON of a regular file, or exit 2 naming it (not text, not
    JSON, nested too deeply)."""
    try:
        return _json(path, what, max_bytes)
    except BadInput as e:
        fail(str(e))


def check_output(what, path, directory=False):
    """Exit 2 unless `path` can be written: an existing path must be a
    regular file (or a directory, if directory=True); its folder must exist
    and be writable. Creates nothing."""
    if not path:
        fail(f"{what}: an empty path")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        fail(f"{what} '{shown(path)}': {e.strerror}")
    if st is not None:
        ok = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
        if not ok:
            want = "a directory" if directory else "a regular file"
            kind = "a regular file" if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)
            fail(f"{what} '{shown(path)}' is {kind}, not {want}")
        if not os.access(path, os.W_OK):
            fail(f"{what} '{shown(path)}' is not writable")
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        fail(f"{what} '{shown(path)}': no folder '{shown(parent)}'")
    if not os.access(parent, os.W_OK | os.X_OK):
        fail(f"{what} '{shown(path)}': folder '{shown(parent)}' is not writable")


def write_atomic(path, text):
    """Write `text` to `path` through a temporary file beside it, renamed into
    place: a reader never sees half a file; a failure leaves the old one.
    Refuses (exit 2) a path that exists and is not a regular file."""
    if os.path.lexists(path) and not os.path.isfile(path):
        fail(f"'{shown(path)}' exists and is not a regular file")
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        fail(f"cannot write '{shown(path)}': {e.strerror}")


def run(main, argv=None):
    """sys.exit(main(argv)), with every unexpected exception turned into exit 3
    and one line (never a traceback), and a closed stdout pipe into exit 0."""
    try:
        sys.exit(main(sys.argv if argv is None else argv))
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except KeyboardInterrupt:
        print(f"{PROG[0]}: interrupted", file=sys.stderr)
        sys.exit(130)
    except RecursionError:
        print(f"{PROG[0]}: internal error: input nested too deeply", file=sys.stderr)
        sys.exit(3)
    except Exception as e:  # pylint: disable=broad-except
        print(f"{PROG[0]}: internal error: {type(e).__name__}: {shown(e, 200)}", file=sys.stderr)
        sys.exit(3)
