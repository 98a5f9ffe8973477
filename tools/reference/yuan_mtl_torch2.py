#!/usr/bin/python3
"""
By-hand REFERENCE TOOL, not a project dependency: nothing in lib/, tests/,
the notebooks or the deno tasks imports or runs it.

A second, independent PyTorch implementation of the OxWearables
ssl-wearables multi-task self-supervised recipe (Yuan et al. 2024; read from
`mtl.py`, `sslearning/models/accNet.py: Resnet, ResBlock, Downsample,
weight_init`, `sslearning/data/data_transformation.py`,
`sslearning/data/datautils.py: RandomSwitchAxisTimeSeries,
RotationAxisTimeSeries`, `sslearning/data/data_loader.py: generate_labels`),
written concurrently with tools/reference/yuan_mtl_torch.py by another
session (same brief), so the two cross-check each other. It trains on the
exact pool our TS run uses (exported by tools/reference/export_yuan_pool.ts)
with the options of `yuanSpec("long")`:

- network: ResNet-V2 harnet with OUR laptop10 stages
  (lib/models/harnet.ts HARNET_VARIANTS.laptop10): (channels, kernel,
  resblocks, res kernel, down factor, down order) = (16,5,1,5,2,2)
  (32,5,1,5,2,2) (64,5,1,5,5,1) (128,5,1,5,5,1) (256,5,0,5,3,1); per stage
  circular-padded bias-free conv -> [bn-relu-conv-bn-relu-conv + identity]^m
  -> BN -> ReLU -> anti-aliased downsampling (box kernel convolved `order`
  times, zero padding order*(f-1)/2, stride f); 256-d features; four
  Linear(256, 2) heads in the order aot, scale, permute, time_w.
  439,448 parameters (as our TS model).
- init: ssl-wearables' weight_init (kaiming_normal_ fan_out / relu on every
  Conv1d and Linear weight, heads included; BN 1 / 0; Linear biases left at
  PyTorch's default U(+-1/sqrt(fan_in))).
- sampling as OUR multitaskSource("pool"): per epoch of 16,384 draws (256
  steps of 64), draws without replacement with p ∝ std of the acceleration
  magnitude (population std; 0 -> 1e-6), batches consecutive 64-blocks of the
  draw order. `--sampling replace`: 64 draws with replacement per step.
- per window, ssl-wearables' generate_labels order aot -> scale -> permute ->
  time_w, each a coin with P(1) = 0.5 (label 1 = transform applied): flip =
  reverse time; scale = per-axis U(0.5, 1.5), redrawn while any factor is
  within 0.15 of 1; permute = DA_Permutation(nPerm 4, minSegLength 10):
  random chunk order, cuts sort(randint(10, L-10, 3)) redrawn until every
  chunk > 10 samples; time warp = DA_TimeWarp(sigma 0.2, knot 4): per axis a
  scipy CubicSpline (not-a-knot) through 6 equally spaced knots ~ N(1, 0.2),
  cumulative sum rescaled to end at L-1, np.interp.
- augmentation (training batches only), one draw per subject present in the
  batch (ssl-wearables applies its transform to each subject's windows):
  axis order uniform over the 6 (identity included), then x[L,3] @ R with R
  = axangle2mat(axis ~ U[-1,1]^3, angle ~ U(-pi, pi)).
- loss = mean of the four cross-entropies; Adam lr 1e-3 amsgrad.
- every --eval-every steps: accuracy per task (BN eval mode) on the uniform
  held-out windows (val_X.npy, 2,048) and the std-drawn ones (valstd_X.npy,
  512), transforms drawn once with seed+7 and reused; plus the training
  accuracy of the last --eval-every steps. History rewritten after every
  evaluation (atomic rename).

Environment: Debian's /usr/bin/python3 with apt's python3-torch (1.13),
python3-numpy, python3-scipy (pip/PyPI not used; the pyenv `python3` on PATH
has no torch). Threads: `--threads` (default 1; see the README for why).

Commands used (from /work/main):

  HAR_DATA_DIR=/work/shared/datasets deno run -A tools/reference/export_yuan_pool.ts \\
      --scale long --out /tmp/yuan-pool-full
  HAR_DATA_DIR=/work/shared/datasets deno run -A tools/reference/export_yuan_pool.ts \\
      --scale long --exclude daphnet,cwa --out /tmp/yuan-pool-issue
  OMP_WAIT_POLICY=PASSIVE nohup /usr/bin/python3 tools/reference/yuan_mtl_torch2.py \\
      --pool /tmp/yuan-pool-full --steps 6144 \\
      --out results/yuan-long/torch-reference/torch2-full-history.json > /tmp/torch2-full.log 2>&1 &
  OMP_WAIT_POLICY=PASSIVE nohup /usr/bin/python3 tools/reference/yuan_mtl_torch2.py \\
      --pool /tmp/yuan-pool-issue --steps 6144 \\
      --out results/yuan-long/torch-reference/torch2-issue-history.json > /tmp/torch2-issue.log 2>&1 &

  # transforms vs OUR TS transforms on the same windows
  deno run -A tools/reference/transform_check.ts --pool /tmp/yuan-pool-full --out /tmp/tcheck
  /usr/bin/python3 tools/reference/yuan_mtl_torch2.py --check-transforms /tmp/tcheck

  # one training step, same init weights and batch, vs OUR TS training path
  deno run -A tools/reference/grad_check.ts --phase batch --pool /tmp/yuan-pool-full --dir /tmp/gcheck
  /usr/bin/python3 tools/reference/yuan_mtl_torch2.py --grad-check /tmp/gcheck
  deno run -A tools/reference/grad_check.ts --phase compare --pool /tmp/yuan-pool-full --dir /tmp/gcheck
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.interpolate import CubicSpline

TASKS = ["aot", "scale", "permute", "time_w"]
LAPTOP10 = [
    (16, 5, 1, 5, 2, 2),
    (32, 5, 1, 5, 2, 2),
    (64, 5, 1, 5, 5, 1),
    (128, 5, 1, 5, 5, 1),
    (256, 5, 0, 5, 3, 1),
]


# ------------------------------------------------------------------ model
class Downsample(nn.Module):
    def __init__(self, channels, factor, order):
        super().__init__()
        assert factor > 1 and (order * (factor - 1)) % 2 == 0
        k = np.ones(factor)
        for _ in range(order):
            k = np.convolve(k, np.ones(factor))
        self.stride, self.pad = factor, order * (factor - 1) // 2
        w = torch.tensor(k / k.sum(), dtype=torch.float32)
        self.register_buffer("kernel", w.view(1, 1, -1).repeat(channels, 1, 1))

    def forward(self, x):
        return F.conv1d(x, self.kernel, stride=self.stride, padding=self.pad, groups=x.shape[1])


def conv(cin, cout, k):
    return nn.Conv1d(cin, cout, k, 1, (k - 1) // 2, bias=False, padding_mode="circular")


class ResBlock(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm1d(c), conv(c, c, k)
        self.bn2, self.conv2 = nn.BatchNorm1d(c), conv(c, c, k)

    def forward(self, x):
        y = self.conv1(F.relu(self.bn1(x)))
        return x + self.conv2(F.relu(self.bn2(y)))


class MtlNet(nn.Module):
    def __init__(self, stages=LAPTOP10, in_ch=3, length=300):
        super().__init__()
        layers, c_in = [], in_ch
        for c, k, m, rk, f, o in stages:
            mods = [conv(c_in, c, k)] + [ResBlock(c, rk) for _ in range(m)]
            layers.append(nn.Sequential(*mods, nn.BatchNorm1d(c), nn.ReLU(), Downsample(c, f, o)))
            c_in = c
        self.feature_extractor = nn.Sequential(*layers)
        with torch.no_grad():
            self.feature_dim = self.feature_extractor(torch.zeros(2, in_ch, length)).flatten(1).shape[1]
        self.heads = nn.ModuleList([nn.Linear(self.feature_dim, 2) for _ in TASKS])
        for mod in self.modules():
            if isinstance(mod, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(mod, nn.BatchNorm1d):
                nn.init.ones_(mod.weight)
                nn.init.zeros_(mod.bias)

    def forward(self, x):
        f = self.feature_extractor(x).flatten(1)
        return [h(f) for h in self.heads]


# ------------------------------------------------------------------ transforms, windows [3, L]
def t_flip(x):
    return x[:, ::-1].copy()


def scale_factors(rs, c=3, srange=0.5, min_diff=0.15):
    while True:
        f = rs.uniform(1 - srange, 1 + srange, size=c)
        if not np.any(np.abs(f - 1) < min_diff):
            return f


def t_scale(x, rs, factors=None):
    f = scale_factors(rs, x.shape[0]) if factors is None else np.asarray(factors, float)
    return x * f[:, None]


def perm_plan(rs, length, n=4, min_seg=10):
    order = rs.permutation(n)
    while True:
        segs = np.zeros(n + 1, dtype=int)
        segs[1:-1] = np.sort(rs.randint(min_seg, length - min_seg, n - 1))
        segs[-1] = length
        if np.min(segs[1:] - segs[:-1]) > min_seg:
            return segs, order


def t_permute(x, rs, plan=None):
    segs, order = perm_plan(rs, x.shape[1]) if plan is None else plan
    return np.concatenate([x[:, segs[k]:segs[k + 1]] for k in order], axis=1)


def warp_times(knot_vals, length):
    """knot_vals [knots+2, C] -> warped sample times [C, length]."""
    nk = knot_vals.shape[0]
    kx = np.arange(0, length, (length - 1) / (nk - 1))[:nk]
    grid = np.arange(length)
    out = []
    for ch in range(knot_vals.shape[1]):
        tt = np.cumsum(CubicSpline(kx, knot_vals[:, ch])(grid))
        out.append(tt * (length - 1) / tt[-1])
    return np.array(out)


def t_timewarp(x, rs, knot_vals=None, sigma=0.2, knots=4):
    c, length = x.shape
    if knot_vals is None:
        knot_vals = rs.normal(1.0, sigma, size=(knots + 2, c))
    tt = warp_times(np.asarray(knot_vals, float), length)
    grid = np.arange(length)
    return np.stack([np.interp(grid, tt[ch], x[ch]) for ch in range(c)])


AXIS_ORDERS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


def axangle(axis, angle):
    x, y, z = np.asarray(axis, float) / np.linalg.norm(axis)
    c, s = math.cos(angle), math.sin(angle)
    C = 1 - c
    return np.array([
        [x * x * C + c, x * y * C - z * s, x * z * C + y * s],
        [x * y * C + z * s, y * y * C + c, y * z * C - x * s],
        [x * z * C - y * s, y * z * C + x * s, z * z * C + c],
    ])


def mtl_window(x, rs, tasks=TASKS):
    lab = np.zeros(4, dtype=np.int64)
    cur = x.astype(np.float64)
    for k, t in enumerate(TASKS):
        if t not in tasks or not (rs.rand() < 0.5):
            continue
        lab[k] = 1
        if t == "aot":
            cur = t_flip(cur)
        elif t == "scale":
            cur = t_scale(cur, rs)
        elif t == "permute":
            cur = t_permute(cur, rs)
        else:
            cur = t_timewarp(cur, rs)
    return cur, lab


def make_batch(X, subj, idx, rs, augment, tasks=TASKS):
    xs, labs = zip(*(mtl_window(X[i], rs, tasks) for i in idx))
    xb = np.stack(xs)
    if augment:
        groups = {}
        for r, i in enumerate(idx):
            groups.setdefault(subj[i], []).append(r)
        for rows in groups.values():
            order = list(AXIS_ORDERS[rs.randint(6)])
            R = axangle(rs.uniform(-1, 1, size=3), rs.uniform(-np.pi, np.pi))
            for r in rows:
                xb[r] = (xb[r][order].T @ R).T
    return xb.astype(np.float32), np.stack(labs)


def window_std(X):
    s = np.sqrt((X.astype(np.float64) ** 2).sum(axis=1)).std(axis=1)
    s[~(s > 0)] = 1e-6
    return s


# ------------------------------------------------------------------ training
def evaluate(model, xs, ys, bs=256):
    model.eval()
    correct, losses = np.zeros(4), np.zeros(4)
    with torch.no_grad():
        for s in range(0, len(xs), bs):
            out = model(torch.from_numpy(xs[s:s + bs]))
            y = torch.from_numpy(ys[s:s + bs])
            for k in range(4):
                correct[k] += (out[k].argmax(1) == y[:, k]).sum().item()
                losses[k] += F.cross_entropy(out[k], y[:, k], reduction="sum").item()
    model.train()
    return correct / len(xs), losses / len(xs)


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rs = np.random.RandomState(args.seed)
    load = lambda n: np.load(os.path.join(args.pool, n))
    X, subj = load("train_X.npy"), load("train_subject.npy")
    tasks = [t for t in args.tasks.split(",") if t]
    info = json.load(open(os.path.join(args.pool, "info.json")))
    p = window_std(X)
    p /= p.sum()
    ers = np.random.RandomState(args.seed + 7)
    held = {}
    for name in ("val", "valstd"):
        v = load(f"{name}_X.npy")
        held[name] = make_batch(v, None, range(len(v)), ers, False, tasks)
    model = MtlNet(length=X.shape[2])
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, amsgrad=not args.no_amsgrad)
    n_params = sum(q.numel() for q in model.parameters())
    print(f"pool {args.pool}: train {len(X)}, held {[len(v[0]) for v in held.values()]}, "
          f"params {n_params}, feature dim {model.feature_dim}", flush=True)
    hist = {
        "tool": "tools/reference/yuan_mtl_torch2.py",
        "args": vars(args),
        "pool": {k: info.get(k) for k in ("sources", "pool", "train", "val", "valStd", "perSource", "stillFraction")},
        "torch": torch.__version__,
        "params": n_params,
        "heldLabelMeans": {k: v[1].mean(0).tolist() for k, v in held.items()},
        "rows": [],
    }
    per_epoch = args.windows_per_epoch // args.batch
    tr_correct, tr_loss, tr_n, t_data = np.zeros(4), 0.0, 0, 0.0
    t0 = time.time()
    epoch_idx = None
    active = [k for k, t in enumerate(TASKS) if t in tasks]
    for step in range(1, args.steps + 1):
        td = time.time()
        if args.sampling == "replace":
            idx = rs.choice(len(X), args.batch, replace=True, p=p)
        else:
            e, s = divmod(step - 1, per_epoch)
            if s == 0:
                epoch_idx = rs.choice(len(X), args.windows_per_epoch,
                                      replace=args.windows_per_epoch > len(X), p=p)
            idx = epoch_idx[s * args.batch:(s + 1) * args.batch]
        xb, yb = make_batch(X, subj, idx, rs, not args.no_augment, tasks)
        t_data += time.time() - td
        out = model(torch.from_numpy(xb))
        y = torch.from_numpy(yb)
        loss = sum(F.cross_entropy(out[k], y[:, k]) for k in active) / len(active)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for k in range(4):
                tr_correct[k] += (out[k].argmax(1) == y[:, k]).sum().item()
        tr_loss += loss.item() * len(idx)
        tr_n += len(idx)
        if step % args.eval_every == 0 or step == args.steps:
            el = time.time() - t0
            row = {"step": step, "seconds": round(el, 1), "msPerStep": round(1000 * el / step, 1),
                   "msDataPerStep": round(1000 * t_data / step, 1), "train/loss": tr_loss / tr_n}
            for k, t in enumerate(TASKS):
                row[f"train/{t}/acc"] = tr_correct[k] / tr_n
            for name, (hx, hy) in held.items():
                acc, ls = evaluate(model, hx, hy)
                for k, t in enumerate(TASKS):
                    row[f"{name}/{t}/acc"] = acc[k]
                    row[f"{name}/{t}/loss"] = ls[k]
            hist["rows"].append(row)
            tmp = args.out + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(hist, fh, indent=1)
            os.replace(tmp, args.out)
            print(f"step {step} ({row['seconds']:.0f} s, {row['msPerStep']:.0f} ms/step) "
                  f"loss {row['train/loss']:.4f} "
                  + " ".join(f"{t} {row[f'train/{t}/acc']:.2f}/{row[f'val/{t}/acc']:.2f}/"
                             f"{row[f'valstd/{t}/acc']:.2f}" for t in TASKS)
                  + " (train/uniform/std-drawn)", flush=True)
            tr_correct, tr_loss, tr_n = np.zeros(4), 0.0, 0


# ------------------------------------------------------------------ transform check
def check_transforms(d):
    """Compare with what tools/reference/transform_check.ts wrote (OUR TS transforms)."""
    j = json.load(open(os.path.join(d, "check.json")))
    res = {}

    def cmp(name, ts, py):
        ts = np.asarray(ts, dtype=np.float64).reshape(np.shape(py))
        res[name] = max(res.get(name, 0.0), float(np.max(np.abs(ts - py))))

    for case in j["cases"]:
        x = np.array(case["window"], dtype=np.float64).reshape(3, -1)
        cmp("flip", case["flip"], t_flip(x))
        cmp("scale", case["scale"]["out"], t_scale(x, None, case["scale"]["factors"]))
        plan = (np.array(case["permute"]["bounds"]), np.array(case["permute"]["order"]))
        cmp("permute", case["permute"]["out"], t_permute(x, None, plan))
        kv = np.array(case["timewarp"]["knots"]).T  # TS [channel][knot] -> [knot, channel]
        cmp("timewarp", case["timewarp"]["out"], t_timewarp(x, None, kv))
        R = np.array(case["rotation"]["matrix"]).reshape(3, 3)
        cmp("axangle", R, axangle(case["rotation"]["axis"], case["rotation"]["angle"]))
        cmp("rotation", case["rotation"]["out"], (x.T @ R).T)
        for k, order in enumerate(AXIS_ORDERS):
            cmp("swap", case["swap"][k], x[list(order)])
    print(f"max |TS - Python| over {len(j['cases'])} windows (TS float32 output, Python float64):")
    for k, v in res.items():
        print(f"  {k:9s} {v:.3g}")
    rs = np.random.RandomState(0)
    dist = j["dist"]
    n = len(dist["scaleFactors"])
    L = len(j["cases"][0]["window"]) // 3
    py = {
        "scale factor": np.array([scale_factors(rs) for _ in range(n)]).ravel(),
        "chunk length": np.array([np.diff(perm_plan(rs, L)[0]) for _ in range(n)]).ravel(),
        "knot speed": rs.normal(1, 0.2, size=n * 18),
    }
    ts = {
        "scale factor": np.array(dist["scaleFactors"]).ravel(),
        "chunk length": np.array(dist["segLengths"]).ravel(),
        "knot speed": np.array(dist["knots"]).ravel(),
    }
    q = [0.01, 0.25, 0.5, 0.75, 0.99]
    print(f"distributions, TS vs Python ({n} draws each):")
    for k in py:
        a, b = ts[k], py[k]
        print(f"  {k:13s} mean {a.mean():.4f} / {b.mean():.4f}  sd {a.std():.4f} / {b.std():.4f}  "
              f"min {a.min():.3f} / {b.min():.3f}  max {a.max():.3f} / {b.max():.3f}  "
              f"q {np.round(np.quantile(a, q), 3).tolist()} / {np.round(np.quantile(b, q), 3).tolist()}")
    sh_ts = np.array(dist["orders"])
    sh_py = np.array([tuple(rs.permutation(4)) for _ in range(n)])
    print("  chunk order identity share TS / Python: %.4f / %.4f (1/24 = %.4f)" % (
        np.mean(np.all(sh_ts == np.arange(4), axis=1)), np.mean(np.all(sh_py == np.arange(4), axis=1)), 1 / 24))
    print("  TS training-batch label means (aot, scale, permute, time_w):",
          np.round(np.array(dist["labels"]).mean(0), 4).tolist())
    print("  TS label convention:", json.dumps(j["labelCheck"]))
    return res


# ------------------------------------------------------------------ single-batch check vs OUR TS path
def ssl_key(k):
    """Our module names -> ssl-wearables' state-dict keys (what lib/models/weights.ts maps)."""
    parts = k.split(".")
    if parts[0] == "feature_extractor":
        parts[1] = f"layer{int(parts[1]) + 1}"
    elif parts[0] == "heads":
        parts = [f"{TASKS[int(parts[1])]}_h", "linear1"] + parts[2:]
    return ".".join(parts)


def grad_check(d, seed=0):
    """Init weights, loss, gradients and the state after ONE Adam-amsgrad step on the TS batch in d."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    xb = torch.from_numpy(np.load(os.path.join(d, "batch_X.npy")))
    yb = torch.from_numpy(np.load(os.path.join(d, "batch_y.npy")).astype(np.int64))
    net = MtlNet(length=xb.shape[2])
    torch.save({ssl_key(k): v.clone() for k, v in net.state_dict().items()}, os.path.join(d, "init.pt"))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, amsgrad=True)
    net.train()
    out = net(xb)
    per = [F.cross_entropy(out[k], yb[:, k]) for k in range(4)]
    loss = sum(per) / 4
    opt.zero_grad()
    loss.backward()
    dump = lambda t: {"shape": list(t.shape), "data": t.detach().double().flatten().tolist()}
    grads = {ssl_key(k): dump(p.grad) for k, p in net.named_parameters()}
    opt.step()
    after = {ssl_key(k): dump(v) for k, v in net.state_dict().items()
             if not k.endswith("num_batches_tracked") and not k.endswith("kernel")}
    json.dump({"loss": loss.item(), "taskLoss": [v.item() for v in per], "grads": grads, "after": after},
              open(os.path.join(d, "torch.json"), "w"))
    print("torch loss", loss.item(), [round(v.item(), 5) for v in per])


def multi_check(d, seed=0, bs=64):
    """K steps from init.pt on the K consecutive TS batches of multi_X.npy: loss per step, final state."""
    torch.set_num_threads(1)
    X = torch.from_numpy(np.load(os.path.join(d, "multi_X.npy")))
    Y = torch.from_numpy(np.load(os.path.join(d, "multi_y.npy")).astype(np.int64))
    net = MtlNet(length=X.shape[2])
    sd = torch.load(os.path.join(d, "init.pt"))
    inv = {ssl_key(k): k for k in net.state_dict()}
    net.load_state_dict({inv[k]: v for k, v in sd.items()})
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, amsgrad=True)
    net.train()
    losses = []
    for s in range(0, len(X), bs):
        out = net(X[s:s + bs])
        loss = sum(F.cross_entropy(out[k], Y[s:s + bs, k]) for k in range(4)) / 4
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    dump = lambda t: {"shape": list(t.shape), "data": t.detach().double().flatten().tolist()}
    after = {ssl_key(k): dump(v) for k, v in net.state_dict().items()
             if not k.endswith("num_batches_tracked") and not k.endswith("kernel")}
    json.dump({"losses": losses, "after": after}, open(os.path.join(d, "torch_multi.json"), "w"))
    print("torch losses", [round(v, 4) for v in losses])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", help="folder written by export_yuan_pool.ts")
    ap.add_argument("--out", help="history JSON")
    ap.add_argument("--steps", type=int, default=6144)
    ap.add_argument("--eval-every", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--windows-per-epoch", type=int, default=16384)
    ap.add_argument("--sampling", choices=["ours", "replace"], default="ours")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--no-amsgrad", action="store_true")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-transforms", metavar="DIR")
    ap.add_argument("--grad-check", metavar="DIR", help="single-batch check (tools/reference/grad_check.ts)")
    ap.add_argument("--multi-check", metavar="DIR", help="K-step check (grad_check.ts --phase multi-batch / multi)")
    a = ap.parse_args()
    if a.multi_check:
        multi_check(a.multi_check)
        sys.exit(0)
    if a.grad_check:
        grad_check(a.grad_check)
        sys.exit(0)
    if a.check_transforms:
        check_transforms(a.check_transforms)
        sys.exit(0)
    if not (a.pool and a.out):
        ap.error("--pool and --out are required for training")
    train(a)
