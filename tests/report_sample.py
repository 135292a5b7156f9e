"""A small, seeded Lead-to-Cash DuckDB for the report tests: dbt-shaped marts plus the analysis marts.

``build_sample_db(path)`` writes ``l2c.event_log``, ``l2c.cases`` and
``l2c.lead_event_log`` shaped like the dbt marts (24 activities, rework loops,
lost deals, invoices with due dates), then the ``l2c_analysis`` tables through
the real analysis code. One opportunity and one sales rep carry the name
``<script>alert(1)</script>`` (see :data:`INJECTED`), so tests can check it is
shown as text.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

INJECTED = "<script>alert(1)</script>"

_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Proposal/Price Quote",
           "Negotiation/Review"]
_REPS = [("005A", "Alice Rossi", "EMEA"), ("005B", "Bruno Conti", "EMEA"), ("005C", INJECTED, "NA"),
         ("005D", "Dana Whitfield", "NA"), ("005E", "Élodie Ferrand", "APAC")]
_SOURCES = ["Web", "Partner Referral", "Trade Show", "Phone Inquiry"]
_INDUSTRIES = ["Manufacturing", "Retail", "Finance"]


def _walk(rng: random.Random, case: int) -> tuple[list[tuple[str, float]], bool, bool]:
    """Activities with hours waited before each, and (is_closed, is_won)."""
    steps: list[tuple[str, float]] = [("Opportunity Created", 0.0)]

    def add(activity: str, mean_hours: float) -> None:
        steps.append((activity, rng.expovariate(1 / mean_hours)))

    for i, stage in enumerate(_STAGES[:5]):
        add(f"Stage: {stage}", 30 + 20 * i)
        if rng.random() < 0.12:
            add("Amount Changed", 20)
        if rng.random() < 0.08:
            add("Close Date Pushed", 40)
        if i == 1 and rng.random() < 0.15:  # back to prospecting, then qualified again
            add("Stage: Prospecting", 24)
            add("Stage: Qualification", 48)
        if rng.random() < 0.07 + 0.02 * i:
            add("Closed Lost", 60)
            return steps, True, False
    add("Quote Created", 6)
    if rng.random() < 0.4:
        add("Quote Approval Requested", 4)
        if rng.random() < 0.2:
            add("Quote Rejected", 50)
            add("Quote Created", 10)
            add("Quote Approval Requested", 4)
        add("Quote Approved", 70)
    add("Quote Presented", 12)
    if rng.random() < 0.15:
        add("Quote Denied", 80)
        add("Closed Lost", 10)
        return steps, True, False
    add("Quote Accepted", 90)
    add(f"Stage: {_STAGES[5]}", 20)
    if case % 9 == 0:  # open deals
        return steps, False, False
    add("Contract Created", 30)
    add("Contract Activated", 120 if case % 5 == 0 else 40)
    add("Closed Won", 8)
    add("Order Created", 10)
    if rng.random() < 0.1:
        add("Order Reworked", 30)
    add("Order Activated", 20)
    add("Invoice Posted", 48)
    if case % 7 != 0:
        add("Payment Received", 24 * (55 if case % 4 == 0 else 25))
    return steps, True, True


def sample_frames(n_cases: int = 120, seed: int = 7) -> dict[str, pl.DataFrame]:
    """The three dbt marts as polars frames."""
    rng = random.Random(seed)
    origin = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
    events, cases, leads = [], [], []
    for case in range(n_cases):
        case_id = f"006{case:05d}"
        owner_id, owner_name, region = _REPS[case % len(_REPS)]
        steps, is_closed, is_won = _walk(rng, case)
        at = origin + timedelta(hours=rng.uniform(0, 24 * 180))
        amount = float(rng.choice([8_000, 25_000, 60_000, 140_000]))
        discount = rng.choice([0.0, 5.0, 12.0, 18.0, 25.0, 35.0])
        created = at
        for order, (activity, hours) in enumerate(steps):
            at = at + timedelta(hours=hours)
            due = (at + timedelta(days=30)).date() if activity == "Invoice Posted" else None
            events.append({
                "event_id": f"{case_id}-{order:03d}", "case_id": case_id, "activity": activity, "timestamp": at,
                "activity_order": order, "resource": owner_id, "resource_name": owner_name,
                "resource_role": "Account Executive", "source_object": "Opportunity", "source_id": case_id,
                "stage": activity.removeprefix("Stage: ") if activity.startswith("Stage: ") else None,
                "amount": amount, "old_value": None, "new_value": None, "due_date": due,
            })
        closed_at = at if is_closed else None
        name = INJECTED if case == 3 else f"Deal {case} — {rng.choice(['Alpha', 'Beta', 'Gamma'])} & Co"
        cases.append({
            "case_id": case_id, "opportunity_name": name, "account_name": f"Account {case % 17}",
            "owner_id": owner_id, "owner_name": owner_name, "owner_role": "Account Executive",
            "team": region, "region": region, "industry": _INDUSTRIES[case % 3],
            "lead_source": _SOURCES[case % 4], "product_category": "Software", "opportunity_type": "New Business",
            "amount": amount, "currency": "EUR", "discount_pct": discount, "is_won": is_won,
            "is_closed": is_closed, "created_at": created, "closed_at": closed_at, "first_event_at": created,
            "last_event_at": at, "event_count": len(steps),
        })
    for lead in range(int(n_cases * 1.6)):
        lead_id = f"00Q{lead:05d}"
        at = origin + timedelta(hours=rng.uniform(0, 24 * 150))
        source = _SOURCES[lead % 4]
        path = ["Lead Created", "Lead Status: Working - Contacted"]
        converted = lead < n_cases
        if converted:
            path.append("Lead Converted")
        elif rng.random() < 0.6:
            path.append("Lead Status: Closed - Not Converted")
        for order, activity in enumerate(path):
            at = at + timedelta(hours=rng.uniform(2, 90))
            leads.append({"event_id": f"{lead_id}-{order}", "case_id": lead_id, "activity": activity,
                          "timestamp": at, "activity_order": order, "lead_source": source,
                          "converted_opportunity_id": f"006{lead:05d}" if converted and activity == "Lead Converted"
                          else None})
    event_log = pl.DataFrame(events, schema_overrides={"timestamp": pl.Datetime("us", "UTC"),
                                                       "due_date": pl.Date, "old_value": pl.String,
                                                       "new_value": pl.String, "stage": pl.String})
    return {
        "event_log": event_log,
        "cases": pl.DataFrame(cases, schema_overrides={"created_at": pl.Datetime("us", "UTC"),
                                                       "closed_at": pl.Datetime("us", "UTC"),
                                                       "first_event_at": pl.Datetime("us", "UTC"),
                                                       "last_event_at": pl.Datetime("us", "UTC")}),
        "lead_event_log": pl.DataFrame(leads, schema_overrides={"timestamp": pl.Datetime("us", "UTC"),
                                                                "converted_opportunity_id": pl.String}),
    }


def write_marts(path: Path, frames: dict[str, pl.DataFrame]) -> None:
    con = duckdb.connect(str(path))
    try:
        # Fully qualified: a file named l2c.duckdb has a catalog "l2c" as well as the schema "l2c".
        schema = f'"{con.execute("select current_database()").fetchall()[0][0]}"."l2c"'
        con.execute(f"create schema if not exists {schema}")
        for name, frame in frames.items():
            con.register("frame", frame)
            con.execute(f"create or replace table {schema}.{name} as select * from frame")
            con.unregister("frame")
    finally:
        con.close()


def write_analysis(path: Path) -> None:
    """The ``l2c_analysis`` marts, computed by the analysis library from the dbt-shaped marts."""
    from analysis import marts

    marts.write_analysis_marts(path, progress=None)


def build_sample_db(path: Path, n_cases: int = 120, seed: int = 7) -> Path:
    write_marts(path, sample_frames(n_cases, seed))
    write_analysis(path)
    return path


if __name__ == "__main__":  # python tests/report_sample.py /tmp/sample.duckdb
    import sys

    print(build_sample_db(Path(sys.argv[1])))
