"""Data sets, architectures, networks, int8 and export through sparsenas."""
import ctypes
import gc
import os
import tempfile
import threading
import unittest

import numpy as np

import sparsenas as sn
from tiny import ARCH, images


class TestLibrary(unittest.TestCase):
    def test_loads_the_library_named(self):
        # The test runner names the libsparse.so.0 it means (a build tree's or
        # an installed one); the package must load that one and no other.
        self.assertRegex(sn.version(), r"^\d+\.\d+\.\d+$")
        want = os.environ.get("SPARSENAS_TEST_EXPECT_LIB")
        if want:
            with open("/proc/self/maps") as f:
                loaded = {os.path.realpath(line.split()[-1]) for line in f if "libsparse.so" in line}
            self.assertEqual(loaded, {os.path.realpath(want)})

    def test_error_carries_status_and_message(self):
        with self.assertRaises(sn.SparseError) as cm:
            sn.Arch.from_yaml("input: [1, 8, 8]\nclasses: 2\nlayers:\n  - {type: conv3d}\n", "bad.yaml")
        e = cm.exception
        self.assertEqual(e.status, -4)
        self.assertIn("bad.yaml:4", e.message)
        self.assertIn("conv3d", str(e))
        self.assertEqual(e.name, "malformed input")


class TestDataset(unittest.TestCase):
    def test_uint8_is_scaled_like_idx(self):
        x, y = images(30, 1)
        with sn.Dataset.from_numpy(x, y) as ds:
            self.assertEqual((len(ds), ds.shape, ds.classes), (30, (1, 6, 6), 3))
            xf, yf = ds.to_numpy()
        np.testing.assert_array_equal(xf, x.astype(np.float32) * (np.float32(1) / np.float32(255)))
        np.testing.assert_array_equal(yf, y)

    def test_float_and_three_dims(self):
        x = np.linspace(-1, 1, 2 * 5 * 4, dtype=np.float32).reshape(2, 5, 4)
        with sn.Dataset.from_numpy(x, [0, 1], classes=4) as ds:
            self.assertEqual((ds.shape, ds.classes), ((1, 5, 4), 4))
            np.testing.assert_array_equal(ds.to_numpy()[0][:, 0], x)
            with ds.range(1, 1) as one:
                np.testing.assert_array_equal(one.to_numpy()[0][0, 0], x[1])

    def test_bad_input(self):
        with self.assertRaises(ValueError):
            sn.Dataset.from_numpy(np.zeros((3, 4), np.float32), [0, 0, 0])
        with self.assertRaises(ValueError):
            sn.Dataset.from_numpy(np.zeros((3, 1, 2, 2), np.float32), [0, 0])
        with self.assertRaises(TypeError):
            sn.Dataset.from_numpy(np.zeros((1, 1, 2, 2), np.int16), [0])
        with self.assertRaises(sn.SparseError) as cm:  # the library refuses a NaN pixel
            sn.Dataset.from_numpy(np.full((1, 1, 2, 2), np.nan, np.float32), [0])
        self.assertEqual(cm.exception.status, -7)

    def test_specs_idx_and_csv(self):
        x, y = images(50, 7)
        xt, yt = images(12, 8)
        with tempfile.TemporaryDirectory() as t:
            sn.write_idx_dir(t, x, y, xt, yt)
            back = sn.load_mnist(t)  # NumPy's reading of the IDX files
            for a, b in zip(back, (x, y, xt, yt)):
                np.testing.assert_array_equal(a, b)
            train, val, test = sn.open_data(t, val_count=10, normalize=False)  # the library's
            with train, val, test:
                self.assertEqual((len(train), len(val), len(test)), (40, 10, 12))
                with sn.Dataset.from_numpy(x[40:], y[40:]) as same:  # bit for bit the IDX reader's pixels
                    np.testing.assert_array_equal(val.to_numpy()[0], same.to_numpy()[0])
                np.testing.assert_array_equal(test.to_numpy()[1], yt)
            csv = os.path.join(t, "d.csv")
            np.savetxt(csv, np.column_stack([y, x.reshape(50, -1) / 255.0]), fmt="%g", delimiter=",")
            train, val, test = sn.open_data(csv, val_count=5, test_fraction=0.2, seed=1)
            with train, val, test:
                self.assertEqual((len(train), len(val), len(test), train.shape), (35, 5, 10, (1, 6, 6)))
            with self.assertRaises(sn.SparseError) as cm:
                sn.open_data(os.path.join(t, "missing.csv"))
            self.assertIn("missing.csv", cm.exception.message)
            with self.assertRaisesRegex(FileNotFoundError, "sparsenas data fetch mnist"):
                sn.load_mnist(os.path.join(t, "nowhere"))
            with self.assertRaisesRegex(ValueError, "x_test is uint8 but x_train is float32"):
                sn.write_idx_dir(t, x.astype(np.float32) / 7, y, xt, yt)

    def test_cache_dir_follows_xdg(self):
        old = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = "/somewhere"
        try:
            self.assertEqual(sn.cache_dir("mnist"), "/somewhere/sparse/mnist")
        finally:
            if old is None:
                del os.environ["XDG_CACHE_HOME"]
            else:
                os.environ["XDG_CACHE_HOME"] = old

    def test_handles_close_once_and_on_collection(self):
        ds = sn.Dataset.from_numpy(*images(3, 2))
        ds.close()
        ds.close()
        self.assertTrue(ds.closed)
        with self.assertRaisesRegex(ctypes.ArgumentError, "Dataset is closed"):
            len(ds)
        ds = sn.Dataset.from_numpy(*images(3, 2))
        fin = ds._finalizer
        del ds
        gc.collect()
        self.assertFalse(fin.alive)


class TestNet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.x, cls.y = images(600, 3)
        cls.xt, cls.yt = images(90, 4)
        cls.train = sn.Dataset.from_numpy(cls.x, cls.y)

    @classmethod
    def tearDownClass(cls):
        cls.train.close()

    def trained(self, **kw):
        net = sn.Net(ARCH, max_batch=32, seed=1)
        net.train(self.train, epochs=4, batch_size=16, lr=0.01, **kw)
        return net

    def test_arch_round_trip(self):
        with sn.Arch.from_dict(ARCH) as a:
            d = a.to_dict()
            self.assertEqual((a.input_shape, a.classes, len(a)), ((1, 6, 6), 3, 3))
            text = a.to_yaml()
        self.assertEqual([layer["type"] for layer in d["layers"]], ["conv2d", "relu", "fc"])
        with sn.Arch.from_yaml(text) as b:
            self.assertEqual(b.to_dict(), d)
        with tempfile.TemporaryDirectory() as t:
            with open(os.path.join(t, "a.yaml"), "w") as f:
                f.write(text)
            with sn.Arch.load(os.path.join(t, "a.yaml")) as c:
                self.assertEqual(c.to_dict(), d)

    def test_train_evaluate_predict(self):
        seen = []
        with sn.Net(ARCH, max_batch=32, seed=1) as net:
            before = net.evaluate((self.xt, self.yt))
            res = net.train(self.train, epochs=4, batch_size=16, lr=0.01, optimizer="adam",
                            progress=lambda *a: seen.append(a))
            self.assertEqual((res["epochs_done"], res["cancelled"]), (4, False))
            self.assertEqual(len(seen), res["steps"])
            self.assertEqual(seen[-1][:3], (3, 37, 38))  # epoch, batch, batches: 600 / 16
            acc = net.evaluate((self.xt, self.yt))
            self.assertGreater(acc, 0.9, "tiny data is easy (before training: %.3f)" % before)
            labels, logits = net.predict(self.xt)
            self.assertEqual(logits.shape, (90, 3))
            np.testing.assert_array_equal(labels, logits.argmax(axis=1))
            one_label, one_logits = net.predict(self.xt[5, :, :, :])  # one C x H x W image
            np.testing.assert_array_equal(one_logits[0], logits[5])
            self.assertAlmostEqual(float(np.mean(labels == self.yt)), acc)

    def test_same_seed_same_weights(self):
        with self.trained() as a, self.trained() as b:
            np.testing.assert_array_equal(a.predict(self.xt)[1], b.predict(self.xt)[1])

    def test_train_options_checked(self):
        with sn.Net(ARCH, max_batch=8) as net:
            with self.assertRaises(TypeError):
                net.train(self.train, epoch=1)
            with self.assertRaises(ValueError):
                net.train(self.train, optimizer="lbfgs")
            with self.assertRaises(sn.SparseError) as cm:  # batch above the network's max_batch
                net.train(self.train, epochs=1, batch_size=64)
            self.assertEqual(cm.exception.status, -6)
            self.assertIn("64", cm.exception.message)

    def test_train_cancel(self):
        calls = []

        def stop_after_3(epoch, batch, batches, loss, ips):
            calls.append(batch)
            return len(calls) < 3 or False

        with sn.Net(ARCH, max_batch=32) as net:
            res = net.train(self.train, epochs=4, batch_size=16, progress=stop_after_3)
            self.assertTrue(res["cancelled"])
            self.assertEqual(len(calls), 3)
            ev = threading.Event()
            ev.set()
            self.assertTrue(net.train(self.train, epochs=4, batch_size=16, cancel=ev)["cancelled"])
            with self.assertRaises(ZeroDivisionError):  # raised again after the C call returns
                net.train(self.train, epochs=4, batch_size=16, progress=lambda *a: 1 / 0)

    def test_memory_is_the_papers(self):
        with self.trained() as net:
            m = net.memory()
            # conv 1->4 3x3 same (36 + 4), fc 144 -> 3 (432 + 3), no batch norm:
            # MS is the non-zero weights and biases, one byte each.
            self.assertEqual(net.weight_count, 475)
            self.assertEqual(m["ms_bytes"], net.nonzero_count)
            # WM5 of the FC layer: its input 4*6*6 plus its weights.
            self.assertEqual([layer["name"] for layer in m["layers"]], ["c1", "out"])
            self.assertEqual(m["layers"][1]["wm5"], 144 + m["layers"][1]["nonzeros"])
            self.assertEqual(m["wm5_bytes"], max(layer["wm5"] for layer in m["layers"]))
            self.assertGreaterEqual(net.memory(dense=True)["ms_bytes"], m["ms_bytes"])
            with self.assertRaises(ValueError):
                net.memory(scratch="huge")

    def test_int8_and_export(self):
        with self.trained() as net, tempfile.TemporaryDirectory() as t:
            acc = net.evaluate((self.xt, self.yt))
            with net.quantize(self.train, calib_images=200) as q:
                self.assertEqual(q.input_shape, (1, 6, 6))
                acc8 = q.evaluate((self.xt, self.yt))
                labels, logits = q.predict(self.xt)
                self.assertEqual(logits.dtype, np.int8)
                self.assertAlmostEqual(float(np.mean(labels == self.yt)), acc8)
                self.assertLess(abs(acc8 - acc), 0.05)
                fig = q.export(t, prefix="tiny")
            self.assertEqual((fig["input_c"], fig["input_h"], fig["input_w"], fig["classes"]), (1, 6, 6, 3))
            self.assertGreater(fig["flash_bytes"], fig["ms_bytes"])
            with open(os.path.join(t, "tiny.h")) as f:
                header = f.read()
            self.assertIn("TINY_ARENA_SIZE %d" % fig["arena_bytes"], " ".join(header.split()))
            self.assertTrue(os.path.exists(os.path.join(t, "tiny.c")))
            self.assertEqual(net.export(os.path.join(t, "again"), self.train, prefix="tiny", calib_images=200), fig)
            with self.assertRaises(sn.SparseError) as cm:
                net.export(t, self.train, prefix="9lives")
            self.assertEqual(cm.exception.status, -1)

    def test_save_load(self):
        with self.trained() as net, tempfile.TemporaryDirectory() as t:
            path = os.path.join(t, "w.safetensors")
            net.save(path)
            with sn.Net.load(path, max_batch=16) as back:
                np.testing.assert_array_equal(back.predict(self.xt)[1], net.predict(self.xt)[1])
                self.assertEqual(back.arch.to_dict(), net.arch.to_dict())


if __name__ == "__main__":
    unittest.main()
