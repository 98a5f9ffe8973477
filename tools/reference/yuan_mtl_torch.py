#!/usr/bin/env python3
"""By-hand reference tool, NOT a project dependency (nothing in lib/ or tests/
imports or runs it): a small PyTorch re-implementation of the ssl-wearables
(OxWearables, Yuan et al. 2024) multi-task self-supervised recipe, run on the
pre-training pool exported from OUR TypeScript pipeline, to tell a bug in our
TS training path from a property of the pool.

What it follows:
- network: harnet ResNet-V2 (ssl-wearables `Resnet`: conv(circular pad) ->
  [bn-relu-conv-bn-relu-conv + identity]^m -> BN -> ReLU -> anti-aliased
  Downsample, per stage) with OUR `laptop10` stages (lib/models/harnet.ts:
  widths 16/32/64/128/256, kernel 5, res blocks 1/1/1/1/0, down factors
  2/2/5/5/3, orders 2/2/1/1/1) -> 256-d features; four heads
  `Linear(256, 2)` (aot, scale, permute, time_w);
- init as ssl-wearables' `weight_init`: kaiming_normal_(fan_out, relu) on every
  Conv1d and Linear weight, BN gamma 1 / beta 0, Linear biases PyTorch default;
- pretext transforms as OUR lib/pretext (multitask.ts, transforms.ts): one
  coin p = 0.5 per task, applied in the order aot (time flip) -> scale
  (per-axis gain U[0.5, 1.5], all redrawn while any is < 0.15 from 1) ->
  permute (4 chunks, random order, cuts randint in [10, 290), redrawn until
  every chunk > 10 samples) -> time warp (per-axis not-a-knot cubic spline
  speed through 6 equally spaced knots ~ N(1, 0.2), cumulative time
  rescaled to end at L-1, linear interpolation);
- augmentation after the transforms (training only): one axis order (6,
  identity included) and one axis-angle rotation (axis uniform in [-1,1]^3,
  angle U[-pi, pi), x_row @ R) per subject present in the batch;
- loss: mean of the four heads' cross-entropies (as OUR multitaskLoss);
- Adam lr 1e-3 amsgrad, batch 64, windows drawn from the whole training pool
  with p ∝ std of the acceleration magnitude (0 -> 1e-6), WITH replacement
  (`--sampling replace`, default) or as OUR multitaskSource draws them
  (`--sampling ours`: per epoch of 16384 draws, without replacement when
  16384 <= pool size);
- held-out: the exported uniform (val_*) and std-drawn (valstd_*) windows,
  transforms drawn once with a fixed seed, no augmentation, BN in eval mode,
  per-task accuracy every `--eval-every` steps.

Commands (the pools are written by tools/reference/export_yuan_pool.ts):

  HAR_DATA_DIR=/work/shared/datasets deno run -A tools/reference/export_yuan_pool.ts \\
    --scale long --out /tmp/yuan-pool-full
  HAR_DATA_DIR=/work/shared/datasets deno run -A tools/reference/export_yuan_pool.ts \\
    --scale long --exclude daphnet,cwa --out /tmp/yuan-pool-issue
  nohup /usr/bin/python3 tools/reference/yuan_mtl_torch.py --pool /tmp/yuan-pool-full \\
    --steps 6144 --out results/yuan-long/torch-reference/torch-full-history.json \\
    > /tmp/torch-full.log 2>&1 &
  nohup /usr/bin/python3 tools/reference/yuan_mtl_torch.py --pool /tmp/yuan-pool-issue \\
    --steps 6144 --out results/yuan-long/torch-reference/torch-issue-history.json \\
    > /tmp/torch-issue.log 2>&1 &

(Debian's python3-torch lives under /usr/bin/python3, not the pyenv shim.)
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TASKS = ["aot", "scale", "permute", "time_w"]
# (channels, kernel, res blocks, res kernel, down factor, down order): OUR laptop10
LAPTOP10 = [
    (16, 5, 1, 5, 2, 2),
    (32, 5, 1, 5, 2, 2),
    (64, 5, 1, 5, 5, 1),
    (128, 5, 1, 5, 5, 1),
    (256, 5, 0, 5, 3, 1),
]


# ------------------------------------------------------------------ network
def circ_conv(cin, cout, k):
    return nn.Conv1d(cin, cout, k, 1, (k - 1) // 2, bias=False, padding_mode="circular")


class AntiAlias(nn.Module):
    """Box filter convolved `order` times with itself, depthwise, stride `factor`."""

    def __init__(self, channels, factor, order):
        super().__init__()
        k = np.ones(factor)
        for _ in range(order):
            k = np.convolve(k, np.ones(factor))
        k = k / k.sum()
        self.factor, self.pad = factor, order * (factor - 1) // 2
        self.register_buffer(
            "kernel", torch.tensor(k, dtype=torch.float32).view(1, 1, -1).repeat(channels, 1, 1)
        )

    def forward(self, x):
        return F.conv1d(x, self.kernel, stride=self.factor, padding=self.pad, groups=x.shape[1])


class Block(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm1d(c), nn.BatchNorm1d(c)
        self.conv1, self.conv2 = circ_conv(c, c, k), circ_conv(c, c, k)

    def forward(self, x):
        y = self.conv1(F.relu(self.bn1(x)))
        y = self.conv2(F.relu(self.bn2(y)))
        return x + y


class MTLNet(nn.Module):
    def __init__(self, stages=LAPTOP10, cin=3):
        super().__init__()
        mods = []
        for (c, k, m, rk, f, o) in stages:
            mods += [circ_conv(cin, c, k)] + [Block(c, rk) for _ in range(m)]
            mods += [nn.BatchNorm1d(c), nn.ReLU(), AntiAlias(c, f, o)]
            cin = c
        self.features = nn.Sequential(*mods)
        self.heads = nn.ModuleList([nn.Linear(cin, 2) for _ in TASKS])
        for mod in self.modules():  # ssl-wearables weight_init
            if isinstance(mod, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(mod, nn.BatchNorm1d):
                nn.init.ones_(mod.weight)
                nn.init.zeros_(mod.bias)

    def forward(self, x):
        h = self.features(x).flatten(1)
        return [head(h) for head in self.heads]


# ------------------------------------------------------------------ transforms
def not_a_knot_basis(kx, grid):
    """Matrix B [len(grid), len(kx)] with spline(y)(grid) = B @ y (not-a-knot, as scipy)."""
    n = len(kx)
    h = np.diff(kx)
    B = np.zeros((len(grid), n))
    for j in range(n):
        y = np.zeros(n)
        y[j] = 1.0
        A = np.zeros((n, n))
        b = np.zeros(n)
        A[0, :3] = [h[1], -(h[0] + h[1]), h[0]]
        for i in range(1, n - 1):
            A[i, i - 1:i + 2] = [h[i - 1], 2 * (h[i - 1] + h[i]), h[i]]
            b[i] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
        A[n - 1, n - 3:] = [h[n - 2], -(h[n - 3] + h[n - 2]), h[n - 3]]
        M = np.linalg.solve(A, b)
        i = np.clip(np.searchsorted(kx, grid, side="right") - 1, 0, n - 2)
        t = grid - kx[i]
        hi = h[i]
        slope = (y[i + 1] - y[i]) / hi - hi * (2 * M[i] + M[i + 1]) / 6
        B[:, j] = y[i] + t * (slope + t * (M[i] / 2 + t * (M[i + 1] - M[i]) / (6 * hi)))
    return B


class Transforms:
    def __init__(self, length=300, sigma=0.2, knots=4, chunks=4, min_chunk=10):
        self.L, self.sigma, self.chunks, self.min_chunk = length, sigma, chunks, min_chunk
        kx = np.arange(knots + 2) * (length - 1) / (knots + 1)
        self.B = not_a_knot_basis(kx, np.arange(length, dtype=np.float64))
        self.nk = knots + 2

    def scale(self, w, r):
        while True:
            f = r.uniform(0.5, 1.5, size=w.shape[0])
            if np.all(np.abs(f - 1) >= 0.15):
                return w * f[:, None]

    def permute(self, w, r):
        L, c, m = self.L, self.chunks, self.min_chunk
        order = r.permutation(c)
        while True:
            cuts = np.sort(m + r.integers(0, L - 2 * m, size=c - 1))
            bounds = np.concatenate([[0], cuts, [L]])
            if np.all(np.diff(bounds) > m):
                break
        return np.concatenate([w[:, bounds[k]:bounds[k + 1]] for k in order], axis=1)

    def time_warp(self, w, r):
        ky = 1 + self.sigma * r.standard_normal((self.nk, w.shape[0]))  # [knot, channel]
        speed = np.maximum(self.B @ ky, 1e-6)  # [L, channel]
        tt = np.cumsum(speed, axis=0)
        tt *= (self.L - 1) / tt[-1]
        grid = np.arange(self.L, dtype=np.float64)
        return np.stack([np.interp(grid, tt[:, ch], w[ch]) for ch in range(w.shape[0])])

    def window(self, w, r, tasks=TASKS, p=0.5):
        lab = np.zeros(4, dtype=np.int64)
        cur = w.astype(np.float64)
        for k, t in enumerate(TASKS):
            if t not in tasks or not (r.random() < p):
                continue
            lab[k] = 1
            if t == "aot":
                cur = cur[:, ::-1]
            elif t == "scale":
                cur = self.scale(cur, r)
            elif t == "permute":
                cur = self.permute(cur, r)
            else:
                cur = self.time_warp(cur, r)
        return cur, lab


AXIS_ORDERS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


def axis_angle(axis, angle):
    x, y, z = axis / np.linalg.norm(axis)
    c, s = math.cos(angle), math.sin(angle)
    C = 1 - c
    return np.array([
        [x * x * C + c, x * y * C - z * s, x * z * C + y * s],
        [x * y * C + z * s, y * y * C + c, y * z * C - x * s],
        [x * z * C - y * s, y * z * C + x * s, z * z * C + c],
    ])


def make_batch(X, subj, idx, tf, r, augment, tasks=TASKS):
    xs, ys = [], []
    for i in idx:
        w, lab = tf.window(X[i], r, tasks)
        xs.append(w)
        ys.append(lab)
    xb = np.stack(xs)
    if augment:
        groups = {}
        for row, i in enumerate(idx):
            groups.setdefault(subj[i], []).append(row)
        for rows in groups.values():
            order = AXIS_ORDERS[r.integers(0, 6)]
            while True:
                axis = r.uniform(-1, 1, size=3)
                if np.linalg.norm(axis) > 1e-12:
                    break
            R = axis_angle(axis, r.uniform(-math.pi, math.pi))
            for row in rows:
                v = xb[row][list(order)]  # [3, L]
                xb[row] = (v.T @ R).T
    return torch.tensor(xb, dtype=torch.float32), torch.tensor(np.stack(ys))


# ------------------------------------------------------------------ data
def load_pool(d, name):
    X = np.load(os.path.join(d, f"{name}_X.npy")).astype(np.float32)
    subj = np.load(os.path.join(d, f"{name}_subject.npy"))
    src = np.load(os.path.join(d, f"{name}_source.npy"))
    return X, subj, src


def magnitude_std(X):
    s = np.sqrt((X.astype(np.float64) ** 2).sum(axis=1)).std(axis=1)
    s[~(s > 0)] = 1e-6
    return s


class EvalSet:
    """Held-out windows with transforms drawn once (fixed seed), no augmentation."""

    def __init__(self, X, subj, tf, seed, tasks):
        r = np.random.default_rng(seed)
        self.x, self.y = make_batch(X, subj, range(len(X)), tf, r, False, tasks)

    @torch.no_grad()
    def accuracy(self, net):
        net.eval()
        correct = torch.zeros(4)
        loss = 0.0
        for s in range(0, len(self.x), 256):
            outs = net(self.x[s:s + 256])
            yb = self.y[s:s + 256]
            for k, o in enumerate(outs):
                correct[k] += (o.argmax(1) == yb[:, k]).sum()
                loss += F.cross_entropy(o, yb[:, k], reduction="sum").item() / 4
        net.train()
        n = len(self.x)
        return {t: correct[k].item() / n for k, t in enumerate(TASKS)}, loss / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", required=True)
    ap.add_argument("--steps", type=int, default=6144)
    ap.add_argument("--eval-every", type=int, default=512)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--sampling", choices=["replace", "ours", "uniform"], default="replace")
    ap.add_argument("--per-epoch", type=int, default=16384, help="draws per epoch (for --sampling ours)")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--exclude-sources", default="", help="drop these sources from the TRAINING windows")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tasks = [t for t in args.tasks.split(",") if t]

    X, subj, src = load_pool(args.pool, "train")
    if args.exclude_sources:
        keep = ~np.isin(src, args.exclude_sources.split(","))
        X, subj, src = X[keep], subj[keep], src[keep]
    std = magnitude_std(X)
    p = std / std.sum()
    tf = Transforms(length=X.shape[2])
    evals = {}
    for name in ["val", "valstd"]:
        if os.path.exists(os.path.join(args.pool, f"{name}_X.npy")):
            vx, vs, _ = load_pool(args.pool, name)
            evals[name] = EvalSet(vx, vs, tf, args.seed + 7, tasks)

    net = MTLNet()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, amsgrad=True)
    r = np.random.default_rng(args.seed)
    hist = {"args": vars(args), "trainWindows": int(len(X)), "rows": []}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    def draws():
        if args.sampling == "ours":
            n = len(X)
            while True:
                if args.per_epoch <= n:  # Efraimidis-Spirakis keys: weighted without replacement
                    keys = np.log(1 - r.random(n)) / p
                    ep = np.argsort(-keys)[: args.per_epoch]
                else:
                    ep = r.choice(n, args.per_epoch, p=p)
                for s in range(0, len(ep), args.batch):
                    yield ep[s:s + args.batch]
        while True:
            if args.sampling == "uniform":
                yield r.integers(0, len(X), size=args.batch)
            else:
                yield r.choice(len(X), args.batch, replace=True, p=p)

    gen = draws()
    run_loss, run_acc, t0, t_data = 0.0, np.zeros(4), time.time(), 0.0
    srcs, src_count = np.unique(src), {}
    for step in range(1, args.steps + 1):
        td = time.time()
        idx = next(gen)
        for s_ in src[idx]:
            src_count[s_] = src_count.get(s_, 0) + 1
        xb, yb = make_batch(X, subj, idx, tf, r, not args.no_augment, tasks)
        t_data += time.time() - td
        outs = net(xb)
        losses = [F.cross_entropy(o, yb[:, k]) for k, o in enumerate(outs) if TASKS[k] in tasks]
        loss = sum(losses) / len(losses)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run_loss += loss.item()
        run_acc += np.array([(o.argmax(1) == yb[:, k]).float().mean().item() for k, o in enumerate(outs)])
        if step % args.eval_every == 0 or step == args.steps:
            k = step % args.eval_every or args.eval_every
            row = {
                "step": step,
                "seconds": time.time() - t0,
                "msPerStep": 1000 * (time.time() - t0) / step,
                "msDataPerStep": 1000 * t_data / step,
                "train/loss": run_loss / k,
            }
            for j, t in enumerate(TASKS):
                row[f"train/{t}/acc"] = run_acc[j] / k
            for name, ev in evals.items():
                acc, vl = ev.accuracy(net)
                row[f"{name}/loss"] = vl
                for t in TASKS:
                    row[f"{name}/{t}/acc"] = acc[t]
            tot = sum(src_count.values())
            row["drawShare"] = {s_: src_count.get(s_, 0) / tot for s_ in srcs}
            hist["rows"].append(row)
            tmp = args.out + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(hist, fh, indent=1)
            os.replace(tmp, args.out)
            print(
                f"step {step} {row['msPerStep']:.0f} ms/step loss {row['train/loss']:.4f} "
                + " ".join(
                    f"{t} {row[f'train/{t}/acc']:.2f}/{row.get(f'val/{t}/acc', float('nan')):.2f}/"
                    f"{row.get(f'valstd/{t}/acc', float('nan')):.2f}"
                    for t in TASKS
                )
                + " (train/uniform/std-drawn)",
                flush=True,
            )
            run_loss, run_acc = 0.0, np.zeros(4)


if __name__ == "__main__":
    main()
