#!/usr/bin/env python3
"""PyTorch side of `deno task bench:fit` (bench/fit_bench.ts): the training
steps of the experiments' two `fit` calls, on the same harnet, the same
batch size and the same Adam, timed on this machine's CPU.

- `--task pretrain`: the Yuan multi-task step (four binary heads, the mean of
  their cross-entropies), as ssl-wearables' `mtl.py`;
- `--task finetune`: the downstream step (EvaClassifier head, class-weighted
  cross-entropy), as ssl-wearables' `downstream_task_evaluation.py`.

The network is built from the HarnetConfig JSON that bench/fit_bench.ts
passes (`--config`, the tfjs model's own config: stages, input samples,
head, hidden units), so both sides train exactly the same architecture:
per stage a circular-padded conv, residual blocks (BN-ReLU-conv-BN-ReLU-conv
+ identity), BN, ReLU and the fixed anti-aliasing box-filter downsampling;
then flatten and the head. Inputs are random `[batch, 3, samples]` tensors
(the batch making of the tfjs side is timed separately there). Prints one
JSON object: per thread count, the median ms per step and steps/s over the
measured steps.

Not a project dependency; needs Debian's `python3-torch` (see
bench/torch_reference.py for the BLAS notes). bench/fit_bench.ts runs it
with the first of $HAR_PYTHON, /usr/bin/python3 and python3 that imports
torch.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import blas_in_use, cpu_model  # noqa: E402


def circular_conv(cin, cout, k):
    return nn.Conv1d(cin, cout, k, padding=(k - 1) // 2, padding_mode="circular", bias=False)


class ResBlock(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm1d(c), circular_conv(c, c, k)
        self.bn2, self.conv2 = nn.BatchNorm1d(c), circular_conv(c, c, k)

    def forward(self, x):
        y = self.conv1(F.relu(self.bn1(x)))
        return x + self.conv2(F.relu(self.bn2(y)))


class BoxDownsample(nn.Module):
    """Depthwise stride-`factor` filter: a box of `factor` convolved `order` times with itself."""

    def __init__(self, channels, factor, order):
        super().__init__()
        box = torch.ones(1, 1, factor)
        kernel = box
        for _ in range(order):
            kernel = F.conv1d(F.pad(kernel, (factor - 1, factor - 1)), box)
        kernel = kernel / kernel.sum()
        self.register_buffer("kernel", kernel.repeat(channels, 1, 1))
        self.stride, self.padding = factor, order * (factor - 1) // 2

    def forward(self, x):
        return F.conv1d(x, self.kernel, stride=self.stride, padding=self.padding, groups=x.shape[1])


class Harnet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        layers, cin = [], cfg["inChannels"]
        for s in cfg["stages"]:
            c = s["channels"]
            layers.append(circular_conv(cin, c, s["kernelSize"]))
            layers += [ResBlock(c, s["resKernelSize"]) for _ in range(s["resBlocks"])]
            layers += [nn.BatchNorm1d(c), nn.ReLU(), BoxDownsample(c, s["downFactor"], s["downOrder"])]
            cin = c
        self.features = nn.Sequential(*layers, nn.Flatten())
        f = cfg["featureDim"]
        if cfg["head"] == "mtl":
            self.heads = nn.ModuleList(nn.Linear(f, 2) for _ in range(4))
        elif cfg["head"] == "eva":
            self.heads = nn.ModuleList([nn.Sequential(
                nn.Linear(f, cfg["hiddenUnits"]), nn.ReLU(), nn.Linear(cfg["hiddenUnits"], cfg["numClasses"]))])
        else:
            raise ValueError(f"--config head: 'mtl' or 'eva' expected, got {cfg['head']!r}")

    def forward(self, x):
        h = self.features(x)
        return [head(h) for head in self.heads]


def bench(cfg, task, batch, lr, steps, warmup, threads, seed):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = Harnet(cfg)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.randn(batch, cfg["inChannels"], cfg["inputSamples"])
    if task == "pretrain":
        ys = [torch.randint(0, 2, (batch,)) for _ in range(4)]
        loss_fn = lambda outs: sum(F.cross_entropy(o, y) for o, y in zip(outs, ys)) / len(ys)
    else:
        k = cfg["numClasses"]
        y = torch.randint(0, k, (batch,))
        counts = torch.bincount(y, minlength=k).float()
        weight = torch.where(counts > 0, batch / (k * counts.clamp(min=1)), torch.zeros(k))
        loss_fn = lambda outs: F.cross_entropy(outs[0], y, weight=weight)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x))
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    times, last = [], float("nan")
    t_all = time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter()
        last = step()
        times.append((time.perf_counter() - t0) * 1e3)
    total = time.perf_counter() - t_all
    return {"threads": threads, "msPerStep": round(statistics.median(times), 1),
            "stepsPerSec": round(steps / total, 3), "steps": steps, "warmup": warmup,
            "params": sum(p.numel() for p in model.parameters() if p.requires_grad), "lossLast": last}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=["pretrain", "finetune"], required=True)
    ap.add_argument("--config", required=True, help="HarnetConfig JSON (lib/models/harnet.ts)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", default=str(os.cpu_count()), help="comma-separated thread counts")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cfg = json.loads(a.config)
    rows = [bench(cfg, a.task, a.batch, a.lr, a.steps, a.warmup, int(t), a.seed)
            for t in a.threads.split(",") if t]
    print(json.dumps({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "torch": torch.__version__, "cpu": cpu_model(),
                      "mkldnn": torch.backends.mkldnn.is_available(), "blas": blas_in_use(),
                      "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")
                              if k in os.environ},
                      "task": a.task, "batch": a.batch, "results": rows}))


if __name__ == "__main__":
    main()
