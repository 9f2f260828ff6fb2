#!/usr/bin/env python3
"""Runs a SpArSe search through sparsenas and plots its front.

Usage: search_and_plot.py CONFIG.yaml OUT_DIR [MAX_TRIALS]
Writes OUT_DIR/front.png: validation accuracy against MS and against WM.
"""
import os
import sys

import sparsenas as sn


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    config, out = sys.argv[1], sys.argv[2]
    max_trials = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    print("libsparse", sn.version())

    def on_trial(rec):
        if rec["status"] == "ok":
            print("trial %d (stage %d, %s): %.2f%% val, MS %d B, WM5 %d B" % (
                rec["id"], rec["stage"], rec["proposal"], 100 * rec["val_accuracy"], rec["ms_bytes"],
                rec["wm5_bytes"]))
        else:
            print("trial %d failed: %s" % (rec["id"], rec["reason"]))

    with sn.search(config, out, max_trials=max_trials, on_trial=on_trial) as run:
        ok = [t for t in run.trials() if t["status"] == "ok"]
        front = run.pareto()
    print("front:", [(t["id"], round(100 * t["val_accuracy"], 2), t["ms_bytes"], t["wm5_bytes"]) for t in front])

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, label in ((axes[0], "ms_bytes", "model size MS (bytes)"),
                           (axes[1], "wm5_bytes", "working memory WM5 (bytes)")):
        ax.scatter([t[key] for t in ok], [100 * t["val_accuracy"] for t in ok], c="#bbb", s=12, label="trials")
        ax.scatter([t[key] for t in front], [100 * t["val_accuracy"] for t in front], c="#1f77b4", s=30,
                   label="Pareto front")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation accuracy (%)")
    axes[0].legend()
    png = os.path.join(out, "front.png")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    print("wrote", png)


if __name__ == "__main__":
    main()
