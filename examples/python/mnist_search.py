#!/usr/bin/env python3
"""MNIST as NumPy arrays, a 2-minute SpArSe search, the best network within 1 KB exported as int8 C.
Usage: mnist_search.py [OUT_DIR] [SECONDS]   (MNIST from ~/.cache/sparse/mnist: `sparsenas data fetch mnist`)"""
import os
import sys

import sparsenas as sn

out, seconds = (sys.argv + ["mnist-out", "120"])[1:3]
x_train, y_train, x_test, y_test = sn.load_mnist()  # uint8, N x 1 x 28 x 28
config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../search/mnist-quick.yaml")  # MS, WM <= 1 KB
run = sn.search(config, os.path.join(out, "run"), data=(x_train, y_train, x_test, y_test), time_budget=float(seconds),
                on_trial=lambda t: print("trial", t["id"], t["status"], t.get("val_accuracy"), t.get("ms_bytes")))
best = run.best(ms_bytes=1024)  # the most accurate network of the front within 1 KB
train, val, test = run.open_data()  # the search's splits, normalised as it trained
with run.net(best["id"]) as net, net.quantize(train) as q:
    fig = q.export(os.path.join(out, "model"), prefix="mnist")  # mnist.h, mnist.c: freestanding int8 C99
    print("trial %d: MS %d B, flash %d B, arena %d B; int8 test accuracy %.2f%%"
          % (best["id"], fig["ms_bytes"], fig["flash_bytes"], fig["arena_bytes"], 100 * q.evaluate(test)))
