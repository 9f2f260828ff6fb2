#!/usr/bin/python3
"""scikit-learn side of bench_gp_scaling: the same data, the same kernel
(ConstantKernel * Matern(2.5, ARD) + WhiteKernel), fit with
n_restarts_optimizer=1 (2 starts, L-BFGS-B capped at 100 iterations each as in C) and one joint sample over the candidates.
Usage: sklearn_scaling.py DATA_DIR   (files data_<n>.txt written by the C side)."""
import glob
import os
import sys
import time

try:
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
except ImportError as e:
    print("# sklearn comparison skipped: %s" % e)
    sys.exit(0)

import warnings
warnings.filterwarnings("ignore")


def capped_lbfgs(obj_func, initial_theta, bounds):
    """sklearn's default L-BFGS-B, capped at 100 iterations per start like the C side."""
    from scipy.optimize import minimize
    res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds,
                   options={"maxiter": 100})
    return res.x, res.fun


def main(d):
    files = sorted(glob.glob(os.path.join(d, "data_*.txt")), key=lambda p: int(p.split("_")[-1][:-4]))
    totals = []
    for path in files:
        with open(path) as fh:
            n, m, dim = (int(v) for v in fh.readline().split())
            lines = fh.read().split("\n")
        train = np.array([[float(v) for v in line.split()] for line in lines[:n]])
        Xs = np.array([[float(v) for v in line.split()] for line in lines[n:n + m]])
        X, y = train[:, :dim], train[:, dim]
        kern = ConstantKernel(1.0) * Matern(length_scale=[0.5] * dim, nu=2.5) + WhiteKernel(1e-2)
        gpr = GaussianProcessRegressor(kern, normalize_y=True, n_restarts_optimizer=1, random_state=0,
                                       optimizer=capped_lbfgs)
        t0 = time.perf_counter()
        gpr.fit(X, y)
        t1 = time.perf_counter()
        gpr.sample_y(Xs, 1, random_state=0)
        t2 = time.perf_counter()
        totals.append((n, t2 - t0))
        print("GP_SCALING impl=sklearn n=%d m=%d dim=%d fit_s=%.4f sample_s=%.4f total_s=%.4f lml=%.4f"
              % (n, m, dim, t1 - t0, t2 - t1, t2 - t0, gpr.log_marginal_likelihood_value_), flush=True)
    for (a, ta), (b, tb) in zip(totals, totals[1:]):
        print("GP_GROWTH impl=sklearn n_from=%d n_to=%d total_ratio=%.2f" % (a, b, tb / ta))


if __name__ == "__main__":
    main(sys.argv[1])
