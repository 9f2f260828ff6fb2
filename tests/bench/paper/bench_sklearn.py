#!/usr/bin/python3
"""The paper's Table 2 baselines on ten-class MNIST, measured with scikit-learn.

kNN, an RBF-kernel SVM and a gradient-boosted tree ensemble on the splits the
library uses (the first 55,000 training images to train, the last 5,000 to
choose hyper-parameters, the 10,000 test images to report), pixels scaled to
[0, 1]. Each model's size is counted in bytes as a microcontroller would store
it (docs/paper.md says how):

  kNN    the stored training images at 1 B per pixel + 1 B per label;
  SVM    the support vectors at 1 B per pixel, the dual coefficients
         (classes - 1 per vector) and intercepts at 4 B (float32);
  GBDT   per tree node: a split stores its feature (2 B), its threshold
         (1 B: a pixel value) and its right child's index (2 B); a leaf its
         value (4 B, float32).

Usage: bench_sklearn.py [MNIST_DIR] [--svm-train N] [--knn-train N] [--gbdt-iter N]
MNIST_DIR defaults to the cache of `sparsenas data fetch mnist`. Training subsets
(--svm-train, --knn-train) are printed with the figures. Exit 77 (skipped)
without scikit-learn or the MNIST cache. One JSON object per model on stdout.
"""
import gzip
import json
import os
import sys
import time


def skip(why):
    print("skipped: " + why)
    sys.exit(77)


try:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
except ImportError as e:
    skip("scikit-learn or numpy missing (Debian: apt-get install python3-sklearn): %s" % e)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(d, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    skip("no %s in %s (run: sparsenas data fetch mnist)" % (stem, d))


def load(d):
    xtr = read_idx(find(d, "train-images-idx3-ubyte")).reshape(-1, 784)
    ytr = read_idx(find(d, "train-labels-idx1-ubyte"))
    xte = read_idx(find(d, "t10k-images-idx3-ubyte")).reshape(-1, 784)
    yte = read_idx(find(d, "t10k-labels-idx1-ubyte"))
    return xtr[:55000], ytr[:55000], xtr[55000:], ytr[55000:], xte, yte


def report(model, params, n_train, acc_val, acc_test, size, seconds, note=""):
    out = {"model": model, "params": params, "train_images": n_train, "val_accuracy": round(acc_val, 4),
           "test_accuracy": round(acc_test, 4), "model_bytes": int(size), "seconds": round(seconds, 1)}
    if note:
        out["note"] = note
    print(json.dumps(out), flush=True)


def vote(labels, k):
    """Majority label of the first k neighbours (ties: the nearest's)."""
    out = np.empty(len(labels), dtype=labels.dtype)
    for i, row in enumerate(labels[:, :k]):
        counts = np.bincount(row, minlength=10)
        best = np.flatnonzero(counts == counts.max())
        out[i] = next(v for v in row if v in best)
    return out


def knn(x, y, xv, yv, xt, yt, n):
    t0 = time.time()
    m = KNeighborsClassifier(n_neighbors=5, algorithm="brute", n_jobs=1).fit(x[:n] / 255.0, y[:n])
    nv = y[:n][m.kneighbors(xv / 255.0, return_distance=False)]
    acc = {k: float((vote(nv, k) == yv).mean()) for k in (1, 3, 5)}  # k chosen on the validation images
    k = max(acc, key=lambda j: (acc[j], -j))
    nt = y[:n][m.kneighbors(xt / 255.0, return_distance=False)]
    report("kNN", {"k": k}, n, acc[k], float((vote(nt, k) == yt).mean()), n * 784 + n, time.time() - t0,
           "" if n == 55000 else "training subset")


def svm(x, y, xv, yv, xt, yt, n):
    t0 = time.time()
    m = SVC(kernel="rbf", C=5.0, gamma="scale", cache_size=1000).fit(x[:n] / 255.0, y[:n])
    nsv = int(m.support_vectors_.shape[0])
    size = nsv * 784 + m.dual_coef_.size * 4 + m.intercept_.size * 4
    report("RBF-SVM", {"C": 5.0, "gamma": "scale", "support_vectors": nsv}, n, m.score(xv / 255.0, yv),
           m.score(xt / 255.0, yt), size, time.time() - t0, "" if n == 55000 else "training subset")


def gbdt(x, y, xv, yv, xt, yt, iters):
    t0 = time.time()
    m = HistGradientBoostingClassifier(max_iter=iters, max_leaf_nodes=31, learning_rate=0.1,
                                       early_stopping=False, random_state=0).fit(x, y)
    nodes = leaves = 0
    for per_class in m._predictors:
        for tree in per_class:
            nodes += len(tree.nodes)
            leaves += int(tree.nodes["is_leaf"].sum())
    size = (nodes - leaves) * 5 + leaves * 4
    report("GBDT", {"trees": iters * len(m._predictors[0]), "max_leaf_nodes": 31, "nodes": nodes}, 55000,
           m.score(xv, yv), m.score(xt, yt), size, time.time() - t0)


def main(argv):
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d, opts, i = os.path.join(cache, "sparse", "mnist"), {"--svm-train": 5000, "--knn-train": 55000,
                                                           "--gbdt-iter": 50}, 0
    while i < len(argv):
        if argv[i] in opts and i + 1 < len(argv):
            opts[argv[i]] = int(argv[i + 1])
            i += 2
        else:
            d, i = argv[i], i + 1
    x, y, xv, yv, xt, yt = load(d)
    which = os.environ.get("BENCH_MODELS", "knn,svm,gbdt").split(",")
    if "knn" in which:
        knn(x, y, xv, yv, xt, yt, min(opts["--knn-train"], 55000))
    if "svm" in which:
        svm(x, y, xv, yv, xt, yt, min(opts["--svm-train"], 55000))
    if "gbdt" in which:
        gbdt(x, y, xv, yv, xt, yt, opts["--gbdt-iter"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
