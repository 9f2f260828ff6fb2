"""Tiny generated data for the tests: 6x6 one-channel images in 3 classes
(a bright row, column or diagonal, plus noise), as tests/lib.sh's tiny_csv."""
import numpy as np

ARCH = {"input": [1, 6, 6], "classes": 3,
        "layers": [{"type": "conv2d", "name": "c1", "filters": 4, "kernel": 3},
                   {"type": "relu"},
                   {"type": "fc", "name": "out", "units": 3}]}


def images(n, seed):
    """(uint8 images N x 1 x 6 x 6, int64 labels)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.integers(0, 60, size=(n, 1, 6, 6))
    for i, label in enumerate(y):
        on = [(2, k) for k in range(6)] if label == 0 else [(k, 3) for k in range(6)] if label == 1 else \
            [(k, k) for k in range(6)]
        for r, c in on:
            x[i, 0, r, c] += 180
    return x.astype(np.uint8), y.astype(np.int64)


def search_config(trials=4):
    """A search of `trials` one-block networks (the data source is filled in by search())."""
    return {"data": {"val_count": 40}, "threads": 1, "initial_trials": 2, "candidates": 8,
            "stages": [{"trials": trials - 1, "rho": 0.8}, {"trials": 0, "rho": 0.8}, {"trials": 1, "rho": 0.8}],
            "training": {"batch": 16},
            "space": {"blocks": [1, 1], "layers_per_block": [1, 1], "filters": [2, 4], "kernel": [3, 3],
                      "pool": [2, 2], "input_downsample": [False], "branches": [False], "fc_layers": [0, 0],
                      "epochs": [3, 3]}}
