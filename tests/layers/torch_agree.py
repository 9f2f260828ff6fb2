#!/usr/bin/env python3
"""Recomputes the fixed network of test_torch.c with PyTorch and compares.

Usage: torch_agree.py DIR   (DIR holds w.safetensors and ref.bin/ref.txt
written by test_torch). Exit 0 on agreement, 1 on disagreement, 77 when
torch is missing."""
import json
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the C side checks first; this is a second guard
    print(f"SKIP: PyTorch is not available ({e})")
    sys.exit(77)

d = sys.argv[1]
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

def load_safetensors(path):
    raw = open(path, "rb").read()
    (hl,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hl])
    data = raw[8 + hl:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"])
        out[name] = torch.tensor(arr.copy())
    return out

W = load_safetensors(f"{d}/w.safetensors")
ref = {}
raw = np.fromfile(f"{d}/ref.bin", dtype="<f4")
off = 0
for line in open(f"{d}/ref.txt"):
    name, count, *shape = line.split()
    count = int(count)
    ref[name] = raw[off:off + count].reshape([int(s) for s in shape])
    off += count

P = {k: v.clone().requires_grad_(not k.endswith("running_mean") and not k.endswith("running_var"))
     for k, v in W.items()}
x = torch.tensor(ref["x"]).requires_grad_(True)
labels = torch.tensor(ref["labels"].astype(np.int64))

def same_pad(h, k, s):
    def total(n):
        out = -(-n // s)
        return max((out - 1) * s + k - n, 0)
    th, tw = total(h.shape[2]), total(h.shape[3])
    return F.pad(h, (tw // 2, tw - tw // 2, th // 2, th - th // 2))

h = F.conv2d(same_pad(x, 3, 1), P["conv1.weight"], None)
h = F.batch_norm(h, P["bn1.running_mean"].detach().clone(), P["bn1.running_var"].detach().clone(),
                 P["bn1.gamma"], P["bn1.beta"], training=True, momentum=0.1, eps=1e-5)
h = F.relu(h)
pool1 = F.max_pool2d(h, 2)
h = F.conv2d(same_pad(pool1, 3, 1), P["sep/dw.weight"], None, groups=pool1.shape[1])
h = F.conv2d(h, P["sep.weight"], P["sep.bias"])
relu2 = F.relu(h)
h = F.conv2d(relu2, P["ds/reduce.weight"], P["ds/reduce.bias"])
h = F.conv2d(same_pad(h, 2, 1), P["ds.weight"], P["ds.bias"])
h = h + relu2
h = F.avg_pool2d(h, 2)
a = F.relu(F.linear(h.flatten(1), P["fc1.weight"], P["fc1.bias"]))
b = F.linear(pool1.flatten(1), P["left.weight"], P["left.bias"])
logits = F.linear(torch.cat([a, b], 1), P["out.weight"], P["out.bias"])
loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
loss.backward()

worst = 0.0
ok = True
def check(name, mine, theirs):
    global worst, ok
    theirs = np.asarray(theirs, dtype=np.float64)
    mine = np.asarray(mine, dtype=np.float64).reshape(theirs.shape)
    # A bias right before batch norm has a gradient of exactly zero; both
    # engines return rounding noise there, so tiny scales are floored.
    scale = max(np.abs(theirs).max(), 1e-5)
    rel = np.abs(mine - theirs).max() / scale
    worst = max(worst, rel)
    status = "ok" if rel <= 1e-4 else "DIFFERS"
    if rel > 1e-4:
        ok = False
    print(f"{name:28s} max |diff| / max |torch| = {rel:.2e}  {status}")

check("logits", ref["logits"], logits.detach().numpy())
check("loss", ref["loss"], [loss.item()])
check("input grad", ref["grad:x"], x.grad.numpy())
for k, v in P.items():
    if v.requires_grad:
        check("grad " + k, ref["grad:" + k], v.grad.numpy())
print(f"worst relative difference {worst:.2e} (limit 1e-4)")
sys.exit(0 if ok else 1)
