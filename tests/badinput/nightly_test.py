#!/usr/bin/env python3
"""tests/badinput/nightly_test.py: the nightly's bad inputs that only show
once a run has started (issue 15): a damaged previous summary, two nightlies
at once, two started in the same second. Each test builds a root of its own
(a copy of scripts/nightly.py, strictio.py and sarif.py beside a fresh
reports/runs) and makes nightly.Run objects there: the start of a run only
(folder, lock, `latest`, summary), never a step.
"""
import datetime
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_nightly(root):
    """nightly.py imported from root/scripts, so that its ROOT is root."""
    for name in ("nightly.py", "strictio.py", "sarif.py"):
        shutil.copy(os.path.join(ROOT, "scripts", name), os.path.join(root, "scripts", name))
    # The run renders its page after each save: the real renderer, beside it.
    shutil.copy(os.path.join(ROOT, "reports", "make_report.py"),
                os.path.join(root, "reports", "make_report.py"))
    sys.path.insert(0, os.path.join(root, "scripts"))
    try:
        spec = importlib.util.spec_from_file_location("nightly_under_test",
                                                      os.path.join(root, "scripts", "nightly.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.pop(0)


class NightlyStart(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="pollstorm-nightly-test-")
        os.makedirs(os.path.join(self.root, "scripts"))
        os.makedirs(os.path.join(self.root, "corpus"))
        os.makedirs(os.path.join(self.root, "reports", "runs"))
        self.nightly = load_nightly(self.root)
        self.runs = os.path.join(self.root, "reports", "runs")
        self.started = []

    def tearDown(self):
        for r in self.started:
            r.lock.close()
        shutil.rmtree(self.root)

    def start(self):
        with redirect_stderr(io.StringIO()):  # make_report is absent here: it says so
            r = self.nightly.Run(60, None, set())  # noqa: the start of a run only
        self.started.append(r)
        return r

    def test_a_binary_previous_summary_costs_only_the_trend(self):
        prev = os.path.join(self.runs, "20000101T000000Z")
        os.makedirs(prev)
        with open(os.path.join(prev, "summary.json"), "wb") as f:
            f.write(b"\xff\xfe\x00binary")
        os.symlink("20000101T000000Z", os.path.join(self.runs, "latest"))
        r = self.start()
        self.assertIsNone(r.prev)
        self.assertEqual(os.readlink(os.path.join(self.runs, "latest")), os.path.basename(r.dir))
        with open(os.path.join(prev, "summary.json"), "rb") as f:
            self.assertEqual(f.read(), b"\xff\xfe\x00binary", "the old run is left alone")

    def test_a_fifo_previous_summary_does_not_hang(self):
        prev = os.path.join(self.runs, "20000101T000000Z")
        os.makedirs(prev)
        os.mkfifo(os.path.join(prev, "summary.json"))
        os.symlink("20000101T000000Z", os.path.join(self.runs, "latest"))
        self.assertIsNone(self.start().prev)

    def test_a_good_previous_summary_is_read(self):
        prev = os.path.join(self.runs, "20000101T000000Z")
        os.makedirs(prev)
        with open(os.path.join(prev, "summary.json"), "w") as f:
            f.write('{"started": "20000101T000000Z"}')
        os.symlink("20000101T000000Z", os.path.join(self.runs, "latest"))
        self.assertEqual(self.start().prev, {"started": "20000101T000000Z"})

    def test_a_second_nightly_while_one_runs_is_exit_2(self):
        first = self.start()
        with redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as e:
            self.nightly.Run(60, None, set())
        self.assertEqual(e.exception.code, 2)
        self.assertIn("another nightly is running", err.getvalue())
        self.assertEqual(os.readlink(os.path.join(self.runs, "latest")),
                         os.path.basename(first.dir), "latest still names the running one")

    def test_two_runs_in_the_same_second_get_two_folders(self):
        # Take the folders of this second and the next few (a loaded machine
        # may take a while to get there): the run must go on beside them, not
        # fail on an existing folder or reuse it.
        now = datetime.datetime.now(datetime.timezone.utc)
        taken = [(now + datetime.timedelta(seconds=s)).strftime("%Y%m%dT%H%M%SZ")
                 for s in range(6)]
        for t in taken:
            os.makedirs(os.path.join(self.runs, t, "keep"))
        r = self.start()
        self.assertNotIn(os.path.basename(r.dir), taken)
        self.assertRegex(os.path.basename(r.dir), r"^\d{8}T\d{6}Z-2$")
        for t in taken:
            self.assertTrue(os.path.isdir(os.path.join(self.runs, t, "keep")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
