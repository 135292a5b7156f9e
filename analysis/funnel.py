"""Lead funnel: how far leads get, per lead source, and the step where most are lost.

Works on the lead event log (``l2c.lead_event_log``: one case per Lead,
converted or not). A funnel is an ordered list of steps (activities); a lead
*reached* a step when it has that activity or any later step, so counts never
increase along the funnel and ``dropped`` at a step is the number of leads
whose furthest step it is. ``won`` comes from a ``Closed Won`` event in the
lead log, or from the ``l2c.cases`` row of the opportunity the lead converted
into (``converted_opportunity_id``, or ``opportunity_id`` as in ``l2c.lead_event_log``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from analysis import columns as C
from analysis.log import EventLog, as_event_log

LEAD_CREATED = "Lead Created"
LEAD_CONVERTED = "Lead Converted"
CLOSED_WON = "Closed Won"
#: Pseudo-step appended when ``won`` is known from the cases but not as an event.
WON_STEP = "Won"
CONVERTED_OPPORTUNITY_ID = "converted_opportunity_id"
#: Accepted as well: the column name of ``l2c.lead_event_log``.
OPPORTUNITY_ID = "opportunity_id"
ALL_GROUPS = "(all)"
#: Activities that end a lead without progress; left out of the default steps.
EXIT_KEYWORDS = ("not converted", "unqualified", "disqualified", "lost", "rejected", "recycled", "deleted")


def default_steps(
    lead_log: EventLog | pl.DataFrame,
    converted_activity: str = LEAD_CONVERTED,
    won_activity: str = CLOSED_WON,
) -> list[str]:
    """Funnel steps inferred from a lead log: the lead's own activities up to conversion, then the win.

    Activities are ordered by ``activity_order`` when the log has it, else by
    the median position of their first occurrence. Activities whose name
    contains one of :data:`EXIT_KEYWORDS` (e.g. ``Lead Status: Closed - Not
    Converted``) are exits, not steps. Everything ordered after
    ``converted_activity`` (the opportunity's own events, which
    ``l2c.lead_event_log`` carries for converted leads) is left out but
    ``won_activity``, the last step when it occurs. Pass ``steps=`` to
    :func:`lead_funnel` for anything else.
    """
    events = as_event_log(lead_log).events
    first = events.with_columns(pl.int_range(pl.len()).over(C.CASE_ID).alias("__pos")).group_by(
        C.CASE_ID, C.ACTIVITY).agg(pl.col("__pos").min(), pl.col(C.ACTIVITY_ORDER).min())
    ranked = first.group_by(C.ACTIVITY).agg(
        pl.col(C.ACTIVITY_ORDER).min().alias("order"), pl.col("__pos").median().alias("position"))
    ranked = ranked.filter(~pl.col(C.ACTIVITY).str.to_lowercase().str.contains("|".join(EXIT_KEYWORDS)))
    ordered = ranked.sort(["order", "position", C.ACTIVITY], nulls_last=True).get_column(C.ACTIVITY).to_list()
    if converted_activity in ordered:
        steps = ordered[: ordered.index(converted_activity) + 1]
        if won_activity in ordered:
            steps.append(won_activity)
        return steps
    return ordered


def lead_funnel(
    lead_log: EventLog | pl.DataFrame,
    leads: pl.DataFrame | None = None,
    *,
    steps: Sequence[str] | None = None,
    by: str | None = C.LEAD_SOURCE,
    cases: pl.DataFrame | None = None,
    converted_activity: str = LEAD_CONVERTED,
    won_activity: str = CLOSED_WON,
    include_total: bool = True,
) -> pl.DataFrame:
    """Leads reached, converted and won per funnel step, per lead source.

    Args:
        lead_log: the lead event log (case = lead).
        leads: per lead attributes (``case_id`` = lead id, ``by`` column,
            optionally ``converted_opportunity_id``) when the lead log does not
            carry them as columns.
        steps: ordered funnel steps (activity names); default :func:`default_steps`,
            plus a final ``Won`` step when wins are known from ``cases``.
        by: the lead attribute to split by (default ``lead_source``); None for one funnel.
        cases: ``l2c.cases`` (``case_id``, ``is_won``) to learn which converted
            leads were won, through ``converted_opportunity_id``.
        include_total: add rows for all leads together, with ``by`` = ``(all)``.

    Returns:
        One row per (group, step): the ``by`` column, ``step_order`` (0 = first),
        ``step``, ``leads`` (in the group), ``reached``, ``reached_share``
        (reached / leads), ``continued`` (reached the next step), ``dropped``
        (furthest step is this one), ``step_conversion`` (continued / reached;
        null at the last step), ``converted`` and ``won`` (of the leads that
        reached the step, how many were converted / won in the end),
        ``is_biggest_drop`` (the step, before the last, losing most leads in
        the group). Groups sorted by lead count, steps in funnel order.

    >>> import polars as pl, analysis
    >>> from analysis.funnel import lead_funnel
    >>> leads = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["L1", "L1", "L2"], "activity": ["Lead Created", "Lead Converted", "Lead Created"],
    ...     "timestamp": ["2024-01-02", "2024-01-09", "2024-01-03"], "lead_source": ["Web", "Web", "Web"]}))
    >>> lead_funnel(leads, include_total=False).select("lead_source", "step", "reached", "dropped").rows()
    [('Web', 'Lead Created', 2, 1), ('Web', 'Lead Converted', 1, 1)]
    """
    log = as_event_log(lead_log)
    events = log.events
    per_lead = _lead_attributes(events, leads, by)
    flags = events.group_by(C.CASE_ID).agg(
        (pl.col(C.ACTIVITY) == converted_activity).any().alias("converted"),
        (pl.col(C.ACTIVITY) == won_activity).any().alias("won"),
    )
    per_lead = per_lead.join(flags, on=C.CASE_ID, how="left")
    wins_from_cases = cases is not None and CONVERTED_OPPORTUNITY_ID in per_lead.columns
    if wins_from_cases:
        won = cases.select(pl.col(C.CASE_ID).cast(pl.String).alias(CONVERTED_OPPORTUNITY_ID),
                           pl.col(C.IS_WON).fill_null(False).alias("__won"))
        per_lead = per_lead.join(won.unique(CONVERTED_OPPORTUNITY_ID), on=CONVERTED_OPPORTUNITY_ID,
                                 how="left").with_columns((pl.col("won") | pl.col("__won").fill_null(False))
                                                          .alias("won"))
    step_list = list(steps) if steps is not None else default_steps(log, converted_activity, won_activity)
    if steps is None and wins_from_cases and won_activity not in step_list:
        step_list.append(WON_STEP)
    if not step_list:
        raise ValueError("lead_funnel: no funnel steps (pass steps=[...] with activity names of the lead log)")
    index = {name: i for i, name in enumerate(step_list)}
    reached_steps = events.filter(pl.col(C.ACTIVITY).is_in(step_list)).select(
        C.CASE_ID, pl.col(C.ACTIVITY).replace_strict(index, return_dtype=pl.Int64).alias("__step"))
    if WON_STEP in index:
        reached_steps = pl.concat([reached_steps, per_lead.filter(pl.col("won")).select(
            C.CASE_ID, pl.lit(index[WON_STEP], dtype=pl.Int64).alias("__step"))])
    furthest = reached_steps.group_by(C.CASE_ID).agg(pl.col("__step").max().alias("furthest"))
    per_lead = per_lead.join(furthest, on=C.CASE_ID, how="left").with_columns(
        pl.col("converted", "won").fill_null(False))

    group_col = by if by is not None else "__group"
    if by is None:
        per_lead = per_lead.with_columns(pl.lit(ALL_GROUPS).alias(group_col))
    per_lead = per_lead.with_columns(pl.col(group_col).cast(pl.String).fill_null("(missing)"))
    if include_total and by is not None:
        per_lead = pl.concat([per_lead, per_lead.with_columns(pl.lit(ALL_GROUPS).alias(group_col))])

    grid = per_lead.select(group_col).unique().join(
        pl.DataFrame({"step_order": list(range(len(step_list))), "step": step_list},
                     schema={"step_order": pl.Int64, "step": pl.String}), how="cross")
    at_least = per_lead.join(grid, on=group_col).filter(pl.col("furthest") >= pl.col("step_order"))
    counts = at_least.group_by(group_col, "step_order").agg(
        pl.len().cast(pl.Int64).alias("reached"),
        pl.col("converted").sum().cast(pl.Int64).alias("converted"),
        pl.col("won").sum().cast(pl.Int64).alias("won"),
    )
    sizes = per_lead.group_by(group_col).agg(pl.len().cast(pl.Int64).alias("leads"))
    last = len(step_list) - 1
    out = (
        grid.join(counts, on=[group_col, "step_order"], how="left").join(sizes, on=group_col)
        .with_columns(pl.col("reached", "converted", "won").fill_null(0))
        .sort(group_col, "step_order")
        .with_columns(pl.col("reached").shift(-1).over(group_col).alias("continued"))
        .with_columns(
            (pl.col("reached") - pl.col("continued").fill_null(0)).alias("dropped"),
            (pl.col("reached") / pl.col("leads")).alias("reached_share"),
            pl.when(pl.col("reached") > 0).then(pl.col("continued") / pl.col("reached")).alias("step_conversion"),
        )
    )
    # The step losing most leads (ties: the earliest); the last step "loses" every finisher, so it is skipped.
    biggest = (
        out.filter((pl.col("step_order") < last) & (pl.col("dropped") > 0))
        .sort([group_col, "dropped", "step_order"], descending=[False, True, False])
        .group_by(group_col, maintain_order=True).first()
        .select(group_col, "step_order", pl.lit(True).alias("is_biggest_drop"))
    )
    out = out.join(biggest, on=[group_col, "step_order"], how="left").with_columns(
        pl.col("is_biggest_drop").fill_null(False))
    out = out.sort([pl.col("leads"), pl.col(group_col) == ALL_GROUPS, group_col, "step_order"],
                   descending=[True, True, False, False])
    columns = [group_col, "step_order", "step", "leads", "reached", "reached_share", "continued", "dropped",
               "step_conversion", "converted", "won", "is_biggest_drop"]
    out = out.select(columns)
    return out.drop(group_col) if by is None else out


def _lead_attributes(events: pl.DataFrame, leads: pl.DataFrame | None, by: str | None) -> pl.DataFrame:
    """Per lead: ``case_id``, the ``by`` attribute and ``converted_opportunity_id`` when known."""
    if CONVERTED_OPPORTUNITY_ID not in events.columns and OPPORTUNITY_ID in events.columns:
        events = events.rename({OPPORTUNITY_ID: CONVERTED_OPPORTUNITY_ID})  # l2c.lead_event_log's name
    wanted = [c for c in (by, CONVERTED_OPPORTUNITY_ID) if c is not None]
    in_log = [c for c in wanted if c in events.columns]
    per_lead = events.group_by(C.CASE_ID, maintain_order=True).agg(
        *[pl.col(c).drop_nulls().first() for c in in_log])
    if leads is not None:
        extra = [c for c in wanted if c in leads.columns and c not in in_log]
        if extra:
            per_lead = per_lead.join(leads.select(pl.col(C.CASE_ID).cast(pl.String), *extra).unique(C.CASE_ID),
                                     on=C.CASE_ID, how="left")
    if by is not None and by not in per_lead.columns:
        raise ValueError(f"lead_funnel: lead attribute {by!r} is neither a column of the lead log nor of leads= "
                         "(pass by=None for a single funnel)")
    if CONVERTED_OPPORTUNITY_ID in per_lead.columns:
        per_lead = per_lead.with_columns(pl.col(CONVERTED_OPPORTUNITY_ID).cast(pl.String))
    return per_lead
