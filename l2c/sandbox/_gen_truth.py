"""Ground truth of the demo org: the planted behaviours and their measured sizes.

Every figure is measured on the org *as visible at ``now``* (the clock's initial
value) from the generated tables themselves, so a test or an analysis that
reads the same tables (or the extracted raw layer) can reproduce it exactly.
:func:`opportunity_event_log` is the reference event log used for the
waiting-time figures; it names activities like the default activity catalog.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from l2c.salesforce_schema import OPPORTUNITY_STAGES
from l2c.sandbox._gen_model import DISCOUNT_POLICY_PCT, FUTURE_DAYS

if TYPE_CHECKING:
    from l2c.sandbox._gen_model import Plan
    from l2c.sandbox.generator import DemoOrg

FORMAT_VERSION = 1
DAY_US = 86_400_000_000

#: Default activity catalog (DESIGN.md), in the order used to break same-instant ties.
ACTIVITIES: tuple[str, ...] = (
    "Lead Created", "Lead Converted", "Opportunity Created",
    *[f"Stage: {s[0]}" for s in OPPORTUNITY_STAGES if not s[2]],
    "Amount Changed", "Close Date Pushed", "Owner Changed",
    "Quote Created", "Quote Approval Requested", "Quote Approved", "Quote Rejected", "Quote Presented",
    "Quote Accepted", "Quote Denied", "Contract Created", "Contract Activated", "Closed Won", "Closed Lost",
    "Order Created", "Order Activated", "Order Reworked", "Invoice Posted", "Payment Received",
)
_OPEN_STAGE_ORDER = {s[0]: i for i, s in enumerate(OPPORTUNITY_STAGES) if not s[2]}


def _days(expr: pl.Expr) -> pl.Expr:
    """A duration expression in (fractional) days."""
    return expr.dt.total_microseconds() / DAY_US


def _first_versions(table: pl.DataFrame) -> pl.DataFrame:
    return table.filter((pl.col("Id") != pl.col("Id").shift(1)).fill_null(True))


def _changes_to(table: pl.DataFrame, field: str) -> pl.DataFrame:
    """Versions where ``field`` took a new value (not the first version)."""
    same = (pl.col("Id") == pl.col("Id").shift(1)).fill_null(False)
    return table.filter(same & pl.col(field).ne_missing(pl.col(field).shift(1)))


class _Visible:
    """Column-minimal views of the org as visible at one instant (keeps memory low at 1M opportunities).

    Relies on the generator's row order: versions grouped by Id, in time order.
    """

    def __init__(self, org: DemoOrg, at: dt.datetime):
        self.org, self.at = org, at

    def versions(self, name: str, *columns: str, where: pl.Expr | None = None) -> pl.DataFrame:
        """All versions up to ``at`` (and matching ``where``), with Id, _valid_from and ``columns``."""
        wanted = list(dict.fromkeys(["Id", "_valid_from", *columns]))
        visible = pl.col("_valid_from") <= self.at
        return (self.org.tables[name].lazy()
                .filter(visible if where is None else visible & where).select(wanted).collect())

    def latest(self, name: str, *columns: str) -> pl.DataFrame:
        """The current version per Id at ``at`` (deleted records included), with ``columns``."""
        v = self.versions(name, *columns)
        return v.filter((pl.col("Id") != pl.col("Id").shift(-1)).fill_null(True))

    def count(self, name: str) -> int:
        """Records existing at ``at``: first versions (rows are grouped by Id) up to ``at``."""
        first = (pl.col("Id") != pl.col("Id").shift(1)).fill_null(True)
        return self.org.tables[name].lazy().select(
            (first & (pl.col("_valid_from") <= self.at)).sum()).collect().item()


#: Activity names as an Enum in catalog order: sorting by it sorts by catalog position.
_ACTIVITY = pl.Enum(ACTIVITIES)


def opportunity_event_log(org: DemoOrg, at: dt.datetime | None = None) -> pl.DataFrame:
    """The opportunities' events up to ``at`` (default ``now``), named like the default activity catalog.

    Columns: ``case_id`` (Opportunity Id), ``activity``, ``timestamp``, ``activity_order``
    (catalog position, breaks same-instant ties), ``source_object``, ``source_id``.
    """
    log = _event_log(_Visible(org, org.now if at is None else at), sources=True)
    return log.select(
        pl.col("case_id").cast(pl.String), pl.col("activity").cast(pl.String), "timestamp",
        pl.col("activity").to_physical().cast(pl.Int64).alias("activity_order"), "source_object", "source_id")


def _event_log(v: _Visible, sources: bool) -> pl.DataFrame:
    """Events sorted by case, timestamp and catalog position; ``activity`` is :data:`_ACTIVITY`.

    Without ``sources`` (the ground truth's own use) only case_id, activity and timestamp are
    built, which keeps a 1M-opportunity log small.
    """
    parts: list[pl.DataFrame] = []

    def add(frame: pl.DataFrame, case: str, activity: pl.Expr, timestamp: str, source: str,
            source_id: str = "Id") -> None:
        columns = [pl.col(case).alias("case_id"), activity.cast(_ACTIVITY).alias("activity"),
                   pl.col(timestamp).alias("timestamp")]
        if sources:
            columns += [pl.lit(source).alias("source_object"), pl.col(source_id).cast(pl.String).alias("source_id")]
        parts.append(frame.select(columns))

    add(_first_versions(v.versions("Opportunity", "CreatedDate")), "Id", pl.lit("Opportunity Created"),
        "CreatedDate", "Opportunity")
    # the first stage comes from the creation snapshot, the others from field history
    # (history rows are grouped by opportunity in time order: a group's first row is its first visible one)
    first_stage = v.versions("OpportunityHistory", "OpportunityId", "CreatedDate", "StageName",
                             where=(pl.col("OpportunityId") != pl.col("OpportunityId").shift(1)).fill_null(True))
    add(first_stage, "OpportunityId", pl.lit("Stage: ") + pl.col("StageName"), "CreatedDate", "OpportunityHistory")
    del first_stage
    closed = [s[0] for s in OPPORTUNITY_STAGES if s[2]]
    history_columns = ("OpportunityId", "CreatedDate", "OldValue", "NewValue")
    stage = v.versions("OpportunityFieldHistory", *history_columns, where=pl.col("Field") == "StageName")
    add(stage, "OpportunityId", pl.when(pl.col("NewValue").is_in(closed)).then(pl.col("NewValue"))
        .otherwise(pl.lit("Stage: ") + pl.col("NewValue")), "CreatedDate", "OpportunityFieldHistory")
    del stage
    other = {
        "Amount Changed": pl.col("Field") == "Amount",
        "Close Date Pushed": (pl.col("Field") == "CloseDate")
        & (pl.col("NewValue").cast(pl.String) > pl.col("OldValue").cast(pl.String)),
        "Owner Changed": pl.col("Field") == "Owner",
    }
    for activity, cond in other.items():
        add(v.versions("OpportunityFieldHistory", *history_columns, where=cond), "OpportunityId",
            pl.lit(activity), "CreatedDate", "OpportunityFieldHistory")
    quote = v.versions("Quote", "OpportunityId", "CreatedDate", "Status")
    add(_first_versions(quote), "OpportunityId", pl.lit("Quote Created"), "CreatedDate", "Quote")
    status = _changes_to(quote, "Status").filter(pl.col("Status").is_in(["Presented", "Accepted", "Denied"]))
    add(status, "OpportunityId", pl.lit("Quote ") + pl.col("Status"), "_valid_from", "Quote")
    quote_opp = _first_versions(quote).select(pl.col("Id").alias("TargetObjectId"), pl.col("OpportunityId"))
    del quote, status
    pi = v.versions("ProcessInstance", "TargetObjectId", "CreatedDate", "Status").join(
        quote_opp, on="TargetObjectId", how="inner")
    add(_first_versions(pi), "OpportunityId", pl.lit("Quote Approval Requested"), "CreatedDate", "ProcessInstance")
    decided = _changes_to(pi, "Status").filter(pl.col("Status").is_in(["Approved", "Rejected"]))
    add(decided, "OpportunityId", pl.lit("Quote ") + pl.col("Status"), "_valid_from", "ProcessInstance")
    del pi, decided, quote_opp
    contract_opp = (v.versions("Opportunity", "ContractId", where=pl.col("ContractId").is_not_null())
                    .unique("Id", keep="last").select(pl.col("ContractId"), pl.col("Id").alias("case_id")))
    contract = v.versions("Contract", "CreatedDate", "Status").join(
        contract_opp, left_on="Id", right_on="ContractId", how="inner")
    add(_first_versions(contract), "case_id", pl.lit("Contract Created"), "CreatedDate", "Contract")
    add(_changes_to(contract, "Status").filter(pl.col("Status") == "Activated"), "case_id",
        pl.lit("Contract Activated"), "_valid_from", "Contract")
    del contract, contract_opp
    order = v.versions("Order", "OpportunityId", "CreatedDate", "Status", "TotalAmount")
    add(_first_versions(order), "OpportunityId", pl.lit("Order Created"), "CreatedDate", "Order")
    add(_changes_to(order, "Status").filter(pl.col("Status") == "Activated"), "OpportunityId",
        pl.lit("Order Activated"), "_valid_from", "Order")
    add(_order_reworks(order), "OpportunityId", pl.lit("Order Reworked"), "_valid_from", "Order")
    order_opp = _first_versions(order).select(pl.col("Id").alias("blng__Order__c"), pl.col("OpportunityId"))
    del order
    invoice = v.versions("blng__Invoice__c", "blng__Order__c", "blng__InvoiceStatus__c").join(
        order_opp, on="blng__Order__c", how="inner")
    add(_changes_to(invoice, "blng__InvoiceStatus__c").filter(pl.col("blng__InvoiceStatus__c") == "Posted"),
        "OpportunityId", pl.lit("Invoice Posted"), "_valid_from", "blng__Invoice__c")
    invoice_opp = _first_versions(invoice).select(pl.col("Id").alias("blng__Invoice__c"), "OpportunityId")
    del invoice, order_opp
    paid = _first_versions(v.versions("blng__Payment__c", "CreatedDate")).select(
        pl.col("Id").alias("blng__Payment__c"), pl.col("CreatedDate").alias("paid_at"))
    payments = (v.latest("blng__PaymentAllocationInvoice__c", "blng__Invoice__c", "blng__Payment__c")
                .join(invoice_opp, on="blng__Invoice__c").join(paid, on="blng__Payment__c"))
    add(payments, "OpportunityId", pl.lit("Payment Received"), "paid_at", "blng__Payment__c", "blng__Payment__c")
    del payments, paid, invoice_opp
    log = pl.concat(parts, rechunk=False)
    parts.clear()
    return log.sort(["case_id", "timestamp", "activity"])


def _order_reworks(order: pl.DataFrame) -> pl.DataFrame:
    """Order versions that change TotalAmount after the order was activated."""
    same = (pl.col("Id") == pl.col("Id").shift(1)).fill_null(False)
    was_active = pl.col("Status").shift(1) == "Activated"
    return order.filter(same & was_active & pl.col("TotalAmount").ne_missing(pl.col("TotalAmount").shift(1)))


def directly_follows_waits(log: pl.DataFrame) -> pl.DataFrame:
    """Waiting time per directly-follows pair (``log`` sorted by case, timestamp, activity order): transitions, total/mean/median days, share of all waiting."""
    # the log is sorted by case: the next row is the next event when it belongs to the same case
    edges = log.lazy().select(
        pl.col("activity").alias("from_activity"),
        pl.col("activity").shift(-1).alias("to_activity"),
        wait_days=_days(pl.col("timestamp").shift(-1) - pl.col("timestamp")),
        same_case=(pl.col("case_id") == pl.col("case_id").shift(-1)).fill_null(False),
    ).filter("same_case")
    out = edges.group_by("from_activity", "to_activity").agg(
        transitions=pl.len(), total_wait_days=pl.col("wait_days").sum(),
        mean_wait_days=pl.col("wait_days").mean(), median_wait_days=pl.col("wait_days").median(),
    ).collect()
    return out.with_columns(
        pl.col("from_activity", "to_activity").cast(pl.String),
        share_of_total_wait=pl.col("total_wait_days") / pl.col("total_wait_days").sum(),
    ).sort(["total_wait_days", "from_activity", "to_activity"], descending=[True, False, False])


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(float(x), digits)


def _ids(df: pl.DataFrame, column: str) -> list[str]:
    return sorted(df[column].unique().to_list())


def ground_truth(org: DemoOrg, plan: Plan, slow_rep_id: str) -> dict:
    """The ground-truth document (``ground_truth.json``) of an org generated with ``plan``."""
    now = org.now
    v = _Visible(org, now)
    log = _event_log(v, sources=False)
    bottleneck = _bottleneck(log, plan)
    slow_rep = _slow_rep(v, log, slow_rep_id, plan)
    del log
    opp = v.latest("Opportunity", "IsWon", "IsClosed", "CloseDate")
    won = opp.filter(pl.col("IsWon"))
    lost = opp.filter(pl.col("IsClosed") & ~pl.col("IsWon"))
    leads = v.latest("Lead", "IsDeleted", "IsConverted").filter(~pl.col("IsDeleted"))
    plan_fields = dataclasses.asdict(plan)
    return {
        "format_version": FORMAT_VERSION,
        "generator": {
            "seed": org.seed, "n_opportunities": org.n_opportunities, "now": now.isoformat(),
            "timeline_end": (now + dt.timedelta(days=FUTURE_DAYS)).isoformat(),
            "measured_at": now.isoformat(), "discount_policy_pct": DISCOUNT_POLICY_PCT, "plan": plan_fields,
        },
        "counts": {
            "opportunities": opp.height, "won": won.height, "lost": lost.height,
            "open": opp.height - won.height - lost.height,
            "leads": leads.height, "converted_leads": int(leads["IsConverted"].sum()),
            **{f"rows_at_now.{name}": v.count(name) for name in org.tables},
        },
        "activities": list(ACTIVITIES),
        "behaviours": {
            "bottleneck": bottleneck,
            "slow_rep": slow_rep,
            "slow_contract_approval_region": _slow_contract_region(v, plan),
            "discount_above_policy_without_approval": _skipped_approvals(v, won, plan),
            "rework": _rework(v),
            "late_paying_segment": _late_payers(v, plan),
            "discount_effects": _discount_effects(v, plan),
            "won_without_accepted_quote": _won_without_accepted_quote(v, won, plan),
            "quarter_end_push": _quarter_end_push(won, plan),
            "non_standard_contract_terms": _non_standard_terms(v),
            "lead_conversion": {
                "leads": leads.height, "converted": int(leads["IsConverted"].sum()),
                "conversion_rate": _r(leads["IsConverted"].mean()),
                "how_to_detect": "Lead.IsConverted / LeadHistory rows with Field = 'leadConverted'",
            },
        },
    }


def _bottleneck(log: pl.DataFrame, plan: Plan) -> dict:
    frm, to = "Stage: Proposal/Price Quote", "Quote Created"
    waits = directly_follows_waits(log)
    edge = waits.filter((pl.col("from_activity") == frm) & (pl.col("to_activity") == to))
    rank = waits.with_row_index("rank", offset=1).filter(
        (pl.col("from_activity") == frm) & (pl.col("to_activity") == to))["rank"]
    runner_up = waits.filter(~((pl.col("from_activity") == frm) & (pl.col("to_activity") == to))).row(0, named=True)
    e = edge.row(0, named=True) if edge.height else {}
    return {
        "from_activity": frm, "to_activity": to,
        "description": "Quotes are created long after the opportunity reaches Proposal/Price Quote.",
        "planted": {"mean_business_days": plan.bottleneck_mean_business_days,
                    "other_stage_steps_mean_business_days": 4.0},
        "measured": {
            "transitions": e.get("transitions", 0), "mean_wait_days": _r(e.get("mean_wait_days")),
            "median_wait_days": _r(e.get("median_wait_days")), "total_wait_days": _r(e.get("total_wait_days"), 1),
            "share_of_total_wait": _r(e.get("share_of_total_wait")),
            "rank_by_total_wait": int(rank[0]) if rank.len() else None,
            "runner_up": {"from_activity": runner_up["from_activity"], "to_activity": runner_up["to_activity"],
                          "share_of_total_wait": _r(runner_up["share_of_total_wait"])},
        },
        "how_to_detect": ("Directly-follows waiting times of the opportunity event log (events up to now, sorted by "
                          "timestamp then catalog order): this pair has the largest total waiting time."),
    }


def _cycle_times(log: pl.DataFrame) -> pl.DataFrame:
    """Per closed opportunity: created, closed, cycle_days and whether it was won."""
    created = log.filter(pl.col("activity") == "Opportunity Created").select("case_id", created="timestamp")
    closed = log.filter(pl.col("activity").is_in(["Closed Won", "Closed Lost"])).group_by("case_id").agg(
        closed=pl.col("timestamp").max(), won=(pl.col("activity") == "Closed Won").last())
    return created.join(closed, on="case_id").with_columns(cycle_days=_days(pl.col("closed") - pl.col("created")))


def _slow_rep(v: _Visible, log: pl.DataFrame, rep_id: str, plan: Plan) -> dict:
    owners = v.latest("Opportunity", "OwnerId").select(pl.col("Id").alias("case_id"), "OwnerId")
    cycles = _cycle_times(log).join(owners, on="case_id").filter(pl.col("won"))
    rep = cycles.filter(pl.col("OwnerId") == rep_id)
    others = cycles.filter(pl.col("OwnerId") != rep_id)
    per_rep = cycles.group_by("OwnerId").agg(pl.col("cycle_days").mean()).sort(["cycle_days", "OwnerId"],
                                                                               descending=True)
    rep_name = v.latest("User", "Name").filter(pl.col("Id") == rep_id)["Name"][0]
    return {
        "user_id": rep_id, "name": rep_name,
        "description": "Every waiting time the rep controls is doubled on this rep's opportunities.",
        "planted": {"waiting_time_factor": plan.slow_rep_factor},
        "measured": {
            "won_opportunities": rep.height, "mean_won_cycle_days": _r(rep["cycle_days"].mean()),
            "others_won_opportunities": others.height,
            "others_mean_won_cycle_days": _r(others["cycle_days"].mean()),
            "ratio": _r(rep["cycle_days"].mean() / others["cycle_days"].mean()) if rep.height else None,
            "slowest_rep_by_mean_won_cycle": per_rep["OwnerId"][0] if per_rep.height else None,
        },
        "how_to_detect": ("Won cycle time = Closed Won timestamp - Opportunity Created, over deals won by now, "
                          "grouped by current OwnerId (this rep's deals never change owner)."),
    }


def _contract_approval(v: _Visible) -> pl.DataFrame:
    contract = v.versions("Contract", "AccountId", "CreatedDate", "Status")
    created = _first_versions(contract).select("Id", "AccountId", created="CreatedDate")
    activated = _changes_to(contract, "Status").filter(pl.col("Status") == "Activated").select(
        "Id", activated="_valid_from")
    in_approval = _changes_to(contract, "Status").filter(pl.col("Status") == "In Approval Process").select(
        "Id", in_approval="_valid_from")
    region = v.latest("Account", "Region__c").select(pl.col("Id").alias("AccountId"), "Region__c")
    return (created.join(in_approval, on="Id").join(activated, on="Id").join(region, on="AccountId")
            .with_columns(created_to_activated_days=_days(pl.col("activated") - pl.col("created")),
                          approval_days=_days(pl.col("activated") - pl.col("in_approval"))))


def _slow_contract_region(v: _Visible, plan: Plan) -> dict:
    region = plan.slow_contract_region
    c = _contract_approval(v)
    # picklists are Enums (picklist order): the document lists regions alphabetically
    per_region = c.group_by(pl.col("Region__c").cast(pl.String)).agg(
        contracts=pl.len(), mean_days=pl.col("created_to_activated_days").mean(),
        mean_approval_days=pl.col("approval_days").mean()).sort("Region__c")
    slow = c.filter(pl.col("Region__c") == region)
    others = c.filter(pl.col("Region__c") != region)
    return {
        "region": region, "from_activity": "Contract Created", "to_activity": "Contract Activated",
        "description": f"Contracts of {region} accounts wait much longer in 'In Approval Process' before Activated.",
        "planted": {"mean_approval_business_days": plan.slow_contract_mean_business_days,
                    "other_regions_mean_approval_business_days": plan.contract_mean_business_days},
        "measured": {
            "contracts": slow.height, "mean_days": _r(slow["created_to_activated_days"].mean()),
            "others_contracts": others.height, "others_mean_days": _r(others["created_to_activated_days"].mean()),
            "ratio": _r(slow["created_to_activated_days"].mean() / others["created_to_activated_days"].mean())
            if slow.height and others.height else None,
            "per_region": {r["Region__c"]: {"contracts": r["contracts"], "mean_days": _r(r["mean_days"]),
                                           "mean_approval_days": _r(r["mean_approval_days"])}
                           for r in per_region.iter_rows(named=True)},
        },
        "how_to_detect": ("Contract Created -> Contract Activated (ContractHistory Status rows), activated by now, "
                          "grouped by Account.Region__c."),
    }


def _accepted_quotes(v: _Visible) -> pl.DataFrame:
    return v.latest("Quote", "OpportunityId", "Status", "Discount").filter(pl.col("Status") == "Accepted")


def _skipped_approvals(v: _Visible, won: pl.DataFrame, plan: Plan) -> dict:
    accepted = _accepted_quotes(v).join(won.select(pl.col("Id").alias("OpportunityId")), on="OpportunityId")
    approvals = v.latest("ProcessInstance", "TargetObjectId").select(pl.col("TargetObjectId").alias("Id")).unique()
    above = accepted.filter(pl.col("Discount") > DISCOUNT_POLICY_PCT)
    skipped = above.join(approvals, on="Id", how="anti")
    return {
        "policy": f"Quotes with Discount > {DISCOUNT_POLICY_PCT:g}% need an approved ProcessInstance",
        "description": "A known share of quotes above the policy skip the approval process.",
        "planted": {"skipped_share_of_quotes_above_policy": plan.approval_skipped_share},
        "measured": {
            "won_opportunities": won.height, "won_with_accepted_quote_above_policy": above.height,
            "won_above_policy_without_approval": skipped.height,
            "share_of_won": _r(skipped.height / won.height if won.height else 0.0, 4),
            "share_of_won_above_policy": _r(skipped.height / above.height if above.height else 0.0, 4),
        },
        "opportunity_ids": _ids(skipped, "OpportunityId"),
        "quote_ids": _ids(skipped, "Id"),
        "how_to_detect": ("Won opportunities whose Accepted quote has Discount > 20 and no ProcessInstance with "
                          "TargetObjectId = that quote."),
    }


def _rework(v: _Visible) -> dict:
    def rank(column: str) -> pl.Expr:
        """Position of an open stage in the picklist (null for closed stages)."""
        return pl.col(column).replace_strict(list(_OPEN_STAGE_ORDER), list(_OPEN_STAGE_ORDER.values()),
                                             default=None, return_dtype=pl.Int64)

    back = v.versions("OpportunityFieldHistory", "OpportunityId", "OldValue", "NewValue",
                      where=(pl.col("Field") == "StageName") & (rank("NewValue") < rank("OldValue")))
    moves = back.group_by(pl.col("OldValue", "NewValue").cast(pl.String)).len().sort("len", descending=True)
    quotes = _first_versions(v.versions("Quote", "OpportunityId"))
    reissued = quotes.group_by("OpportunityId").agg(quotes=pl.len()).filter(pl.col("quotes") >= 2)
    reworks = _order_reworks(v.versions("Order", "OpportunityId", "Status", "TotalAmount"))
    return {
        "stage_backwards": {
            "description": "The first quote is denied, the stage goes back from Negotiation/Review to "
                           "Proposal/Price Quote and a revised quote follows.",
            "measured": {"opportunities": back["OpportunityId"].n_unique(), "moves": back.height,
                         "transitions": [{"from": r["OldValue"], "to": r["NewValue"], "count": r["len"]}
                                         for r in moves.iter_rows(named=True)]},
            "opportunity_ids": _ids(back, "OpportunityId"),
            "how_to_detect": "OpportunityFieldHistory StageName rows whose NewValue sorts before OldValue.",
        },
        "quote_reissued": {
            "description": "A second quote on the same opportunity, after an approval rejection or a customer denial.",
            "measured": {"opportunities": reissued.height},
            "opportunity_ids": _ids(reissued, "OpportunityId"),
            "how_to_detect": "More than one Quote per OpportunityId ('Quote Created' twice in a case).",
        },
        "order_reworked": {
            "description": "Activated orders later amended: a later version with a different TotalAmount.",
            "measured": {"orders": reworks["Id"].n_unique()},
            "order_ids": _ids(reworks, "Id"),
            "opportunity_ids": _ids(reworks, "OpportunityId"),
            "how_to_detect": "Order versions after Status = Activated with a changed TotalAmount ('Order Reworked').",
        },
    }


def _payments(v: _Visible) -> pl.DataFrame:
    """Paid invoices up to now with days late, days to pay, segment, opportunity and accepted discount."""
    inv = v.latest("blng__Invoice__c", "blng__Account__c", "blng__Order__c", "blng__InvoiceDate__c",
                   "blng__DueDate__c", "blng__TotalAmount__c")
    alloc = v.latest("blng__PaymentAllocationInvoice__c", "blng__Invoice__c", "blng__Payment__c").select(
        "blng__Invoice__c", "blng__Payment__c")
    pay = v.latest("blng__Payment__c", "blng__PaymentDate__c").select(
        pl.col("Id").alias("blng__Payment__c"), "blng__PaymentDate__c")
    order = v.latest("Order", "OpportunityId").select(pl.col("Id").alias("blng__Order__c"), "OpportunityId")
    seg = v.latest("Account", "Customer_Segment__c").select(
        pl.col("Id").alias("blng__Account__c"), "Customer_Segment__c")
    discount = _accepted_quotes(v).select("OpportunityId", "Discount")
    return (inv.select(pl.col("Id").alias("blng__Invoice__c"), "blng__Account__c", "blng__Order__c",
                       "blng__InvoiceDate__c", "blng__DueDate__c", "blng__TotalAmount__c")
            .join(alloc, on="blng__Invoice__c").join(pay, on="blng__Payment__c")
            .join(order, on="blng__Order__c").join(seg, on="blng__Account__c")
            .join(discount, on="OpportunityId", how="left")
            .with_columns(days_late=(pl.col("blng__PaymentDate__c") - pl.col("blng__DueDate__c")).dt.total_days(),
                          days_to_pay=(pl.col("blng__PaymentDate__c") - pl.col("blng__InvoiceDate__c")).dt.total_days()))


def _late_payers(v: _Visible, plan: Plan) -> dict:
    segment = plan.late_segment
    p = _payments(v)
    per = p.group_by(pl.col("Customer_Segment__c").cast(pl.String)).agg(
        paid_invoices=pl.len(), mean_days_late=pl.col("days_late").mean(),
        mean_days_to_pay=pl.col("days_to_pay").mean()).sort("Customer_Segment__c")
    slow = p.filter(pl.col("Customer_Segment__c") == segment)
    others = p.filter(pl.col("Customer_Segment__c") != segment)
    return {
        "segment": segment, "from_activity": "Invoice Posted", "to_activity": "Payment Received",
        "description": f"{segment} customers pay long after the due date (invoices are due net 30).",
        "planted": {"extra_days_late_mean": plan.late_segment_extra_days, "payment_terms_days": 30},
        "measured": {
            "paid_invoices": slow.height, "mean_days_late": _r(slow["days_late"].mean()),
            "mean_days_to_pay": _r(slow["days_to_pay"].mean()),
            "others_paid_invoices": others.height, "others_mean_days_late": _r(others["days_late"].mean()),
            "others_mean_days_to_pay": _r(others["days_to_pay"].mean()),
            "per_segment": {r["Customer_Segment__c"]: {"paid_invoices": r["paid_invoices"],
                                                       "mean_days_late": _r(r["mean_days_late"]),
                                                       "mean_days_to_pay": _r(r["mean_days_to_pay"])}
                            for r in per.iter_rows(named=True)},
        },
        "how_to_detect": ("days_late = blng__Payment__c.blng__PaymentDate__c - blng__Invoice__c.blng__DueDate__c "
                          "(via blng__PaymentAllocationInvoice__c), grouped by Account.Customer_Segment__c."),
    }


def _discount_effects(v: _Visible, plan: Plan) -> dict:
    p = _payments(v).filter(pl.col("Discount").is_not_null())
    stats = p.select(
        corr_late=pl.corr("Discount", "days_late"),
        corr_amount=pl.corr("Discount", "blng__TotalAmount__c"),
        slope=pl.cov("Discount", "days_late") / pl.col("Discount").var(),
    ).row(0, named=True) if p.height > 2 else {"corr_late": None, "corr_amount": None, "slope": None}
    bands = (p.with_columns(band=pl.when(pl.col("Discount") == 0).then(pl.lit("0%"))
                            .when(pl.col("Discount") <= 10).then(pl.lit("0-10%"))
                            .when(pl.col("Discount") <= 20).then(pl.lit("10-20%"))
                            .otherwise(pl.lit(">20%")))
             .group_by("band").agg(paid_invoices=pl.len(), mean_days_late=pl.col("days_late").mean()).sort("band"))
    return {
        "description": "Higher discounts go with later payment: days late grow with the accepted quote's discount.",
        "planted": {"days_late_per_discount_pct": plan.late_days_per_discount_pct},
        "measured": {
            "paid_invoices": p.height, "corr_discount_days_late": _r(stats["corr_late"]),
            "slope_days_late_per_discount_pct": _r(stats["slope"]),
            "corr_discount_invoice_amount": _r(stats["corr_amount"]),
            "per_band": {r["band"]: {"paid_invoices": r["paid_invoices"], "mean_days_late": _r(r["mean_days_late"])}
                         for r in bands.iter_rows(named=True)},
        },
        "how_to_detect": ("Paid invoices of won deals with an Accepted quote: Pearson correlation / OLS slope of "
                          "days_late on the accepted Quote.Discount."),
    }


def _won_without_accepted_quote(v: _Visible, won: pl.DataFrame, plan: Plan) -> dict:
    quotes = v.latest("Quote", "OpportunityId", "Status")
    accepted = quotes.filter(pl.col("Status") == "Accepted").select("OpportunityId").unique()
    ids = won.select(pl.col("Id").alias("OpportunityId"))
    without = ids.join(accepted, on="OpportunityId", how="anti")
    no_quote = without.join(quotes.select("OpportunityId").unique(), on="OpportunityId", how="anti")
    return {
        "description": "Deals closed won although no quote was accepted (some never had a quote).",
        "planted": {"share_of_won": plan.won_without_accepted_quote_share},
        "measured": {"won_opportunities": won.height, "without_accepted_quote": without.height,
                     "without_any_quote": no_quote.height,
                     "share_of_won": _r(without.height / won.height if won.height else 0.0, 4)},
        "opportunity_ids": _ids(without, "OpportunityId"),
        "how_to_detect": "Closed Won opportunities with no Quote in Status 'Accepted'.",
    }


def _quarter_end_push(won: pl.DataFrame, plan: Plan) -> dict:
    q = won.with_columns(quarter_end=pl.col("CloseDate").dt.offset_by("1q").dt.truncate("1q").dt.offset_by("-1d"))
    in_window = q.filter((pl.col("quarter_end") - pl.col("CloseDate")).dt.total_days() < 14)
    return {
        "description": "More deals close in the last two weeks of a quarter.",
        "planted": {"pushed_share_of_won": plan.quarter_end_push_share},
        "measured": {"won_opportunities": won.height, "closed_in_last_14_days_of_quarter": in_window.height,
                     "share": _r(in_window.height / won.height if won.height else 0.0, 4),
                     "share_without_push": 0.154},
        "how_to_detect": "Share of Closed Won CloseDate within 14 days before quarter end (about 15% if uniform).",
    }


def _non_standard_terms(v: _Visible) -> dict:
    c = v.latest("Contract", "SpecialTerms").filter(pl.col("SpecialTerms").is_not_null())
    return {
        "description": "Contracts signed with non-standard SpecialTerms.",
        "measured": {"contracts": c.height},
        "contract_ids": _ids(c, "Id"),
        "how_to_detect": "Contract.SpecialTerms is not null (all start with 'Non-standard:').",
    }


__all__ = ["ACTIVITIES", "directly_follows_waits", "ground_truth",
           "opportunity_event_log"]
