"""The simulated sales organisation behind the demo org.

:class:`OrgSimulation` draws people, customers and products, then walks every
opportunity through the Lead-to-Cash process on the business-time axis of
:mod:`l2c.sandbox._gen_time` (lead → opportunity stages → quote → approval →
contract → close → order → invoice → payment), all as numpy arrays with one
element per opportunity (no Python loop per record). Planted behaviours are
switched on by the parameters in :class:`Plan`. :meth:`OrgSimulation.tables`
turns the arrays into Salesforce tables holding every record version.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from l2c.salesforce_schema import CUSTOMER_SEGMENTS, INDUSTRIES, REGIONS, STAGE_NAMES
from l2c.sandbox import _gen_reference as ref
from l2c.sandbox._gen_ids import salesforce_ids
from l2c.sandbox._gen_tables import dates, utc
from l2c.sandbox._gen_time import REGION_TIME_ZONES, BusinessClock, quarter_end

FUTURE_DAYS = 90
HISTORY_DAYS = 3 * 365
DISCOUNT_POLICY_PCT = 20.0

PROPOSAL = STAGE_NAMES.index("Proposal/Price Quote")
NEGOTIATION = STAGE_NAMES.index("Negotiation/Review")
CLOSED_WON = STAGE_NAMES.index("Closed Won")
CLOSED_LOST = STAGE_NAMES.index("Closed Lost")


@dataclass(frozen=True)
class Plan:
    """Sizes of the planted behaviours (documented in docs/demo-org.md)."""

    won_share: float = 0.42
    from_lead_share: float = 0.4
    #: Mean business days between "Stage: Proposal/Price Quote" and "Quote Created" (others: ~4).
    bottleneck_mean_business_days: float = 40.0
    slow_rep_factor: float = 2.0
    slow_contract_region: str = "APAC"
    slow_contract_mean_business_days: float = 15.0
    contract_mean_business_days: float = 3.0
    #: Share of quotes above the discount policy that skip the approval process.
    approval_skipped_share: float = 0.3
    approval_rejected_share: float = 0.15
    #: Share of quoted deals reaching negotiation whose first quote is denied: the stage goes
    #: back to Proposal/Price Quote and a second quote is issued.
    stage_backward_share: float = 0.15
    late_segment: str = "Public Sector"
    late_segment_extra_days: float = 40.0
    late_days_per_discount_pct: float = 0.5
    won_without_accepted_quote_share: float = 0.06
    quarter_end_push_share: float = 0.5
    order_rework_share: float = 0.07
    non_standard_terms_share: float = 0.07
    owner_change_share: float = 0.05


def _pick(options: tuple | list, idx: np.ndarray) -> pl.Series:
    return pl.Series(list(options)).gather(idx)


class OrgSimulation:
    """Draws the org's entities and each opportunity's timeline; builds the tables."""

    def __init__(self, n_opportunities: int, seed: int, now: dt.datetime, plan: Plan | None = None):
        if n_opportunities < 1:
            raise ValueError(f"n_opportunities must be at least 1, got {n_opportunities}")
        self.n = n_opportunities
        self.seed = seed
        self.now = now
        self.plan = plan or Plan()
        self.horizon_end = now + dt.timedelta(days=FUTURE_DAYS)
        self.span_start = now - dt.timedelta(days=HISTORY_DAYS)
        self.rng = np.random.default_rng(seed)
        self.clock = BusinessClock(self.horizon_end.date())
        self.b_start = self.clock.of_date(np.array([np.datetime64(self.span_start.date())]))[0]
        self.b_end = self.clock.of_date(np.array([np.datetime64(self.horizon_end.date())]))[0]
        self._users()
        self._accounts()
        self._products()
        self._opportunities()
        self._timelines()

    # --- helpers -------------------------------------------------------------------

    def _u(self, n: int | None = None) -> np.ndarray:
        return self.rng.random(self.n if n is None else n)

    def _gamma(self, shape: float, mean: float, n: int | None = None) -> np.ndarray:
        return self.rng.gamma(shape, mean / shape, self.n if n is None else n)

    def _t(self, b: np.ndarray, tz: np.ndarray) -> np.ndarray:
        return self.clock.to_utc(b, tz)

    def _frame(self, mask: np.ndarray, b: np.ndarray, tz: np.ndarray | None, actor: np.ndarray,
               rec: np.ndarray | None = None, **fields) -> pl.DataFrame:
        """Change rows for the records selected by ``mask``.

        ``b`` holds business times converted with time zones ``tz`` (or UTC datetimes when
        ``tz`` is None); ``rec`` maps rows to record indexes (default: the row index).
        """
        idx = np.flatnonzero(mask)
        when = b[idx] if tz is None else self._t(b[idx], tz[idx])
        data: dict[str, pl.Series] = {
            "_rec": pl.Series(idx if rec is None else rec[idx], dtype=pl.Int64),
            "_t": utc(when),
            "_actor": self.user_ids.gather(actor[idx]),
        }
        scalars = {}
        for name, value in fields.items():
            if isinstance(value, pl.Series):
                data[name] = value.gather(idx)
            elif isinstance(value, np.ndarray):
                v = value[idx]
                if v.dtype.kind == "M":
                    data[name] = dates(v) if v.dtype == np.dtype("datetime64[D]") else utc(v)
                else:
                    data[name] = pl.Series(v)
            else:
                scalars[name] = value
        df = pl.DataFrame(data)
        if scalars:
            df = df.with_columns([pl.lit(v).alias(k) for k, v in scalars.items()])
        return df

    def _rep_in_region(self, region: np.ndarray, u: np.ndarray, exclude_slow: bool = False) -> np.ndarray:
        """A rep (user index) of each region, drawn with ``u``."""
        pool = self.rep_users[self.rep_users != self.slow_rep] if exclude_slow else self.rep_users
        pool_region = self.user_region[pool]
        order = pool[np.argsort(pool_region, kind="stable")]
        counts = np.bincount(pool_region, minlength=len(REGIONS))
        starts = np.cumsum(counts) - counts
        return order[starts[region] + np.minimum((u * counts[region]).astype(np.int64), counts[region] - 1)]

    # --- people, customers, products -------------------------------------------------

    def _users(self) -> None:
        rng = self.rng
        n_reps = int(np.clip(round(self.n / 50), 6, 2500))
        n_teams = max(len(REGIONS), math.ceil(n_reps / 8))
        team_region = np.arange(n_teams) % len(REGIONS)
        # index layout: admin, VP sales, billing, 4 contract managers, team managers, reps
        kinds = ["admin", "vp", "billing"] + ["contracts"] * len(REGIONS) + ["manager"] * n_teams + ["rep"] * n_reps
        n_users = len(kinds)
        kind = np.array(kinds)
        region = np.full(n_users, -1, dtype=np.int64)
        team = np.full(n_users, -1, dtype=np.int64)
        c0 = 3
        m0 = c0 + len(REGIONS)
        r0 = m0 + n_teams
        region[c0:m0] = np.arange(len(REGIONS))
        team[m0:r0] = np.arange(n_teams)
        region[m0:r0] = team_region
        team[r0:] = np.arange(n_reps) % n_teams
        region[r0:] = team_region[team[r0:]]
        tz = np.zeros(n_users, dtype=np.int64)
        for r, name in enumerate(REGIONS):
            options = np.array(REGION_TIME_ZONES[name])
            members = np.flatnonzero(region == r)
            tz[members] = options[0]
            reps = members[kind[members] == "rep"]
            tz[reps] = options[rng.integers(0, len(options), len(reps))]
        manager = np.full(n_users, -1, dtype=np.int64)
        manager[np.isin(kind, ["billing", "contracts", "manager"])] = 1
        manager[r0:] = m0 + team[r0:]
        # categorical in the tables (see _gen_tables.CATEGORICAL_ID_OBJECTS): gathers then move codes
        self.user_ids = salesforce_ids("005", n_users).cast(pl.Categorical)
        self.user_kind, self.user_region, self.user_team, self.user_tz = kind, region, team, tz
        self.user_manager = manager
        self.rep_users = np.arange(r0, n_users)
        self.contract_manager = np.arange(c0, m0)  # per region
        self.n_teams = n_teams
        self.admin, self.billing = 0, 2
        self.slow_rep = int(self.rep_users[rng.integers(0, n_reps)])
        first = rng.integers(0, len(ref.FIRST_NAMES), n_users)
        last = rng.integers(0, len(ref.LAST_NAMES), n_users)
        first[0], last[0] = 0, 0
        self.user_first = _pick(ref.FIRST_NAMES, first)
        self.user_last = _pick(ref.LAST_NAMES, last)
        self.user_first[0] = "Integration"
        self.user_last[0] = "User"
        self.user_names = self.user_first + " " + self.user_last

    def _accounts(self) -> None:
        rng = self.rng
        n = max(12, self.n // 3)
        self.n_accounts = n
        self.account_ids = salesforce_ids("001", n).cast(pl.Categorical)
        self.account_region = rng.choice(len(REGIONS), n, p=[0.4, 0.3, 0.2, 0.1])
        self.account_segment = rng.choice(len(CUSTOMER_SEGMENTS), n, p=[0.35, 0.3, 0.2, 0.15])
        self.account_owner = self._rep_in_region(self.account_region, rng.random(n))
        industry = rng.integers(0, len(INDUSTRIES), n)
        public = self.account_segment == CUSTOMER_SEGMENTS.index("Public Sector")
        industry[public] = np.where(rng.random(public.sum()) < 0.7, INDUSTRIES.index("Government"),
                                    INDUSTRIES.index("Education"))
        self.account_industry = industry
        self.account_names = (
            _pick(ref.COMPANY_PREFIXES, rng.integers(0, len(ref.COMPANY_PREFIXES), n)) + " "
            + _pick(ref.COMPANY_CORES, rng.integers(0, len(ref.COMPANY_CORES), n)) + " "
            + _pick(ref.COMPANY_SUFFIXES, rng.integers(0, len(ref.COMPANY_SUFFIXES), n))
        )

    def _products(self) -> None:
        self.product_ids = salesforce_ids("01t", len(ref.PRODUCTS)).cast(pl.Categorical)
        self.pricebook_entry_ids = salesforce_ids("01u", len(ref.PRODUCTS)).cast(pl.Categorical)
        self.product_family = np.array([p[1] for p in ref.PRODUCTS])
        self.product_price = np.array([p[2] for p in ref.PRODUCTS])
        self.pricebook_id = salesforce_ids("01s", 1)[0]
        self.process_definition_id = salesforce_ids("04a", 1)[0]

    # --- opportunities ---------------------------------------------------------------

    def _opportunities(self) -> None:
        rng, n, plan = self.rng, self.n, self.plan
        perm = rng.permutation(self.n_accounts)
        acc = perm[np.minimum((self.n_accounts * self._u() ** 1.4).astype(np.int64), self.n_accounts - 1)]
        self.acc = acc
        region = self.account_region[acc]
        owner = np.where(self._u() < 0.7, self.account_owner[acc], self._rep_in_region(region, self._u()))
        self.owner = owner
        self.tz = self.user_tz[owner]
        self.f = np.where(owner == self.slow_rep, plan.slow_rep_factor, 1.0)
        self.b0 = self.b_start + (self.b_end - self.b_start) * self._u() ** 0.85
        self.from_lead = self._u() < plan.from_lead_share
        self.won = self._u() < plan.won_share
        segment = self.account_segment[acc]
        scale = np.array([8000.0, 30000.0, 120000.0, 60000.0])[segment]
        target = scale * rng.lognormal(0.0, 0.6, n)
        # line items
        n_lines = 1 + rng.binomial(3, 0.35, n)
        line_opp = np.repeat(np.arange(n), n_lines)
        line_product = rng.integers(0, len(ref.PRODUCTS), len(line_opp))
        share = rng.random(len(line_opp)) + 0.2
        share = share / np.bincount(line_opp, weights=share, minlength=n)[line_opp]
        price = self.product_price[line_product]
        qty = np.maximum(1.0, np.round(target[line_opp] * share / price))
        self.line_opp, self.line_product, self.line_qty, self.line_price = line_opp, line_product, qty, price
        self.list_total = np.bincount(line_opp, weights=qty * price, minlength=n)
        first_line = np.cumsum(n_lines) - n_lines
        self.main_product = line_product[first_line]
        self.estimate = np.round(self.list_total * rng.uniform(0.8, 1.2, n), -2).clip(100.0)
        # discount offered on the quote, percent; enterprise deals get more
        discount = np.round(self._gamma(4.0, 17.0) * 2) / 2 + np.where(segment == 2, 4.0, 0.0)
        self.discount1 = np.where(self._u() < 0.25, 0.0, np.clip(discount, 1.0, 40.0))

    def _timelines(self) -> None:  # noqa: PLR0915 - one readable walk through the process
        rng, n, plan, f = self.rng, self.n, self.plan, self.f
        nan = np.full(n, np.nan)
        won = self.won
        # how far lost deals get (0..7 = open stages)
        lost_at = rng.choice(8, n, p=[0.12, 0.15, 0.15, 0.12, 0.1, 0.08, 0.16, 0.12])
        top = np.where(won, NEGOTIATION, lost_at)
        visit = np.zeros((n, 8), dtype=bool)
        visit[:, 0] = True
        visit[:, 1:6] = rng.random((n, 5)) < 0.7
        visit &= np.arange(8)[None, :] <= top[:, None]
        visit[np.arange(n), top] = True
        visit[:, PROPOSAL] = top >= PROPOSAL  # no negotiation without a proposal
        self.stage_b = np.full((n, 8), np.nan)
        self.stage_b[:, 0] = self.b0
        t = self.b0.copy()
        for s in range(1, PROPOSAL + 1):
            t = np.where(visit[:, s], t + self._gamma(2.0, 4.0) * f + 0.05, t)
            self.stage_b[:, s] = np.where(visit[:, s], t, np.nan)
        reach_proposal = visit[:, PROPOSAL]
        reach_negotiation = visit[:, NEGOTIATION]
        # won deals without an accepted quote: half never quoted, half quote left at Presented
        no_accept = won & (self._u() < plan.won_without_accepted_quote_share)
        half = self._u() < 0.5
        self.won_no_quote = no_accept & half
        self.won_quote_not_accepted = no_accept & ~half
        has_q1 = reach_proposal & ~self.won_no_quote & ~(~won & (self._u() < 0.1))
        # quote 1
        d1 = self.discount1
        above1 = d1 > DISCOUNT_POLICY_PCT
        skip1 = above1 & (self._u() < plan.approval_skipped_share)
        route1 = has_q1 & above1 & ~skip1
        rejected1 = route1 & (self._u() < plan.approval_rejected_share)
        rework = (has_q1 & ~rejected1 & reach_negotiation & ~self.won_quote_not_accepted
                  & (self._u() < plan.stage_backward_share))
        q1_start = self.stage_b[:, PROPOSAL] + self._gamma(4.0, plan.bottleneck_mean_business_days) * f
        q1 = self._quote_flow(np.where(has_q1, q1_start, np.nan), route1, rejected1)
        # quote 2: re-issued after an approval rejection (lower discount) or a customer denial (stage back)
        has_q2 = rejected1 | rework
        d2 = np.where(rejected1, np.clip(np.minimum(d1 - rng.uniform(3, 10, n), DISCOUNT_POLICY_PCT), 0, None),
                      np.clip(d1 + rng.uniform(2, 6, n), 0, 40))
        d2 = np.round(d2 * 2) / 2
        route2 = has_q2 & (d2 > DISCOUNT_POLICY_PCT) & ~(self._u() < plan.approval_skipped_share)
        back_b = np.where(rework, q1["decision"] + rng.uniform(0.05, 0.3, n), np.nan)
        q2_start = np.where(rejected1, q1["decided"] + self._gamma(1.5, 1.5) * f + 0.1,
                            back_b + self._gamma(2.0, 4.0) * f + 0.1)
        q2 = self._quote_flow(np.where(has_q2, q2_start, np.nan), route2, np.zeros(n, dtype=bool))
        final = {k: np.where(has_q2, q2[k], q1[k]) for k in q1}
        has_quote = has_q1
        self.final_discount = np.where(has_q2, d2, np.where(has_q1, d1, 0.0))
        # customer outcome of the final quote: 1 accepted, 2 denied, 0 left at Presented
        lost_denies = self._u() < 0.6
        final_outcome = np.where(won, np.where(self.won_quote_not_accepted, 0, 1), np.where(lost_denies, 2, 0))
        q1_outcome = np.where(rejected1, 0, np.where(rework, 2, np.where(has_q2, 0, final_outcome)))
        q2_outcome = np.where(has_q2, final_outcome, 0)
        # negotiation stage: after the (first presented) quote, or without quote after proposal
        neg1 = np.where(~has_quote, self.stage_b[:, PROPOSAL] + self._gamma(2.0, 4.0) * f + 0.05,
                        np.where(rejected1, q2["negotiation"], q1["negotiation"]))
        neg1 = np.where(reach_negotiation, neg1, np.nan)
        neg2 = np.where(rework, q2["negotiation"], np.nan)
        # when the deal is agreed (won) or given up (lost)
        last_quote_moment = final["decision"]
        no_quote_end = np.where(reach_negotiation, neg1, t) + self._gamma(2.0, 5.0) * f + 0.05
        decided = np.where(has_quote, last_quote_moment, no_quote_end)
        # contract (won deals)
        slow_region = self.account_region[self.acc] == REGIONS.index(plan.slow_contract_region)
        c_created = np.where(won, decided + rng.uniform(0.2, 2.0, n) * f, np.nan)
        c_review = c_created + rng.uniform(0.3, 1.5, n) * f
        approval_mean = np.where(slow_region, plan.slow_contract_mean_business_days, plan.contract_mean_business_days)
        c_active = c_review + rng.gamma(3.0, approval_mean / 3.0) * f
        close = np.where(won, c_active + rng.uniform(0.05, 0.6, n), decided + rng.uniform(0.1, 1.5, n) * f)
        close = self._quarter_end_push(close, won)
        # owner change (never involving the slow rep, so per-rep effects stay clean)
        owner_change = (self._u() < plan.owner_change_share) & (self.owner != self.slow_rep)
        new_owner = self._rep_in_region(self.account_region[self.acc], self._u(), exclude_slow=True)
        owner_change &= new_owner != self.owner
        self.owner_change_b = np.where(owner_change, self.b0 + 0.5 * self._u() * (close - self.b0) + 0.01, np.nan)
        self.new_owner = new_owner
        # amount edits (scope change) before the proposal / close
        scope = self._u() < 0.3
        scope_until = np.where(reach_proposal, self.stage_b[:, PROPOSAL], close)
        self.scope_b = np.where(scope, self.b0 + 0.9 * self._u() * (scope_until - self.b0) + 0.02, np.nan)
        # orders, invoices and payments (won deals)
        o_created = np.where(won, close + rng.uniform(0.5, 3.0, n), np.nan)
        o_active = o_created + rng.uniform(0.5, 4.0, n)
        o_rework = np.where(won & (self._u() < plan.order_rework_share), o_active + rng.uniform(2.0, 10.0, n), np.nan)
        inv_draft = np.fmax(o_active, o_rework) + rng.uniform(0.5, 2.0, n)
        inv_posted = inv_draft + rng.uniform(0.02, 0.3, n)
        invoice_date = self.clock.local_date(inv_posted)
        due_date = invoice_date + np.timedelta64(30, "D")
        public = self.account_segment[self.acc] == CUSTOMER_SEGMENTS.index(plan.late_segment)
        late = (rng.normal(-4.0, 5.0, n) + plan.late_days_per_discount_pct * self.final_discount
                + np.where(public, rng.normal(plan.late_segment_extra_days, 10.0, n), 0.0))
        pay_date = np.maximum(due_date + np.round(late).astype(np.int64).astype("timedelta64[D]"),
                              invoice_date + np.timedelta64(1, "D"))
        pay_b = self.clock.of_date(pay_date) + rng.uniform(0.0, 0.95, n)
        pay_b = np.where(won, pay_b, np.nan)

        self.visit, self.top, self.has_q1, self.has_q2, self.rework, self.rejected1 = (
            visit, top, has_q1, has_q2, rework, rejected1)
        self.q1, self.q2, self.d1, self.d2 = q1, q2, d1, d2
        self.route1, self.route2 = route1, route2
        self.q1_outcome, self.q2_outcome = q1_outcome, q2_outcome
        self.neg1, self.neg2, self.back_b = neg1, neg2, back_b
        self.c_created, self.c_review, self.c_active = c_created, c_review, c_active
        self.close = close
        self.o_created, self.o_active, self.o_rework = o_created, o_active, o_rework
        self.inv_draft, self.inv_posted, self.invoice_date, self.due_date = inv_draft, inv_posted, invoice_date, due_date
        self.pay_b, self.pay_date = pay_b, pay_date
        self.nan = nan

    def _quote_flow(self, start: np.ndarray, route: np.ndarray, rejected: np.ndarray) -> dict[str, np.ndarray]:
        """Status times of one quote per opportunity (NaN where a status is not reached)."""
        rng, n, f = self.rng, self.n, self.f
        has = ~np.isnan(start)
        route = route & has
        needs_review = np.where(route, start + rng.uniform(0.1, 1.0, n) * f, np.nan)
        in_review = needs_review + rng.uniform(0.05, 0.5, n) * f
        decided = in_review + self._gamma(2.0, 3.0) * f
        presented = np.where(route, decided, start) + self._gamma(1.5, 1.0) * f + 0.05
        presented = np.where(rejected, np.nan, presented)
        negotiation = presented + rng.uniform(0.02, 0.1, n)
        decision = presented + 0.15 + self._gamma(2.0, 5.0) * f
        decision = np.where(rejected, decided, decision)
        return {
            "created": start, "needs_review": needs_review, "in_review": in_review, "decided": decided,
            "presented": presented, "negotiation": negotiation, "decision": decision,
        }

    def _quarter_end_push(self, close: np.ndarray, won: np.ndarray) -> np.ndarray:
        """Move a share of won closes later, into the last two weeks of their quarter."""
        day = self.clock.local_date(close)
        qe = quarter_end(day)
        window_start = qe - np.timedelta64(13, "D")
        # the slow rep does not chase quarter ends (which would blur his planted delay)
        push = won & (day < window_start) & (self._u() < self.plan.quarter_end_push_share) & (self.f == 1.0)
        lo = np.maximum(close, self.clock.of_date(window_start))
        hi = self.clock.of_date(qe + np.timedelta64(1, "D"))
        pushed = lo + self._u() * np.maximum(hi - lo - 0.02, 0.0)
        return np.where(push, pushed, close)
