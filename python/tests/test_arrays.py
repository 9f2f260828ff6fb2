"""Searches from NumPy arrays of any channel count, uint8 or float32: the IDX
files write_idx_dir makes, the config that names them, Run and resume."""
import os
import tempfile
import unittest

import numpy as np

import sparsenas as sn
from tiny import images, search_config


def colour(n, seed):
    """(uint8 images N x 3 x 6 x 6, labels): tiny's patterns, class k's
    brightest in channel k, the other channels dimmer copies."""
    x, y = images(n, seed)
    rgb = np.concatenate([x, x // 2, x // 3], axis=1)
    for i, label in enumerate(y):
        rgb[i] = np.roll(rgb[i], int(label), axis=0)
    return rgb, y


def to_float(x):
    """Float pixels that IDX bytes could not hold: outside [0, 1], not multiples of 1/255."""
    return (x.astype(np.float32) * np.float32(0.0173) - np.float32(1.31)).astype(np.float32)


def case_arrays(name):
    """The four arrays of a case and (images file kind, [H, W, C])."""
    if name == "rgb-uint8":
        (x, y), (xt, yt) = colour(240, 5), colour(60, 6)
        return (x, y, xt, yt), ("idx4-ubyte", [6, 6, 3])
    if name == "grey-float32":
        (x, y), (xt, yt) = images(240, 5), images(60, 6)
        return (to_float(x), y, to_float(xt), yt), ("idx3-float", [6, 6, 1])
    (x, y), (xt, yt) = colour(240, 5), colour(60, 6)
    return (to_float(x), y, to_float(xt), yt), ("idx4-float", [6, 6, 3])


def strip(record):
    """A trial record without its timings (which differ between runs)."""
    return {k: v for k, v in record.items() if k not in ("seconds", "elapsed_s", "time")}


class TestArraySearch(unittest.TestCase):
    """(a) 3-channel uint8, (b) 1-channel float32, (c) 3-channel float32:
    each searched in one go, and cancelled after two trials then resumed."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_case(self, name):
        data, (kind, shape) = case_arrays(name)
        x, y, xt, yt = data
        out = os.path.join(self.tmp.name, name)
        with sn.search(search_config(4), out, data=data, seed=2) as run:
            self.assertFalse(run.cancelled)
            records = run.trials()
        self.assertEqual([r["id"] for r in records], [0, 1, 2, 3])
        ok = [r for r in records if r["status"] == "ok"]
        self.assertTrue(ok, records)
        self.assertTrue(all(0 <= r["val_accuracy"] <= 1 for r in ok))
        # the files the library reads, and a config that names them and their shape
        files = sorted(os.listdir(os.path.join(out, "data")))
        self.assertEqual(files, ["t10k-images-" + kind, "t10k-labels-idx1-ubyte",
                                 "train-images-" + kind, "train-labels-idx1-ubyte"])
        with open(os.path.join(out, "config.yaml")) as f:
            text = f.read()
        self.assertIn(os.path.join(os.path.abspath(out), "data"), text)
        self.assertIn("shape: [%d, %d, %d]" % tuple(shape), text)
        # a Run opened afresh reads the same records, and the data as the search split it
        with sn.Run(out) as again:
            self.assertEqual(again.trials(), records)
            train, val, test = again.open_data()
            with train, val, test, again.net(ok[-1]["id"]) as net:
                self.assertEqual((len(train), len(val), len(test)), (200, 40, 60))
                self.assertEqual(test.shape, (shape[2], shape[0], shape[1]))
                self.assertAlmostEqual(net.evaluate(val), ok[-1]["val_accuracy"], places=6)
                xs, ys = test.to_numpy()
                np.testing.assert_array_equal(ys, yt)
                raw = x[:200].astype(np.float32)
                scale = np.float32(1 / 255) if x.dtype == np.uint8 else np.float32(1)
                mean, std = (raw * scale).mean(), (raw * scale).std()
                np.testing.assert_allclose(xs, (xt.astype(np.float32) * scale - mean) / std, atol=1e-4)
        # cancelled after two trials, then resumed: the records of the uninterrupted search
        cut = os.path.join(self.tmp.name, name + "-resumed")
        seen = []
        with sn.search(search_config(4), cut, data=data, seed=2,
                       on_trial=lambda r: seen.append(r["id"]) or len(seen) < 2) as run:
            self.assertTrue(run.cancelled)
            self.assertEqual(len(run), 2)
        with sn.resume(cut) as run:
            self.assertFalse(run.cancelled)
            self.assertEqual([strip(r) for r in run.trials()], [strip(r) for r in records])

    def test_rgb_uint8(self):
        self.check_case("rgb-uint8")

    def test_grey_float32(self):
        self.check_case("grey-float32")

    def test_rgb_float32(self):
        self.check_case("rgb-float32")


class TestFloatIdx(unittest.TestCase):
    def test_bit_identical_to_from_numpy(self):
        """float32 pixels through float IDX files and through from_numpy are the
        same bits: signed zero, a denormal, the extremes, values of any scale."""
        rng = np.random.default_rng(4)
        for c in (1, 3):
            x = rng.normal(0, 100, size=(30, c, 5, 4)).astype(np.float32)
            x.flat[:6] = [-0.0, 1e-45, -3.4028235e38, 3.4028235e38, 1 / 3, 255.5]
            y = np.arange(30) % 4
            with tempfile.TemporaryDirectory() as t:
                sn.write_idx_dir(t, x[:20], y[:20], x[20:], y[20:])
                back = sn.load_mnist(t)  # NumPy's reading of the files
                for a, b in zip(back, (x[:20], y[:20], x[20:], y[20:])):
                    np.testing.assert_array_equal(a.view(np.uint32) if a.dtype == np.float32 else a,
                                                  b.view(np.uint32) if b.dtype == np.float32 else b)
                train, val, test = sn.open_data(t, val_count=5, normalize=False)  # the library's reader
                with train, val, test, sn.Dataset.from_numpy(x[:15], y[:15]) as a, \
                        sn.Dataset.from_numpy(x[20:], y[20:]) as b:
                    self.assertEqual(train.shape, (c, 5, 4))
                    self.assertEqual(train.to_numpy()[0].view(np.uint32).tobytes(),
                                     a.to_numpy()[0].view(np.uint32).tobytes())
                    self.assertEqual(test.to_numpy()[0].tobytes(), b.to_numpy()[0].tobytes())
                    self.assertEqual(test.to_numpy()[0].tobytes(), x[20:].tobytes())

    def test_rewrite_removes_other_forms(self):
        """A directory written as 3-channel float, then as grey bytes, reads as grey
        bytes (idx3-ubyte is looked for first, but a stale file must not win either way)."""
        (x, y), (xt, yt) = colour(20, 1), colour(10, 2)
        with tempfile.TemporaryDirectory() as t:
            sn.write_idx_dir(t, to_float(x), y, to_float(xt), yt)
            sn.write_idx_dir(t, x[:, :1], y, xt[:, :1], yt)
            self.assertEqual(sorted(os.listdir(t)), ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                                                     "train-images-idx3-ubyte", "train-labels-idx1-ubyte"])
            sn.write_idx_dir(t, to_float(x), y, to_float(xt), yt)
            train, val, test = sn.open_data(t, val_count=5, normalize=False)
            with train, val, test:
                self.assertEqual(test.to_numpy()[0].tobytes(), to_float(xt).tobytes())

    def test_bad_arrays(self):
        (x, y), (xt, yt) = colour(20, 1), colour(10, 2)
        f = to_float(x)
        nan = f.copy()
        nan[3, 1, 2, 4] = np.nan
        bad = [
            ((x[:, :2], y, xt, yt), r"x_test: images of C x H x W = \(3, 6, 6\), but x_train has \(2, 6, 6\)"),
            ((f, y, xt, yt), "x_test is uint8 but x_train is float32"),
            ((x.astype(np.int32), y, xt, yt), "x_train: expected uint8 or float32 images, got int32"),
            ((x[None], y, xt, yt), r"x_train: expected N x C x H x W \(or N x H x W\) images, got shape"),
            ((x[:, :, :0], y, xt, yt), "x_train: every dimension must be at least 1"),
            ((nan, y, to_float(xt), yt), r"x_train: value nan at index \(3, 1, 2, 4\) is not finite"),
            ((x, y[:-1], xt, yt), r"y_train: expected 20 labels \(one per image\), got shape \(19,\)"),
            ((x, y + 254, xt, yt), "y_train: label 256 at index 2 is out of range: IDX labels are bytes, 0 to 255"),
            ((x, y, xt, yt - 1), "y_test: label -1 at index 0 is out of range"),
            ((x, y, xt, yt + 1), r"y_test: label 3 is not a class of y_train \(labels 0 to 2\)"),
            ((x, y + 0.5, xt, yt), "y_train: labels must be integers, got float64"),
        ]
        with tempfile.TemporaryDirectory() as t:
            for args, message in bad:
                with self.assertRaisesRegex(ValueError, message):
                    sn.write_idx_dir(os.path.join(t, "d"), *args)
            self.assertFalse(os.path.exists(os.path.join(t, "d")))  # checked before anything is written
            cfg = dict(search_config(4), data={"val_count": 5, "shape": [6, 6, 1]})
            with self.assertRaisesRegex(ValueError, r"data.shape \[6, 6, 1\] is not the arrays' .* \[6, 6, 3\]"):
                sn.search(cfg, os.path.join(t, "run"), data=(x, y, xt, yt))


if __name__ == "__main__":
    unittest.main()
