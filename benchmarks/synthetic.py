"""A synthetic Lead-to-Cash-shaped event log of any size, generated vectorised with numpy.

Cases walk a Markov chain over Salesforce-like activities (with rework loops,
skipped steps and lost deals), so the log has a realistic long tail of
variants; waiting times are exponential with a mean per transition, and a
share of events share a timestamp with their predecessor (same-second events),
so tie-breaking matters. Used by the benchmark and by tests that need volume.
"""

from __future__ import annotations

import numpy as np
import polars as pl

ACTIVITIES = [
    "Opportunity Created", "Stage: Prospecting", "Stage: Qualification", "Stage: Needs Analysis",
    "Stage: Value Proposition", "Stage: Proposal/Price Quote", "Quote Created",
    "Quote Approval Requested", "Quote Approved", "Quote Presented", "Quote Accepted",
    "Stage: Negotiation/Review", "Contract Created", "Contract Activated", "Closed Won",
    "Closed Lost", "Order Created", "Order Activated", "Invoice Posted", "Payment Received",
    "Amount Changed", "Close Date Pushed",
]
_END = len(ACTIVITIES)

# (from, to, weight, mean waiting hours); rows are normalised per source.
_TRANSITIONS = [
    ("Opportunity Created", "Stage: Prospecting", 8, 2), ("Opportunity Created", "Stage: Qualification", 2, 24),
    ("Stage: Prospecting", "Stage: Qualification", 8, 72), ("Stage: Prospecting", "Closed Lost", 1, 240),
    ("Stage: Prospecting", "Amount Changed", 1, 48),
    ("Stage: Qualification", "Stage: Needs Analysis", 7, 96), ("Stage: Qualification", "Closed Lost", 1, 200),
    ("Stage: Qualification", "Stage: Prospecting", 1, 48), ("Stage: Qualification", "Close Date Pushed", 1, 120),
    ("Stage: Needs Analysis", "Stage: Value Proposition", 7, 120), ("Stage: Needs Analysis", "Closed Lost", 1, 300),
    ("Stage: Value Proposition", "Stage: Proposal/Price Quote", 8, 72),
    ("Stage: Value Proposition", "Stage: Needs Analysis", 1, 48),
    ("Stage: Proposal/Price Quote", "Quote Created", 9, 4), ("Stage: Proposal/Price Quote", "Closed Lost", 1, 400),
    ("Quote Created", "Quote Approval Requested", 4, 8), ("Quote Created", "Quote Presented", 5, 24),
    ("Quote Approval Requested", "Quote Approved", 8, 60), ("Quote Approval Requested", "Quote Created", 2, 30),
    ("Quote Approved", "Quote Presented", 1, 12),
    ("Quote Presented", "Quote Accepted", 6, 96), ("Quote Presented", "Stage: Negotiation/Review", 3, 48),
    ("Quote Presented", "Closed Lost", 1, 300),
    ("Stage: Negotiation/Review", "Quote Accepted", 5, 120), ("Stage: Negotiation/Review", "Quote Created", 2, 48),
    ("Stage: Negotiation/Review", "Closed Lost", 2, 200),
    ("Quote Accepted", "Contract Created", 8, 24), ("Quote Accepted", "Closed Won", 2, 48),
    ("Contract Created", "Contract Activated", 9, 72), ("Contract Created", "Closed Lost", 1, 200),
    ("Contract Activated", "Closed Won", 10, 1),
    ("Closed Won", "Order Created", 9, 6), ("Closed Won", "END", 1, 0),
    ("Closed Lost", "END", 1, 0),
    ("Order Created", "Order Activated", 9, 24), ("Order Created", "Order Created", 1, 12),
    ("Order Activated", "Invoice Posted", 9, 48), ("Order Activated", "END", 1, 0),
    ("Invoice Posted", "Payment Received", 9, 720), ("Invoice Posted", "END", 1, 0),
    ("Payment Received", "END", 1, 0),
    ("Amount Changed", "Stage: Qualification", 1, 24), ("Close Date Pushed", "Stage: Needs Analysis", 1, 72),
]


def _tables() -> tuple[np.ndarray, np.ndarray]:
    index = {name: i for i, name in enumerate(ACTIVITIES)} | {"END": _END}
    weights = np.zeros((_END, _END + 1))
    hours = np.zeros((_END, _END + 1))
    for source, target, weight, mean in _TRANSITIONS:
        weights[index[source], index[target]] = weight
        hours[index[source], index[target]] = mean
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return cumulative, hours


def synthetic_log(n_cases: int, seed: int = 7, max_events: int = 40) -> pl.DataFrame:
    """An event log with columns ``event_id, case_id, activity, timestamp, activity_order, resource, region``.

    About 10 events per case; sorted by case id and time like the dbt mart.
    """
    rng = np.random.default_rng(seed)
    cumulative, hours = _tables()
    state = np.zeros(n_cases, dtype=np.int64)
    clock = rng.integers(1_577_836_800, 1_640_995_200, n_cases).astype(np.int64) * 1_000_000  # 2020-2021, us
    alive = np.arange(n_cases)
    cases, codes, times = [alive.copy()], [state.copy()], [clock.copy()]
    for _ in range(max_events - 1):
        u = rng.random(alive.size)
        nxt = (u[:, None] > cumulative[state[alive]]).sum(axis=1)
        nxt = np.minimum(nxt, _END)
        wait_h = hours[state[alive], nxt]
        # One step in eight happens in the same second as its predecessor.
        wait_us = (rng.exponential(1.0, alive.size) * wait_h * 3_600_000_000).astype(np.int64)
        wait_us = (wait_us // 1_000_000) * 1_000_000
        wait_us[rng.random(alive.size) < 0.125] = 0
        keep = nxt < _END
        alive = alive[keep]
        if alive.size == 0:
            break
        state[alive] = nxt[keep]
        clock[alive] += wait_us[keep]
        cases.append(alive.copy())
        codes.append(state[alive].copy())
        times.append(clock[alive].copy())
    case = np.concatenate(cases)
    step = np.concatenate([np.full(c.size, i, dtype=np.int64) for i, c in enumerate(cases)])
    order = np.lexsort((step, case))
    case, step = case[order], step[order]
    code = np.concatenate(codes)[order]
    ts = np.concatenate(times)[order]
    width = len(str(n_cases))
    regions = np.array(["EMEA", "NA", "APAC", "LATAM"])
    frame = pl.DataFrame({
        "case_no": case, "step": step, "code": code.astype(np.uint32), "ts": ts,
    })
    return frame.select(
        (pl.col("case_no").cast(pl.String).str.zfill(width) + "-" + pl.col("step").cast(pl.String)).alias("event_id"),
        ("006" + pl.col("case_no").cast(pl.String).str.zfill(width)).alias("case_id"),
        pl.col("code").replace_strict(list(range(len(ACTIVITIES))), ACTIVITIES, return_dtype=pl.String)
        .alias("activity"),
        pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("timestamp"),
        pl.col("step").alias("activity_order"),
        ("005" + (pl.col("case_no") % 97).cast(pl.String)).alias("resource"),
        pl.Series(regions[case % 4]).alias("region"),
    )
