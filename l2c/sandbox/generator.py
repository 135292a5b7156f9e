"""The demo Salesforce org: a seeded, deterministic Lead-to-Cash org with planted behaviours.

``generate_org(n_opportunities, seed)`` simulates a sales organisation over
about three years up to a fixed ``now`` plus 90 days of future activity, and
returns a :class:`DemoOrg` whose ``tables`` hold **every version** of every
record of each object in :data:`l2c.salesforce_schema.OBJECTS` (one row per
version, ``_valid_from`` = when it became current). ``DemoOrg.snapshot``
shows the org as it looks at a given clock time; the local Salesforce API
server serves those snapshots. ``ground_truth`` documents the planted
behaviours (bottleneck, slow rep, slow contract region, skipped approvals,
rework, late payers, discount effects, won deals without accepted quote) with
their measured sizes, so analyses can be tested against it. See
``docs/demo-org.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from l2c.salesforce_schema import OBJECTS, get_object
from l2c.sandbox._gen_build import TableBuilder
from l2c.sandbox._gen_model import DISCOUNT_POLICY_PCT, FUTURE_DAYS, OrgSimulation, Plan
from l2c.sandbox._gen_tables import VALID_FROM, table_schema
from l2c.sandbox._gen_truth import ground_truth

__all__ = [
    "DEFAULT_NOW",
    "DISCOUNT_POLICY_PCT",
    "FUTURE_DAYS",
    "VALID_FROM",
    "DemoOrg",
    "Plan",
    "generate_org",
    "read_org",
    "table_schema",
    "write_org",
]

#: The org clock's initial value (fixed, so the same seed always gives the same org).
DEFAULT_NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC)

_GROUND_TRUTH_FILE = "ground_truth.json"
_META_FILE = "org.json"


@dataclass
class DemoOrg:
    """A generated org: all record versions per object, the clock's start and the ground truth."""

    seed: int
    n_opportunities: int
    now: dt.datetime
    tables: dict[str, pl.DataFrame]
    ground_truth: dict = field(default_factory=dict)

    def snapshot(self, object_name: str, at: dt.datetime | None = None, include_deleted: bool = True) -> pl.DataFrame:
        """The object's records as visible at ``at`` (default: ``now``): the last version per Id.

        Records created after ``at`` do not exist yet. Deleted records show as their deleted
        version (``IsDeleted = true``) unless ``include_deleted`` is False. History objects
        return their rows created up to ``at``.
        """
        table = self.table(object_name)
        at = self.now if at is None else _as_utc(at)
        visible = table.filter(pl.col(VALID_FROM) <= at)
        if get_object(object_name).is_history:
            return visible
        # the current version is the latest one per Id (robust to rows appended out of order)
        latest = visible.filter(pl.col(VALID_FROM) == pl.col(VALID_FROM).max().over("Id")).unique(
            "Id", keep="last", maintain_order=True)
        if not include_deleted and "IsDeleted" in latest.columns:
            latest = latest.filter(~pl.col("IsDeleted"))
        return latest

    def table(self, object_name: str) -> pl.DataFrame:
        """All versions of an object (API name, case-insensitive)."""
        try:
            return self.tables[get_object(object_name).name]
        except KeyError:
            raise KeyError(f"the demo org has no object {object_name!r}") from None

    @property
    def timeline_end(self) -> dt.datetime:
        """The last instant with generated activity (``now`` + 90 days)."""
        return self.now + dt.timedelta(days=FUTURE_DAYS)


def _as_utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise ValueError(f"clock times must be timezone-aware (UTC), got naive {when.isoformat()}")
    return when.astimezone(dt.UTC)


def generate_org(n_opportunities: int = 2000, seed: int = 42, now: dt.datetime | None = None,
                 plan: Plan | None = None) -> DemoOrg:
    """Generate the demo org: ``n_opportunities`` opportunities and everything around them.

    Same arguments, same org (bit for bit). ``now`` defaults to :data:`DEFAULT_NOW`;
    ``plan`` changes the sizes of planted behaviours (defaults documented in docs/demo-org.md).
    """
    if isinstance(n_opportunities, bool) or not isinstance(n_opportunities, numbers.Integral) or n_opportunities < 1:
        raise ValueError(f"n_opportunities must be a positive integer, got {n_opportunities!r}")
    now = DEFAULT_NOW if now is None else _as_utc(now)
    sim = OrgSimulation(int(n_opportunities), seed, now, plan)
    tables = TableBuilder(sim).build()
    plan, slow_rep_id = sim.plan, sim.user_ids[sim.slow_rep]
    # the simulation's per-opportunity arrays are not needed any more: free them before measuring
    del sim
    org = DemoOrg(seed=seed, n_opportunities=n_opportunities, now=now,
                  tables={o.name: tables.pop(o.name) for o in OBJECTS})
    org.ground_truth = ground_truth(org, plan, slow_rep_id)
    return org


def write_org(org: DemoOrg, directory: str | Path) -> Path:
    """Write the org as one Parquet file per object plus ``ground_truth.json`` and ``org.json``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in org.tables.items():
        table.write_parquet(out / f"{name}.parquet")
    meta = {"seed": org.seed, "n_opportunities": org.n_opportunities, "now": org.now.isoformat()}
    (out / _META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    (out / _GROUND_TRUTH_FILE).write_text(json.dumps(org.ground_truth, indent=2) + "\n")
    return out


def read_org(directory: str | Path) -> DemoOrg:
    """Read an org written by :func:`write_org`."""
    src = Path(directory)
    meta_path = src / _META_FILE
    if not meta_path.exists():
        raise FileNotFoundError(f"{src} holds no demo org ({_META_FILE} missing); write one with write_org()")
    meta = json.loads(meta_path.read_text())
    tables = {}
    for obj in OBJECTS:
        path = src / f"{obj.name}.parquet"
        if not path.exists():
            raise FileNotFoundError(f"demo org in {src} lacks {path.name} (object {obj.name})")
        tables[obj.name] = pl.read_parquet(path)
    truth_path = src / _GROUND_TRUTH_FILE
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else {}
    return DemoOrg(
        seed=meta["seed"], n_opportunities=meta["n_opportunities"],
        now=dt.datetime.fromisoformat(meta["now"]), tables=tables, ground_truth=truth,
    )
