#!/usr/bin/env python3
"""PyTorch side of the training benchmark.

Usage: bench_torch.py ARCH_JSON BATCH THREADS STEPS
Builds the same sequential network (conv2d, batchnorm, relu, maxpool, avgpool,
fc) as the libsparse architecture, trains it with Adam on random MNIST-shaped
data and prints `torch_images_per_s=<value>`. Exit 77 without torch."""
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError as e:
    print(f"SKIP: PyTorch is not available ({e})")
    sys.exit(77)

arch = json.loads(sys.argv[1])
batch, threads, steps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)

c, h, w = arch["input"]
layers = []
for L in arch["layers"]:
    t = L["type"]
    if t == "conv2d":
        k, s = L["kernel"], L.get("stride", 1)
        pad = "same" if L.get("padding", "same") == "same" and s == 1 else 0
        layers.append(nn.Conv2d(c, L["filters"], k, stride=s, padding=pad, bias=L.get("bias", True)))
        c = L["filters"]
        if pad == 0:
            h, w = (h - k) // s + 1, (w - k) // s + 1
    elif t == "relu":
        layers.append(nn.ReLU())
    elif t == "batchnorm":
        layers.append(nn.BatchNorm2d(c))
    elif t in ("maxpool", "avgpool"):
        k, s = L["size"], L.get("stride", L["size"])
        layers.append((nn.MaxPool2d if t == "maxpool" else nn.AvgPool2d)(k, s))
        h, w = (h - k) // s + 1, (w - k) // s + 1
    elif t == "fc":
        if not isinstance(layers[-1] if layers else None, nn.Linear):
            layers.append(nn.Flatten())
        layers.append(nn.Linear(c * h * w, L["units"], bias=L.get("bias", True)))
        c, h, w = L["units"], 1, 1
    else:
        print(f"SKIP: layer type {t} not supported by the PyTorch benchmark")
        sys.exit(77)
model = nn.Sequential(*layers)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
ci, hi, wi = arch["input"]
xs = [torch.randn(batch, ci, hi, wi) for _ in range(8)]
ys = [torch.randint(0, arch["classes"], (batch,)) for _ in range(8)]

def step(i):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xs[i % 8]), ys[i % 8])
    loss.backward()
    opt.step()

model.train()
for i in range(5):
    step(i)
t0 = time.perf_counter()
for i in range(steps):
    step(i)
dt = time.perf_counter() - t0
print(f"torch_images_per_s={batch * steps / dt:.1f}")
