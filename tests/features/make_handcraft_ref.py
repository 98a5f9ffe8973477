"""Regenerate handcraft_ref.json: reference values of ssl-wearables'
hand-crafted features computed with NumPy/SciPy (same calls as
ssl-wearables' handcraft_features) on deterministic synthetic windows.
Run: python3 tests/features/make_handcraft_ref.py"""
import json, os
import numpy as np
from scipy import signal, stats

def feats(xyz, fs):
    f = {}
    f["xMean"], f["yMean"], f["zMean"] = np.mean(xyz, axis=0)
    f["xStd"], f["yStd"], f["zStd"] = np.std(xyz, axis=0)
    f["xRange"], f["yRange"], f["zRange"] = np.ptp(xyz, axis=0)
    x, y, z = xyz.T
    with np.errstate(divide="ignore", invalid="ignore"):
        f["xyCorr"] = np.nan_to_num(np.corrcoef(x, y)[0, 1])
        f["yzCorr"] = np.nan_to_num(np.corrcoef(y, z)[0, 1])
        f["zxCorr"] = np.nan_to_num(np.corrcoef(z, x)[0, 1])
    m = np.linalg.norm(xyz, axis=1)
    f["mean"] = np.mean(m); f["std"] = np.std(m); f["range"] = np.ptp(m)
    f["mad"] = stats.median_abs_deviation(m)
    if f["std"] > 0.01:
        f["skew"] = np.nan_to_num(stats.skew(m)); f["kurt"] = np.nan_to_num(stats.kurtosis(m))
    else:
        f["skew"] = f["kurt"] = 0
    f["enmomean"] = np.mean(np.abs(m - 1))
    _, p = signal.welch(m, fs=fs, nperseg=3 * fs, noverlap=2 * fs, detrend=False, average="median")
    with np.errstate(divide="ignore", invalid="ignore"):
        f["pentropy"] = np.nan_to_num(stats.entropy(p + 1e-16))
    fr, p = signal.welch(m, fs=fs, nperseg=3 * fs, noverlap=2 * fs, detrend="constant", average="median")
    pk, _ = signal.find_peaks(p)
    pp, pf = p[pk], fr[pk]
    r = np.argsort(pp)[::-1]
    if len(pk) >= 2: f["f1"], f["f2"] = pf[r[0]], pf[r[1]]
    elif len(pk) == 1: f["f1"] = f["f2"] = pf[r[0]]
    else: f["f1"] = f["f2"] = 0
    return {k: float(v) for k, v in f.items()}, fr.tolist(), p.tolist()

rs = np.random.RandomState(0)
fs = 30
t = np.arange(300) / fs
cases = []
# walking-like, wrist-like, noise, still
sigs = [
    np.stack([0.3 * np.sin(2 * np.pi * 1.8 * t), 0.2 * np.sin(2 * np.pi * 3.6 * t + 1), 1 + 0.1 * np.sin(2 * np.pi * 0.9 * t)], 1),
    np.stack([0.5 * np.sin(2 * np.pi * 0.4 * t) + 0.05 * rs.randn(300), -0.7 + 0.05 * rs.randn(300), 0.7 + 0.2 * np.cos(2 * np.pi * 0.4 * t)], 1),
    rs.randn(300, 3) * 0.4 + np.array([0, 0, 1]),
    np.tile(np.array([[0.0, 0.0, 1.0]]), (300, 1)) + 0.001 * rs.randn(300, 3),
]
for s in sigs:
    s = s.astype(np.float32).astype(np.float64)
    f, fr, p = feats(s, fs)
    cases.append({"rateHz": fs, "x": s[:, 0].tolist(), "y": s[:, 1].tolist(), "z": s[:, 2].tolist(), "features": f, "welchFreqs": fr, "welchPsd": p})
out = os.path.join(os.path.dirname(__file__), "handcraft_ref.json")
json.dump(cases, open(out, "w"))
print("wrote", out)
