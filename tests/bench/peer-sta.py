#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Copyright 2026 The Imprint authors
"""A straightforward connection finder written with NumPy and SciPy, the
way one would without Imprint; the analysis benchmark compares against it.

usage: peer-sta.py RECORDING.h5 MAP.csv

- Reads /data of an Imprint native recording with h5py, scales it to mV.
- APs: upward crossings of -20 mV, at least 2 ms apart, placed at the
  peak within 2 ms after the crossing.
- Cells: channels with APs, or whose median lies between -100 and -20 mV.
- For every ordered pair (pre with at least 3 APs, post a cell): the
  spike-triggered average (STA) of the post signal around the pre APs,
  each trial less its mean over the 5 ms before the AP, trials in which
  the post cell fires from 30 ms before to 25 ms after left out.
- Delay scan: the response is the largest |mean of the STA over 1 ms|
  starting 0.5 to 10 ms after the AP.
- Null: the same statistic from 50 sets of random trigger times, as many
  as the APs; a z-score against their mean and SD gives a normal p-value.
- Benjamini-Hochberg over all pairs; pairs with q <= 0.001 are written as
  MAP.csv rows.
"""

import sys
import warnings

import h5py
import numpy as np
from scipy import stats

ALPHA = 0.001
N_NULL = 50
PRE_MS, POST_MS = 5.0, 25.0
SCAN_FROM_MS, SCAN_TO_MS, SCAN_WIDTH_MS = 0.5, 10.0, 1.0
GUARD_MS = 30.0


def find_aps(v, fs):
    """AP peaks: upward crossings of -20 mV, 2 ms apart, at the peak."""
    up = np.flatnonzero((v[:-1] < -20.0) & (v[1:] >= -20.0)) + 1
    search = int(round(2.0 * fs / 1000))
    peaks = []
    last = -10 ** 9
    for i in up:
        if i - last < search:
            continue
        j = i + int(np.argmax(v[i:i + search]))
        peaks.append(j)
        last = j
    return np.array(peaks, dtype=np.int64)


def scan(x, triggers, excluded, pre, post, scan_lo, scan_hi, width):
    """Per post channel: the STA's largest |1-ms mean| in the scan and the
    signed value and delay there."""
    offsets = np.arange(-pre, scan_hi + width)
    windows = x[:, triggers[:, None] + offsets[None, :]]
    windows = windows - windows[:, :, :pre].mean(axis=2, keepdims=True)
    windows[excluded] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all excluded
        sta = np.nanmean(windows, axis=1)
    csum = np.concatenate([np.zeros((sta.shape[0], 1)),
                           np.cumsum(sta, axis=1)], axis=1)
    starts = pre + np.arange(scan_lo, scan_hi + 1)
    means = (csum[:, starts + width] - csum[:, starts]) / width
    best = np.nanargmax(np.abs(np.nan_to_num(means)), axis=1)
    rows = np.arange(sta.shape[0])
    return np.abs(means[rows, best]), means[rows, best], best + scan_lo


def excluded_trials(aps, triggers, before, after):
    """Per post channel and trigger: the post cell fires near it."""
    out = np.zeros((len(aps), len(triggers)), dtype=bool)
    for c, t in enumerate(aps):
        if len(t) == 0:
            continue
        lo = np.searchsorted(t, triggers - before)
        hi = np.searchsorted(t, triggers + after, side="right")
        out[c] = hi > lo
    return out


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    with h5py.File(path, "r") as f:
        fs = float(f.attrs["sample_rate_hz"])
        raw = f["data"][...]
        gain = f["channels/gain"][...]
        offset = f["channels/offset"][...]
        labels = [s.decode() if isinstance(s, bytes) else str(s)
                  for s in f["channels/label"][...]]
    x = (raw.T.astype(np.float32) * gain[:, None].astype(np.float32)
         + offset[:, None].astype(np.float32))
    n_ch, n = x.shape
    per_ms = fs / 1000.0
    pre = int(round(PRE_MS * per_ms))
    post = int(round(POST_MS * per_ms))
    scan_lo = int(round(SCAN_FROM_MS * per_ms))
    scan_hi = int(round(SCAN_TO_MS * per_ms))
    width = max(1, int(round(SCAN_WIDTH_MS * per_ms)))
    guard = int(round(GUARD_MS * per_ms))

    aps = [find_aps(x[c], fs) for c in range(n_ch)]
    medians = np.median(x, axis=1)
    cells = np.array([len(aps[c]) > 0 or -100 <= medians[c] <= -20
                      for c in range(n_ch)])
    rng = np.random.default_rng(1)

    tested = []    # (pre, post, value, delay, p)
    for p in range(n_ch):
        t = aps[p]
        t = t[(t - pre >= 0) & (t + scan_hi + width < n)]
        if not cells[p] or len(t) < 3:
            continue
        excl = excluded_trials(aps, t, guard, post)
        stat, value, delay = scan(x, t, excl, pre, post, scan_lo, scan_hi,
                                  width)
        null = np.empty((N_NULL, n_ch))
        for k in range(N_NULL):
            r = np.sort(rng.integers(pre, n - scan_hi - width, len(t)))
            null[k] = scan(x, r, excluded_trials(aps, r, guard, post), pre,
                           post, scan_lo, scan_hi, width)[0]
        mu = null.mean(axis=0)
        sd = null.std(axis=0, ddof=1)
        z = (stat - mu) / np.where(sd > 0, sd, np.inf)
        pvals = stats.norm.sf(z)
        for q in range(n_ch):
            if q != p and cells[q]:
                tested.append((p, q, value[q], delay[q], pvals[q], len(t)))

    m = len(tested)
    order = np.argsort([row[4] for row in tested], kind="stable")
    ranked = np.array([tested[i][4] for i in order]) * m / np.arange(1, m + 1)
    qvals = np.empty(m)
    qvals[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])

    with open(out_path, "w") as out:
        out.write("pre,post,pre_label,post_label,sign,amplitude_mv,"
                  "latency_ms,p_value,n_pre_aps\n")
        for (p, q, value, delay, _, n_aps), qv in zip(tested, qvals):
            if qv <= ALPHA:
                out.write("%d,%d,%s,%s,%s,%.6g,%.3f,%.6g,%d\n"
                          % (p, q, labels[p], labels[q],
                             "E" if value > 0 else "I", value,
                             delay / per_ms, qv, n_aps))


if __name__ == "__main__":
    main()
