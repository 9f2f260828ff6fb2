#!/usr/bin/env python3
"""Best network within budget boxes at regular points of a search's history.

Reads RUN/trials.jsonl and, every --every seconds of accumulated trial time,
prints for each box the trial with the best *validation* accuracy among the
successful trials inside it (the one the search would report), with its test
and int8 test accuracies. Used for the long-run tables of docs/results.md:

    tools/checkpoints.py runs/paper --wm wm5 --box 2048,3072 --box 1536,2048 \
        --box 1024,1024 --every 1800

A box is WM,MS in bytes. Also prints the hypervolume of the run's
(validation error, MS, WM) front, normalised by the reference point
(1, --hv-ms, --hv-wm), for comparing searches on the same budget; it is
computed by libsparse (--lib, default build/libsparse.so.0).

With --wall-log (the search's stderr, one "trial K/N ... S s elapsed" line
per trial) the marks are wall-clock time since the search started, the
optimiser's own time included, instead of the sum of trial times.
"""
import argparse
import json
import os
import re
import sys


def load(run):
    trials = []
    with open(os.path.join(run, "trials.jsonl")) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                trials.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn tail: the run store ignores it too
    return trials


def ok(t):
    return t.get("status") == "ok" and t.get("val_accuracy") is not None


def best_in_box(trials, wm_key, wm, ms):
    inside = [t for t in trials if ok(t) and t[wm_key] <= wm and t["ms_bytes"] <= ms]
    return max(inside, key=lambda t: (t["val_accuracy"], -t["ms_bytes"]), default=None)


def hypervolume(points, ref, lib):
    """The library's exact hypervolume (sparse_hypervolume), normalised by
    the reference box."""
    import ctypes
    so = ctypes.CDLL(lib)
    n = len(points)
    flat = (ctypes.c_double * (3 * max(n, 1)))(*[v for p in points for v in p])
    r = (ctypes.c_double * 3)(*ref)
    hv = ctypes.c_double()
    so.sparse_hypervolume.argtypes = [ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.POINTER(ctypes.c_double)]
    if so.sparse_hypervolume(n, 3, flat, r, ctypes.byref(hv)) != 0:
        so.sparse_last_error.restype = ctypes.c_char_p
        sys.exit("sparse_hypervolume: " + so.sparse_last_error().decode())
    return hv.value / (ref[0] * ref[1] * ref[2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--wm", default="wm5", choices=["wm5", "wm6"])
    ap.add_argument("--box", action="append", default=[], help="WM,MS in bytes")
    ap.add_argument("--every", type=float, default=1800)
    ap.add_argument("--hv-ms", type=float, default=4096)
    ap.add_argument("--hv-wm", type=float, default=4096)
    ap.add_argument("--wall-log", help="the search's stderr: marks in wall-clock time")
    ap.add_argument("--lib", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build",
                                                  "libsparse.so.0"), help="libsparse.so to compute the hypervolume with")
    a = ap.parse_args()
    trials = load(a.run)
    if not trials:
        sys.exit("no trials in " + a.run)
    wm_key = a.wm + "_bytes"
    boxes = [tuple(int(x) for x in b.split(",")) for b in a.box]
    clock, stamps = 0.0, []
    for t in trials:
        clock += t.get("seconds") or 0.0
        stamps.append(clock)
    if a.wall_log:
        with open(a.wall_log, errors="replace") as f:
            wall = dict((int(k), float(e)) for k, e in
                        re.findall(r"trial (\d+)/\d+ .*?(\d+) s elapsed", f.read().replace("\r", "\n")))
        stamps = [wall.get(i + 1, float("inf")) for i in range(len(trials))]
        clock = max([s for s in stamps if s != float("inf")], default=0.0)
    marks = []
    m = a.every
    while m < clock:
        marks.append(m)
        m += a.every
    marks.append(clock)
    print("elapsed_min trials " + " ".join("box_wm%d_ms%d" % b for b in boxes))
    for mark in marks:
        upto = [t for t, s in zip(trials, stamps) if s <= mark + 1e-9]
        cells = []
        for wm, ms in boxes:
            b = best_in_box(upto, wm_key, wm, ms)
            cells.append("-" if b is None else "id%d:val%.2f/test%.2f/int8 %.2f(MS%d,WM%d)" % (
                b["id"], 100 * b["val_accuracy"], 100 * (b.get("test_accuracy") or 0),
                100 * (b.get("int8_test_accuracy") or 0), b["ms_bytes"], b[wm_key]))
        print("%.0f %d %s" % (mark / 60, len(upto), " ".join(cells)))
    pts = [(1 - t["val_accuracy"], t["ms_bytes"], t[wm_key]) for t in trials if ok(t)]
    print("hypervolume %.6f (ref err 1, MS %g, WM %g; %d successful of %d trials)" % (
        hypervolume(pts, (1.0, a.hv_ms, a.hv_wm), a.lib), a.hv_ms, a.hv_wm, len(pts), len(trials)))


if __name__ == "__main__":
    main()
