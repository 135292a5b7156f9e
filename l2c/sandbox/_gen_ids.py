"""Salesforce record ids for the demo-org generator.

Ids look like real ones: 3-character key prefix, a 2-character pod code, a
10-character base-62 counter and Salesforce's 3-character case-safe suffix,
18 characters in all. Built with numpy, a million ids take milliseconds.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)
_POD = b"5g"


def salesforce_ids(prefix: str, n: int, start: int = 0) -> pl.Series:
    """``n`` distinct 18-character ids with key ``prefix``, numbered from ``start``."""
    if len(prefix) != 3:
        raise ValueError(f"key prefix must have 3 characters, got {prefix!r}")
    # one row per character position (contiguous columns), transposed once at the end
    chars = np.empty((18, n), dtype=np.uint8)
    chars[0:3] = np.frombuffer(prefix.encode(), dtype=np.uint8)[:, None]
    chars[3:5] = np.frombuffer(_POD, dtype=np.uint8)[:, None]
    # float64 division is exact here (counters < 2**53, remainders >= 1/62) and much faster than int divmod
    counter = np.arange(start + 1, start + n + 1, dtype=np.float64)
    for pos in range(14, 4, -1):
        quotient = np.floor(counter / 62.0)
        chars[pos] = _BASE62[(counter - quotient * 62.0).astype(np.uint8)]
        counter = quotient
    upper = ((chars[:15] >= ord("A")) & (chars[:15] <= ord("Z"))).view(np.uint8)
    for chunk in range(3):
        bits = np.zeros(n, dtype=np.uint8)
        for j in range(5):
            bits |= upper[chunk * 5 + j] << j
        chars[15 + chunk] = _SUFFIX[bits]
    chars = np.ascontiguousarray(chars.T)
    return pl.Series(chars.view("S18").ravel()).cast(pl.String)
