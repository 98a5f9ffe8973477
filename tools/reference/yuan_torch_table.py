#!/usr/bin/python3
"""By-hand reference tool (not a project dependency): the markdown table of held-out
accuracy per task and step for the PyTorch reference histories in
results/yuan-long/torch-reference/ and our TS histories (results/yuan-long*/pretrain/
*-history.json, one row per 256-step epoch → step = epoch * 256).

  /usr/bin/python3 tools/reference/yuan_torch_table.py [--every 1024] [--train]
"""
import argparse
import json
import os

TASKS = ["aot", "scale", "permute", "time_w"]
R = "results/yuan-long/torch-reference"


def torch_rows(path):
    h = json.load(open(path))
    return {r["step"]: r for r in h["rows"]}


def ts_rows(path, steps_per_epoch=256):
    return {r["epoch"] * steps_per_epoch: r for r in json.load(open(path))}


def cell(r, t, train):
    if r is None:
        return "–"
    s = f"{r[f'val/{t}/acc']:.2f} / {r[f'valstd/{t}/acc']:.2f}"
    return s + (f" ({r[f'train/{t}/acc']:.2f})" if train else "")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=1024)
    ap.add_argument("--max", type=int, default=10240)
    ap.add_argument("--train", action="store_true", help="append the training accuracy in brackets")
    a = ap.parse_args()
    runs = [
        ("torch2 full pool (our sampling)", f"{R}/torch2-full-history.json", torch_rows),
        ("torch2 issue pool (our sampling)", f"{R}/torch2-issue-history.json", torch_rows),
        ("torch full pool (with replacement)", f"{R}/torch-full-history.json", torch_rows),
        ("torch issue pool (with replacement)", f"{R}/torch-issue-history.json", torch_rows),
        ("torch full pool (our sampling, other impl.)", f"{R}/torch-full-oursampling-history.json", torch_rows),
        ("TS full pool (yuan-long)", "results/yuan-long/pretrain/mtl-history.json", ts_rows),
        ("TS full pool, seed 7", "results/yuan-long-seed7/pretrain/mtl-history.json", ts_rows),
    ]
    loaded = [(n, f(p)) for n, p, f in runs if os.path.exists(p)]
    print("| step | run | " + " | ".join(TASKS) + " |")
    print("|---|---|" + "---|" * len(TASKS))
    for step in range(a.every, a.max + 1, a.every):
        for name, rows in loaded:
            r = rows.get(step)
            if r is None:
                continue
            print(f"| {step} | {name} | " + " | ".join(cell(r, t, a.train) for t in TASKS) + " |")
