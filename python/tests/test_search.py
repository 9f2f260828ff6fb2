"""Searches, callbacks, cancellation and run directories through sparsenas."""
import os
import tempfile
import threading
import unittest

import numpy as np

import sparsenas as sn
from tiny import images, search_config


class TestSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.x, cls.y = images(240, 5)
        cls.xt, cls.yt = images(60, 6)
        cls.records, cls.progress = [], []
        cls.result = sn.search(search_config(4), os.path.join(cls.tmp.name, "run"),
                            data=(cls.x, cls.y, cls.xt, cls.yt), seed=3,
                            on_trial=cls.records.append, on_progress=lambda *a: cls.progress.append(a))

    @classmethod
    def tearDownClass(cls):
        cls.result.close()
        cls.tmp.cleanup()

    def test_trials_as_dicts(self):
        run = self.result
        self.assertFalse(run.cancelled)
        self.assertEqual(len(run), 4)
        self.assertEqual([r["id"] for r in self.records], [0, 1, 2, 3])
        self.assertEqual(run.trials(), self.records)  # the callback saw the records the run holds
        self.assertTrue(self.progress and all(len(p) == 5 for p in self.progress))
        ok = [t for t in run.trials() if t["status"] == "ok"]
        self.assertTrue(ok)
        t = ok[0]
        self.assertEqual(run.value(t["id"], "ms_bytes"), t["ms_bytes"])
        self.assertEqual(run.value(t["id"], "val_accuracy"), t["val_accuracy"])
        self.assertEqual(run.warnings, [])
        with self.assertRaises(sn.SparseError):
            run.value(99, "ms_bytes")

    def test_config_names_the_data_it_read(self):
        with open(os.path.join(self.result.path, "config.yaml")) as f:
            text = f.read()
        self.assertIn(os.path.join(self.result.path, "data"), text)
        self.assertIn("seed: 3", text)
        train, val, test = self.result.open_data()
        with train, val, test:
            self.assertEqual((len(train), len(val), len(test)), (200, 40, 60))
            # the search scaled the IDX bytes by 1/255 and normalised by the training split
            xt, yt = test.to_numpy()
            np.testing.assert_array_equal(yt, self.yt)
            m, s = self.x[:200].astype(np.float32).mean() / 255, (self.x[:200].astype(np.float32) / 255).std()
            np.testing.assert_allclose(xt, (self.xt.astype(np.float32) / 255 - m) / s, atol=1e-4)

    def test_front_best_and_networks(self):
        run = self.result
        front = run.pareto()
        self.assertTrue(front)
        best = run.best()
        self.assertIn(best["id"], [t["id"] for t in front])
        tight = min(t["ms_bytes"] for t in front)
        self.assertLessEqual(run.best(ms_bytes=tight)["ms_bytes"], tight)
        with self.assertRaises(KeyError):
            run.best(ms_bytes=1)
        train, val, test = run.open_data()
        with train, val, test, run.net(best["id"]) as net:
            self.assertAlmostEqual(net.evaluate(val), best["val_accuracy"], places=6)
            self.assertEqual(net.memory()["ms_bytes"], best["ms_bytes"])

    def test_dataframe(self):
        try:
            import pandas  # noqa: F401
        except ImportError:
            with self.assertRaisesRegex(ImportError, "pandas"):
                self.result.dataframe()
            self.skipTest("pandas (python3-pandas) not installed")
        df = self.result.dataframe()
        self.assertEqual(list(df["id"]), [0, 1, 2, 3])
        self.assertEqual(list(df["val_accuracy"]), [t.get("val_accuracy") for t in self.result.trials()])

    def test_cancel_then_resume(self):
        out = os.path.join(self.tmp.name, "cancelled")
        seen = []

        def two_trials(record):
            seen.append(record["id"])
            return len(seen) < 2 or False

        run = sn.search(search_config(4), out, data=(self.x, self.y, self.xt, self.yt), seed=3, on_trial=two_trials)
        with run:
            self.assertTrue(run.cancelled)
            self.assertEqual(len(run), 2)
        with sn.resume(out) as run:
            self.assertFalse(run.cancelled)
            # resumed exactly: the records of the uninterrupted search
            strip = lambda t: {k: v for k, v in t.items() if k not in ("seconds", "elapsed_s", "time")}
            self.assertEqual([strip(t)["id"] for t in run.trials()], [0, 1, 2, 3])
            self.assertEqual(run.trial(3)["arch"], self.result.trial(3)["arch"])
        ev = threading.Event()
        ev.set()
        with sn.search(search_config(4), os.path.join(self.tmp.name, "event"),
                       data=(self.x, self.y, self.xt, self.yt), cancel=ev) as run:
            self.assertTrue(run.cancelled)
            self.assertLessEqual(len(run), 1)

    def test_callback_error_is_raised(self):
        with self.assertRaises(KeyError):
            sn.search(search_config(4), os.path.join(self.tmp.name, "raises"),
                      data=(self.x, self.y, self.xt, self.yt), on_trial=lambda r: r["no such key"])

    def test_config_errors(self):
        with self.assertRaises(sn.SparseError) as cm:
            sn.SearchConfig.from_yaml("data: mnist\nseeed: 1\n", "bad.yaml")
        self.assertEqual(cm.exception.status, -4)
        self.assertIn("bad.yaml:2:1", cm.exception.message)
        with sn.SearchConfig.from_dict(dict(search_config(4), data="mnist")) as cfg:
            self.assertEqual(cfg.trial_count, 4)
            self.assertIn("initial_trials: 2", cfg.to_yaml())
        with self.assertRaisesRegex(ValueError, r"x_test: images of C x H x W = \(1, 6, 6\), but x_train has \(3, 4, 4\)"):
            sn.search(search_config(4), os.path.join(self.tmp.name, "rgb"),
                      data=(np.zeros((9, 3, 4, 4), np.uint8), np.zeros(9), self.xt, self.yt))


if __name__ == "__main__":
    unittest.main()
