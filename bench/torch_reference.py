#!/usr/bin/env python3
"""PyTorch reference for `deno task bench:train`: the same six benchmark
models as bench/models.ts (same shapes, batch sizes, losses, Adam), timed
per training step on this machine's CPU. bench/train_bench.ts runs it in
the same invocation (`--json`) unless given `--no-torch`.

`multiresnet` is lib/models/multi_resnet.ts's architecture (`MultiResNet`
below, the same layers and parameter count). `multiresnet2d-guess` is the
earlier 2-D-conv guess at it (`MultiResNet2dGuess`), measured only when
named in `--models`: the `multiresnet` rows of the torch_results*.json files
measured before this change are that guess, relabelled.

Not a project dependency: run it where Debian's `python3-torch` is
installed, e.g.

    apt-get install -y --no-install-recommends python3-torch
    OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX \
        python3 bench/torch_reference.py --threads 2 --out bench/torch_results.json

Debian's torch links the slow reference BLAS unless OpenBLAS is the
alternative for libblas.so.3 (`update-alternatives --config
libblas.so.3-x86_64-linux-gnu`); the script reports what it finds. The JSON
it writes (`bench/torch_results.json`: model, ms/step, samples/s, threads,
torch version, BLAS) is read by bench/train_bench.ts as the reference.
"""
import argparse
import json
import math
import os
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_1d(cin, cout, stride, relu=True):
    layers = [nn.Conv1d(cin, cout, 5, stride=stride, padding=2, bias=False),
              nn.BatchNorm1d(cout)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ResBlock1d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = conv_bn_1d(c, c, 1)
        self.b = conv_bn_1d(c, c, 1, relu=False)

    def forward(self, x):
        return F.relu(x + self.b(self.a(x)))


class ResBlock2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.b(F.relu(self.a(x))))


class ResNet1d(nn.Module):
    """harnet-style: 64 -> 128 -> 256 channels, kernel 5, on 3 x 300."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_1d(3, 64, 1), ResBlock1d(64),
            conv_bn_1d(64, 128, 2), ResBlock1d(128),
            conv_bn_1d(128, 256, 2), ResBlock1d(256))
        self.fc = nn.Linear(256, 6)

    def forward(self, x):
        return self.fc(self.body(x).mean(-1))


class MultiResNet2dGuess(nn.Module):
    """The earlier *guess* at Gjoreski et al.'s model (bench name `multiresnet2d-guess`, run only
    when asked for): raw 3 x 100 (1-D ResNet) + spectrograms 3 x 33 x 13 (2-D ResNet). Not the
    architecture of lib/models/multi_resnet.ts; kept so that old results stay reproducible."""

    def __init__(self):
        super().__init__()
        self.raw = nn.Sequential(conv_bn_1d(3, 32, 1), ResBlock1d(32),
                                 conv_bn_1d(32, 64, 2), ResBlock1d(64))
        self.spec = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), ResBlock2d(32))
        self.fc1 = nn.Linear(64 + 32, 128)
        self.fc2 = nn.Linear(128, 6)

    def forward(self, raw, spec):
        a = self.raw(raw).mean(-1)
        b = self.spec(spec).mean((-2, -1))
        return self.fc2(F.relu(self.fc1(torch.cat([a, b], 1))))


def bn1d(c):
    """Keras/tfjs batch norm defaults (momentum 0.99 = torch's 0.01, epsilon 1e-3)."""
    return nn.BatchNorm1d(c, eps=1e-3, momentum=0.01)


class TemporalBlock(nn.Module):
    """One temporal residual block of lib/models/multi_resnet.ts: [optional input BN] ->
    Conv1d(k=8, same) -> BN -> ReLU -> Conv1d(5) -> BN -> ReLU -> Conv1d(3) -> BN, plus the
    shortcut Conv1d(1) -> BN, add, ReLU, MaxPool1d(3, 2)."""

    def __init__(self, cin, f, kernels=(8, 5, 3), input_bn=False):
        super().__init__()
        self.input_bn = bn1d(cin) if input_bn else None
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        c = cin
        for k in kernels:
            self.convs.append(nn.Conv1d(c, f, k, padding="same"))
            self.bns.append(bn1d(f))
            c = f
        self.short, self.short_bn = nn.Conv1d(cin, f, 1), bn1d(f)
        self.pool = nn.MaxPool1d(3, 2)

    def forward(self, x):
        if self.input_bn is not None:
            x = self.input_bn(x)
        y = x
        for j, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            y = bn(conv(y))
            if j < len(self.convs) - 1:
                y = F.relu(y)
        return self.pool(F.relu(y + self.short_bn(self.short(x))))


class MultiResNet(nn.Module):
    """Gjoreski et al.'s Multi-ResNet as lib/models/multi_resnet.ts builds it with its defaults
    (bench/models.ts BENCH_MULTIRESNET: 20 Hz x 4 s = 80 samples, 3 axes, 3 blocks of 16/32/64
    filters, spectrograms of 7 frames x 17 bins per axis, 18 classes). Per axis, unshared
    weights: the temporal blocks on the raw axis [B, 1, 80] -> [B, 64, 9], and the spectral
    branch Conv1d over frames with the 17 bins as channels (k=3, same) -> BN -> ReLU; flatten and
    concatenate (3 x (576 + 112) = 2064), then Dropout(0.25) -> Linear(64) -> ReLU -> Dropout ->
    Linear(128) -> ReLU -> Dropout -> Linear(classes). Inputs: raw [B, 3, 80] and spectrograms
    [B, 3, 17, 7] (axis, bin, frame). The dense layers' L2 is left out on both sides (the
    benchmark's tfjs loss is the cross-entropy only)."""

    def __init__(self, channels=3, samples=80, frames=7, bins=17, classes=18, blocks=3,
                 filters=16, max_filters=64, spec_filters=16, dense=(64, 128), dropout=0.25):
        super().__init__()
        self.channels = channels
        self.temporal = nn.ModuleList()
        self.spectral = nn.ModuleList()
        length = samples
        for _ in range(channels):
            layers, cin = [], 1
            for b in range(blocks):
                f = min(filters * 2 ** b, max_filters)
                layers.append(TemporalBlock(cin, f, input_bn=(b == 0)))
                cin = f
            self.temporal.append(nn.Sequential(*layers))
            self.spectral.append(nn.Sequential(
                nn.Conv1d(bins, spec_filters, 3, padding="same"), bn1d(spec_filters), nn.ReLU()))
        for _ in range(blocks):
            length = (length - 3) // 2 + 1
        width = channels * (cin * length + spec_filters * frames)
        head = []
        for units in dense:
            head += [nn.Dropout(dropout), nn.Linear(width, units), nn.ReLU()]
            width = units
        head += [nn.Dropout(dropout), nn.Linear(width, classes)]
        self.head = nn.Sequential(*head)

    def forward(self, raw, spec):
        feats = []
        for c in range(self.channels):
            feats.append(self.temporal[c](raw[:, c:c + 1]).flatten(1))
            feats.append(self.spectral[c](spec[:, c]).flatten(1))
        return self.head(torch.cat(feats, 1))


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 128, batch_first=True)
        self.fc = nn.Linear(128, 6)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


class Cpc(nn.Module):
    """The "Don't freeze" CPC encoder as lib/models/dontfreeze_encoders.ts `cpcEncoder()` builds it
    with its defaults (bench/models.ts `cpc`): 3 x [reflect pad 1 -> Conv1d(k=3, no bias) -> ReLU ->
    Dropout(0.2)] of 32/64/128 filters on [B, 3, 100], then a 2-layer GRU 256 (inter-layer dropout
    0.2) over the 100 steps, its last step (256-d) -> Linear(256, 6). 722,208 encoder parameters
    (31,008 conv + 296,448 + 394,752 GRU) + 1,542 head = 723,750."""

    def __init__(self, channels=3, filters=(32, 64, 128), units=256, layers=2, dropout=0.2,
                 classes=6):
        super().__init__()
        convs, cin = [], channels
        for f in filters:
            convs += [nn.Conv1d(cin, f, 3, padding=1, padding_mode="reflect", bias=False),
                      nn.ReLU(), nn.Dropout(dropout)]
            cin = f
        self.convs = nn.Sequential(*convs)
        self.gru = nn.GRU(cin, units, num_layers=layers, dropout=dropout, batch_first=True)
        self.fc = nn.Linear(units, classes)

    def forward(self, x):
        z = self.convs(x).transpose(1, 2)  # [B, 100, 128]
        c, _ = self.gru(z)
        return self.fc(c[:, -1])


class Transformer(nn.Module):
    """SelfPAB-style: 2 post-norm layers, d_model 128, 8 heads, FFN 512, on 119 x 156."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(156, 128)
        self.pos = nn.Parameter(torch.randn(119, 128) / 128 ** 0.5)
        layer = nn.TransformerEncoderLayer(128, 8, 512, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.out = nn.Linear(128, 156)

    def forward(self, x):
        return self.out(self.enc(self.inp(x) + self.pos))


class SelfPAB(nn.Module):
    """SelfPAB CPU configuration (selfpab.md section 7): Linear(156 -> 192) + sinusoidal positions
    (interleaved sin/cos, added without scaling), 4 post-norm layers, 6 heads, FFN 512,
    dropout 0.1, linear reconstruction head, on 599 x 156 (bench/models.ts BENCH_SELFPAB)."""

    def __init__(self, d=192, frames=599, n_in=156):
        super().__init__()
        self.inp = nn.Linear(n_in, d)
        pos = torch.arange(frames).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(frames, d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)
        layer = nn.TransformerEncoderLayer(d, 6, 512, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.out = nn.Linear(d, n_in)

    def forward(self, x):
        return self.out(self.enc(self.inp(x) + self.pe))


BATCH = {"transformer": 32, "selfpab": 8, "resnet1d": 64, "multiresnet": 256, "lstm": 64,
         "cpc": 256, "multiresnet2d-guess": 256}
# classes of the classifiers (bench/models.ts BENCH_CLASSES)
CLASSES = {"multiresnet": 18}


def build(name, batch):
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, CLASSES.get(name, 6), (batch,), generator=g)
    if name == "transformer":
        x = torch.randn(batch, 119, 156, generator=g)
        mask = (torch.rand(batch, 119, 1, generator=g) < 0.2).float()
        model = Transformer()
        xin = x * (1 - mask)
        return model, lambda: ((model(xin) - x) ** 2 * mask).mean()
    if name == "selfpab":
        # the TERA mask alters ~21.5 % of the elements (its layout does not change the cost)
        x = torch.randn(batch, 599, 156, generator=g)
        mask = (torch.rand(batch, 599, 156, generator=g) < 0.215).float()
        model = SelfPAB()
        xin = x * (1 - mask)

        def masked_l1():  # SelfPAB maskedL1: per-sample normalised, then the batch mean
            e = (mask * (model(xin) - x).abs()).sum((1, 2))
            return (e / mask.sum((1, 2)).clamp(min=1)).mean()
        return model, masked_l1
    if name == "resnet1d":
        model, x = ResNet1d(), torch.randn(batch, 3, 300, generator=g)
        return model, lambda: F.cross_entropy(model(x), labels)
    if name == "multiresnet":
        model = MultiResNet(classes=CLASSES["multiresnet"])
        raw, spec = torch.randn(batch, 3, 80, generator=g), torch.randn(batch, 3, 17, 7, generator=g)
        return model, lambda: F.cross_entropy(model(raw, spec), labels)
    if name == "multiresnet2d-guess":
        model = MultiResNet2dGuess()
        raw, spec = torch.randn(batch, 3, 100, generator=g), torch.randn(batch, 3, 33, 13, generator=g)
        return model, lambda: F.cross_entropy(model(raw, spec), labels)
    if name == "lstm":
        model, x = Lstm(), torch.randn(batch, 100, 3, generator=g)
        return model, lambda: F.cross_entropy(model(x), labels)
    if name == "cpc":
        model, x = Cpc(), torch.randn(batch, 3, 100, generator=g)
        return model, lambda: F.cross_entropy(model(x), labels)
    raise ValueError(name)


def bench(name, steps, warmup):
    torch.manual_seed(1)
    batch = BATCH[name]
    model, loss_fn = build(name, batch)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    times = []
    t0 = time.perf_counter()
    for _ in range(steps):
        t1 = time.perf_counter()
        last = step()
        times.append((time.perf_counter() - t1) * 1e3)
    ms = (time.perf_counter() - t0) / steps * 1e3
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"model": name, "batch": batch, "params": params, "msPerStep": round(ms, 1),
            "samplesPerSec": round(batch / ms * 1e3), "lossLast": last, "stepMs": times}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            pairs = (line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
            info = {k.strip(): v.strip() for k, v in pairs}
        get = lambda k: info.get(k, "?")
        return f"{get('model name')} (family {get('cpu family')}, model {get('model')})"
    except OSError:
        return platform.processor() or platform.machine()


def blas_in_use():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
        return sorted(os.path.basename(p) for p in libs) or ["(none mapped)"]
    except OSError:
        return ["(unknown)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="transformer,selfpab,resnet1d,multiresnet,lstm,cpc")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed runs per model (after warm-up); ms/step is their median")
    ap.add_argument("--out", default="")
    ap.add_argument("--json", action="store_true",
                    help="print the results as one JSON line (for bench/train_bench.ts)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rows = []
    for m in a.models.split(","):
        if m not in BATCH:
            ap.error(f"unknown model '{m}' (one of {', '.join(BATCH)})")
        runs = sorted((bench(m, a.steps, a.warmup) for _ in range(a.repeats)), key=lambda r: r["msPerStep"])
        row = runs[len(runs) // 2]
        row["runsMs"] = [r["msPerStep"] for r in runs]
        # the median single step over every timed step of every run (bench/train_bench.ts's figure)
        row["medianStepMs"] = round(statistics.median(t for r in runs for t in r["stepMs"]), 1)
        for r in runs:
            del r["stepMs"]
        if m == "multiresnet2d-guess":
            row["note"] = "the earlier 2-D-conv guess, not lib/models/multi_resnet.ts"
        rows.append(row)
    info = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "torch": torch.__version__,
            "threads": a.threads, "cpu": cpu_model(),
            "mkldnn": torch.backends.mkldnn.is_available(), "blas": blas_in_use(),
            "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")
                    if k in os.environ},
            "results": rows}
    if a.json:
        print(json.dumps(info))
    else:
        for r in rows:
            print(f"{r['model']:12s} batch {r['batch']:4d}  {r['msPerStep']:8.1f} ms/step  "
                  f"{r['samplesPerSec']:6d} samples/s" + (f"  ({r['note']})" if "note" in r else ""))
        print("torch", info["torch"], "threads", a.threads, "mkldnn", info["mkldnn"], "blas", info["blas"])
    if a.out:
        with open(a.out, "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
