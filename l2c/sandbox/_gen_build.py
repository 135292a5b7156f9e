"""Building the demo org's Salesforce tables from an :class:`~l2c.sandbox._gen_model.OrgSimulation`.

One function per object (or per object and its history). Each turns the
simulation's per-opportunity arrays into change rows and hands them to
:func:`~l2c.sandbox._gen_tables.assemble`, which yields every version.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from l2c.salesforce_schema import (
    CUSTOMER_SEGMENTS,
    INDUSTRIES,
    LEAD_SOURCES,
    OPPORTUNITY_STAGES,
    OPPORTUNITY_TYPES,
    PAYMENT_TYPES,
    REGIONS,
    STAGE_NAMES,
    TASK_SUBTYPES,
)
from l2c.sandbox import _gen_reference as ref
from l2c.sandbox._gen_ids import salesforce_ids
from l2c.sandbox._gen_model import CLOSED_LOST, CLOSED_WON, NEGOTIATION, PROPOSAL, OrgSimulation, _pick
from l2c.sandbox._gen_tables import (
    VALID_FROM,
    assemble,
    conform,
    field_history,
    finish_history,
    table_schema,
    utc,
)
from l2c.sandbox._gen_time import TIME_ZONES

_REGION_CURRENCY = ("USD", "EUR", "USD", "USD")


def number_strings(n: int, width: int = 8, prefix: str = "") -> pl.Series:
    """``prefix`` + zero-padded 1..n (QuoteNumber, ContractNumber, invoice names...)."""
    return pl.select(pl.lit(prefix) + pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(width)).to_series()


class TableBuilder:
    """Builds every table of the org; ``tables`` maps API object name → versions frame."""

    def __init__(self, sim: OrgSimulation):
        self.sim = sim
        self.cutoff = sim.horizon_end
        self.tables: dict[str, pl.DataFrame] = {}
        self.setup_time = dt.datetime.combine(sim.span_start.date() - dt.timedelta(days=400), dt.time(9),
                                              tzinfo=dt.UTC)
        s = sim
        n = s.n
        # categorical in the tables (see _gen_tables.CATEGORICAL_ID_OBJECTS): gathers then move codes
        self.opp_ids = salesforce_ids("006", n).cast(pl.Categorical)
        self.opp_names = s.account_names.gather(s.acc) + " - " + _pick(
            [p[0] for p in ref.PRODUCTS], s.main_product)
        self.n_lines = np.bincount(s.line_opp, minlength=n)
        self.line_start = np.cumsum(self.n_lines) - self.n_lines
        # won amount: line totals after the accepted quote's discount
        accepted = s.won & ~s.won_no_quote & ~s.won_quote_not_accepted
        self.won_discount = np.where(accepted, s.final_discount, 0.0)
        self.line_total_won = np.round(s.line_qty * s.line_price * (1 - self.won_discount[s.line_opp] / 100), 2)
        self.won_amount = np.bincount(s.line_opp, weights=self.line_total_won, minlength=n).round(2)

    def build(self) -> dict[str, pl.DataFrame]:
        self.user_roles()
        self.users()
        self.accounts()
        self.products()
        self.opportunities()
        self.contacts_and_leads()
        self.line_items()
        self.quotes()
        self._release_opportunity_walk()
        self.contracts()
        self.orders_and_billing()
        self._keep_for_activities()
        self.activities()
        return self.tables

    #: Simulation arrays only the objects up to quotes use (stage walk, quotes, discounts, names).
    _WALK_ARRAYS = (
        "stage_b", "visit", "top", "q1", "q2", "d1", "d2", "route1", "route2", "q1_outcome", "q2_outcome",
        "neg1", "neg2", "back_b", "has_q1", "has_q2", "rework", "rejected1", "scope_b", "discount1",
        "final_discount", "estimate", "list_total", "main_product", "won_no_quote", "won_quote_not_accepted",
        "f", "nan", "pay_date", "account_segment", "account_industry", "account_names",
    )
    _WALK_STATE = ("opp_names", "n_lines", "line_start", "quote_ids", "quote_opp", "quote_second", "quote_route",
                   "account_created_b", "account_tz", "lead_ids", "opp_lead_source", "contract_of_opp")

    def _keep_for_activities(self) -> None:
        """Free every per-record array tasks and events do not need (the build's last, fullest step)."""
        keep_sim = {"acc", "b0", "close", "from_lead", "new_owner", "owner", "owner_change_b", "tz", "user_tz"}
        for name, value in list(vars(self.sim).items()):
            if isinstance(value, (np.ndarray, dict)) and name not in keep_sim:
                delattr(self.sim, name)
        for name in ("line_total_won", "won_discount", "won_amount", "contract_ids", "order_reworked",
                     "contract_non_standard", "role_ids"):
            delattr(self, name)

    def _release_opportunity_walk(self) -> None:
        """Free what contracts, orders, billing and activities do not need: lowers the build's peak memory."""
        for name in self._WALK_ARRAYS:
            delattr(self.sim, name)
        for name in self._WALK_STATE:
            delattr(self, name)

    # --- helpers -------------------------------------------------------------------

    def _owner_at(self, b: np.ndarray) -> np.ndarray:
        s = self.sim
        return np.where(s.owner_change_b <= b, s.new_owner, s.owner)

    def _setup_rows(self, n: int, **fields) -> pl.DataFrame:
        """Creation rows of org set-up records (roles, users, products), all at one instant."""
        return pl.DataFrame({
            "_rec": np.arange(n, dtype=np.int64),
            "_t": utc(np.full(n, np.datetime64(self.setup_time.replace(tzinfo=None), "us"))),
            "_actor": pl.Series([self.sim.user_ids[0]] * n, dtype=pl.String),
            **fields,
        })

    # --- set-up objects ------------------------------------------------------------

    def user_roles(self) -> None:
        names: list[str] = ["VP Sales"]
        parents: list[int | None] = [None]
        for r in REGIONS:
            names.append(f"Sales Manager, {r}")
            parents.append(0)
        for i, r in enumerate(REGIONS):
            names.append(f"Account Executive, {r}")
            parents.append(1 + i)
        names += ["Contracts Manager", "Billing Specialist"]
        parents += [0, 0]
        ids = salesforce_ids("00E", len(names))
        self.role_ids = ids
        rows = self._setup_rows(
            len(names),
            Name=names,
            DeveloperName=[n.replace(",", "").replace(" ", "_") for n in names],
            ParentRoleId=pl.Series([ids[p] if p is not None else None for p in parents], dtype=pl.String),
            RollupDescription=names,
        )
        self.tables["UserRole"] = assemble("UserRole", ids, [rows], self.cutoff)

    def users(self) -> None:
        s = self.sim
        kind, region, team = s.user_kind, s.user_region, s.user_team
        n = len(kind)
        nreg = len(REGIONS)
        role = np.full(n, -1)
        role[kind == "vp"] = 0
        role[kind == "manager"] = 1 + region[kind == "manager"]
        role[kind == "rep"] = 1 + nreg + region[kind == "rep"]
        role[kind == "contracts"] = 1 + 2 * nreg
        role[kind == "billing"] = 2 + 2 * nreg
        titles = {"admin": "Integration User", "vp": "VP Sales", "billing": "Billing Specialist",
                  "contracts": "Contracts Manager", "manager": "Sales Manager", "rep": "Account Executive"}
        region_names = [REGIONS[r] if r >= 0 else None for r in region]
        department = []
        for k, r, t in zip(kind, region, team, strict=True):
            if k in ("manager", "rep"):
                department.append(f"{REGIONS[r]} Sales Team {t // nreg + 1}")
            else:
                department.append({"admin": "IT", "vp": "Sales", "billing": "Finance", "contracts": "Legal"}[k])
        first = s.user_first
        last = s.user_last
        username = (first.str.to_lowercase() + "." + last.str.to_lowercase() + pl.Series(np.arange(n)).cast(pl.String)
                    + "@demo.l2c.example")
        rows = self._setup_rows(
            n,
            Username=username,
            FirstName=first,
            LastName=last,
            Name=s.user_names,
            Email=username,
            IsActive=np.ones(n, dtype=bool),
            Title=[titles[k] for k in kind],
            Department=department,
            Division=region_names,
            UserRoleId=pl.Series([self.role_ids[int(r)] if r >= 0 else None for r in role], dtype=pl.String),
            ManagerId=pl.Series([s.user_ids[int(m)] if m >= 0 else None for m in s.user_manager], dtype=pl.String),
            TimeZoneSidKey=[TIME_ZONES[t] for t in s.user_tz],
            Region__c=pl.Series(region_names, dtype=pl.String),
        )
        self.tables["User"] = assemble("User", s.user_ids, [rows], self.cutoff)

    def products(self) -> None:
        n = len(ref.PRODUCTS)
        rows = self._setup_rows(
            n,
            Name=[p[0] for p in ref.PRODUCTS],
            ProductCode=[f"P-{i + 1:04d}" for i in range(n)],
            Family=[p[1] for p in ref.PRODUCTS],
            IsActive=np.ones(n, dtype=bool),
            Description=[f"{p[0]} ({p[1]})" for p in ref.PRODUCTS],
        )
        self.tables["Product2"] = assemble("Product2", self.sim.product_ids, [rows], self.cutoff)
        stages = self._setup_rows(
            len(OPPORTUNITY_STAGES),
            MasterLabel=[st[0] for st in OPPORTUNITY_STAGES],
            ApiName=[st[0] for st in OPPORTUNITY_STAGES],
            IsActive=[True] * len(OPPORTUNITY_STAGES),
            SortOrder=list(range(1, len(OPPORTUNITY_STAGES) + 1)),
            IsClosed=[st[2] for st in OPPORTUNITY_STAGES],
            IsWon=[st[3] for st in OPPORTUNITY_STAGES],
            ForecastCategoryName=[st[4] for st in OPPORTUNITY_STAGES],
            DefaultProbability=[float(st[1]) for st in OPPORTUNITY_STAGES],
        )
        self.tables["OpportunityStage"] = assemble(
            "OpportunityStage", salesforce_ids("01J", len(OPPORTUNITY_STAGES)), [stages], self.cutoff)

    # --- accounts, contacts, leads ------------------------------------------------

    def accounts(self) -> None:
        s = self.sim
        n = s.n_accounts
        rng = s.rng
        # an account exists a while before its first opportunity (or its converted lead)
        first_b = np.full(n, np.inf)
        np.minimum.at(first_b, s.acc, s.b0)
        no_opp = np.isinf(first_b)
        created_b = np.where(no_opp, s.b_start - 60 + rng.random(n) * (s.b_end - s.b_start + 60),
                             first_b - rng.uniform(1.5, 40.0, n))
        self.account_created_b = created_b
        tz = s.user_tz[s.account_owner]
        self.account_tz = tz
        city, state, country = self._places(s.account_region, rng.integers(0, 5, n))
        segment = s.account_segment
        employees = (np.array([40, 400, 5000, 2000])[segment] * rng.lognormal(0, 0.5, n)).astype(np.int64) + 5
        created = s._frame(
            np.ones(n, bool), created_b, tz, s.account_owner,
            Name=s.account_names,
            Type="Prospect",
            Industry=_pick(INDUSTRIES, s.account_industry),
            BillingStreet=(pl.Series(rng.integers(1, 999, n)).cast(pl.String) + " "
                           + _pick(ref.STREETS, rng.integers(0, len(ref.STREETS), n))),
            BillingCity=city, BillingState=state,
            BillingPostalCode=pl.Series(rng.integers(10000, 99999, n)).cast(pl.String),
            BillingCountry=country,
            AnnualRevenue=np.round(employees * rng.uniform(80_000, 250_000, n), -3),
            NumberOfEmployees=employees,
            OwnerId=s.user_ids.gather(s.account_owner),
            Region__c=_pick(REGIONS, s.account_region),
            Customer_Segment__c=_pick(CUSTOMER_SEGMENTS, segment),
        )
        # an account becomes a customer when its first deal is won
        won_t = np.where(s.won, self._close_t().astype(np.int64), np.iinfo(np.int64).max)
        first_won = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_won, s.acc, won_t)
        became_customer = first_won < np.iinfo(np.int64).max
        customer = s._frame(became_customer, first_won.astype("datetime64[us]"), None, s.account_owner,
                            Type="Customer - Direct")
        self.tables["Account"] = assemble("Account", s.account_ids, [created, customer], self.cutoff)

    def _close_t(self) -> np.ndarray:
        s = self.sim
        return s._t(s.close, s.tz)

    def _places(self, region: np.ndarray, idx: np.ndarray) -> tuple[pl.Series, pl.Series, pl.Series]:
        flat = [(r, p) for r, name in enumerate(REGIONS) for p in ref.REGION_PLACES[name]]
        offsets = np.cumsum([0] + [len(ref.REGION_PLACES[name]) for name in REGIONS])
        counts = np.diff(offsets)
        k = offsets[region] + idx % counts[region]
        return (_pick([p[1][0] for p in flat], k), _pick([p[1][1] or None for p in flat], k),
                _pick([p[1][2] for p in flat], k))

    def contacts_and_leads(self) -> None:
        s = self.sim
        rng = s.rng
        na = s.n_accounts
        # contacts: 1-2 per account at account creation, plus one per converted lead
        per_account = 1 + (rng.random(na) < 0.5)
        base_acc = np.repeat(np.arange(na), per_account)
        nb = len(base_acc)
        conv_opp = np.flatnonzero(s.from_lead)
        nc = len(conv_opp)
        self.primary_contact = np.cumsum(per_account) - per_account
        self.converted_contact = nb + np.arange(nc)
        contact_acc = np.concatenate([base_acc, s.acc[conv_opp]])
        n_contacts = nb + nc
        self.contact_ids = salesforce_ids("003", n_contacts)
        first = _pick(ref.FIRST_NAMES, rng.integers(0, len(ref.FIRST_NAMES), n_contacts))
        last = _pick(ref.LAST_NAMES, rng.integers(0, len(ref.LAST_NAMES), n_contacts))
        domain = s.account_names.gather(contact_acc).str.split(" ").list.first().str.to_lowercase()
        email = first.str.to_lowercase() + "." + last.str.to_lowercase() + "@" + domain + ".example.com"
        contact_b = np.concatenate([self.account_created_b[base_acc] + rng.uniform(0.01, 0.5, nb), s.b0[conv_opp]])
        contact_tz = np.concatenate([self.account_tz[base_acc], s.tz[conv_opp]])
        contact_owner = np.concatenate([s.account_owner[base_acc], s.owner[conv_opp]])
        lead_source = self.opp_lead_source
        contacts = s._frame(
            np.ones(n_contacts, bool), contact_b, contact_tz, contact_owner,
            AccountId=s.account_ids.gather(contact_acc), FirstName=first, LastName=last,
            Name=first + " " + last, Email=email,
            Title=_pick(ref.SIGNER_TITLES, rng.integers(0, len(ref.SIGNER_TITLES), n_contacts)),
            LeadSource=pl.concat([pl.Series([None] * nb, dtype=pl.String), _pick(LEAD_SOURCES, lead_source[conv_opp])]),
            OwnerId=s.user_ids.gather(contact_owner),
        )
        self.tables["Contact"] = assemble("Contact", self.contact_ids, [contacts], self.cutoff)
        self._leads(conv_opp, first[nb:], last[nb:], email[nb:], lead_source[conv_opp])

    def _leads(self, conv_opp, conv_first, conv_last, conv_email, conv_source) -> None:
        s = self.sim
        rng = s.rng
        nc = len(conv_opp)
        nu = max(20, (3 * nc) // 2)
        n = nc + nu
        f = s.f[conv_opp]
        conv_b0 = s.b0[conv_opp]
        created_c = conv_b0 - (s.rng.gamma(2.0, 4.0, nc) + 0.5) * f
        working_c = created_c + rng.random(nc) * (conv_b0 - created_c) * 0.6 + 0.01
        region_u = rng.choice(len(REGIONS), nu, p=[0.4, 0.3, 0.2, 0.1])
        owner_u = s._rep_in_region(region_u, rng.random(nu))
        created_u = s.b_start - 30 + rng.random(nu) * (s.b_end - s.b_start + 30)
        works = rng.random(nu) < 0.7
        working_u = np.where(works, created_u + rng.gamma(1.5, 2.0 / 1.5, nu) + 0.02, np.nan)
        closes = works & (rng.random(nu) < 0.6)
        closed_u = np.where(closes, working_u + rng.gamma(2.0, 7.5, nu) + 0.02, np.nan)
        deleted_u = (rng.random(nu) < 0.01)
        deleted_b = np.fmax(np.fmax(created_u, working_u), closed_u) + rng.gamma(2.0, 2.5, nu) + 0.02

        created_b = np.concatenate([created_c, created_u])
        tz = np.concatenate([s.tz[conv_opp], s.user_tz[owner_u]])
        owner = np.concatenate([s.owner[conv_opp], owner_u])
        region = np.concatenate([s.account_region[s.acc[conv_opp]], region_u])
        first = pl.concat([conv_first, _pick(ref.FIRST_NAMES, rng.integers(0, len(ref.FIRST_NAMES), nu))])
        last = pl.concat([conv_last, _pick(ref.LAST_NAMES, rng.integers(0, len(ref.LAST_NAMES), nu))])
        company_u = (_pick(ref.COMPANY_PREFIXES, rng.integers(0, len(ref.COMPANY_PREFIXES), nu)) + " "
                     + _pick(ref.COMPANY_CORES, rng.integers(0, len(ref.COMPANY_CORES), nu)))
        company = pl.concat([s.account_names.gather(s.acc[conv_opp]), company_u])
        email_u = (first[nc:].str.to_lowercase() + "." + last[nc:].str.to_lowercase() + "@"
                   + company_u.str.split(" ").list.first().str.to_lowercase() + ".example.com")
        industry = np.concatenate([s.account_industry[s.acc[conv_opp]], rng.integers(0, len(INDUSTRIES), nu)])
        source = np.concatenate([conv_source, rng.integers(0, len(LEAD_SOURCES), nu)])
        city, state, country = self._places(region, rng.integers(0, 5, n))
        self.lead_ids = salesforce_ids("00Q", n)
        everyone = np.ones(n, bool)
        created = s._frame(
            everyone, created_b, tz, owner,
            FirstName=first, LastName=last, Name=first + " " + last, Company=company,
            Title=_pick(ref.SIGNER_TITLES, rng.integers(0, len(ref.SIGNER_TITLES), n)),
            Email=pl.concat([conv_email, email_u]), Status="Open - Not Contacted",
            LeadSource=_pick(LEAD_SOURCES, source), Industry=_pick(INDUSTRIES, industry),
            Rating=_pick(["Hot", "Warm", "Cold"], rng.integers(0, 3, n)),
            Street=pl.Series(rng.integers(1, 999, n)).cast(pl.String) + " Commerce Way",
            City=city, State=state, PostalCode=pl.Series(rng.integers(10000, 99999, n)).cast(pl.String),
            Country=country, OwnerId=s.user_ids.gather(owner), IsConverted=False,
            Region__c=_pick(REGIONS, region),
        )
        working_b = np.concatenate([working_c, working_u])
        working = s._frame(~np.isnan(working_b), working_b, tz, owner, Status="Working - Contacted")
        conv_mask = np.zeros(n, bool)
        conv_mask[:nc] = True
        b_conv = np.concatenate([conv_b0, np.full(nu, np.nan)])
        rec_opp = np.concatenate([conv_opp, np.zeros(nu, np.int64)])
        conv_contact = np.concatenate([self.converted_contact, np.zeros(nu, np.int64)])
        converted = s._frame(
            conv_mask, b_conv, tz, owner,
            Status="Closed - Converted", IsConverted=True,
            ConvertedDate=s.clock.local_date(np.nan_to_num(b_conv)),
            ConvertedAccountId=s.account_ids.gather(s.acc[rec_opp]),
            ConvertedContactId=self.contact_ids.gather(conv_contact),
            ConvertedOpportunityId=self.opp_ids.gather(rec_opp),
        )
        closed_b = np.concatenate([np.full(nc, np.nan), closed_u])
        closed = s._frame(~np.isnan(closed_b), closed_b, tz, owner, Status="Closed - Not Converted")
        del_b = np.concatenate([np.full(nc, np.nan), np.where(deleted_u, deleted_b, np.nan)])
        deleted = s._frame(~np.isnan(del_b), del_b, tz, owner, IsDeleted=True)
        leads = assemble("Lead", self.lead_ids, [created, working, converted, closed, deleted], self.cutoff)
        self.tables["Lead"] = leads
        history = field_history(leads, "LeadId", {"Status": ("Status", "Picklist")})
        same = (pl.col("Id") == pl.col("Id").shift(1)).fill_null(False)
        conversions = leads.lazy().filter(same & pl.col("IsConverted") & ~pl.col("IsConverted").shift(1).fill_null(False))
        conversion_rows = conversions.select(
            pl.col("Id").alias("LeadId"), pl.col(VALID_FROM).alias("CreatedDate"),
            pl.col("LastModifiedById").alias("CreatedById"), pl.lit("leadConverted", dtype=pl.Categorical).alias("Field"),
            pl.lit(None, dtype=pl.Categorical).alias("DataType"), pl.lit(None, dtype=pl.Categorical).alias("OldValue"),
            pl.lit(None, dtype=pl.Categorical).alias("NewValue"),
        ).collect()
        history = pl.concat([history, conversion_rows], rechunk=False).sort("CreatedDate", maintain_order=True)
        self.tables["LeadHistory"] = finish_history(
            "LeadHistory", history, salesforce_ids("017", history.height, start=0))

    # --- opportunities -------------------------------------------------------------

    def opportunities(self) -> None:
        s = self.sim
        n = s.n
        rng = s.rng
        everyone = np.ones(n, bool)
        initial_close = s.clock.local_date(s.b0) + rng.integers(30, 121, n).astype("timedelta64[D]")
        creation = s._frame(
            everyone, s.b0, s.tz, s.owner,
            StageName=STAGE_NAMES[0], Amount=s.estimate, CloseDate=initial_close,
            OwnerId=s.user_ids.gather(s.owner),
        )
        frames = [creation]

        def stage_change(mask: np.ndarray, b: np.ndarray, stage: int) -> pl.DataFrame:
            bb = np.nan_to_num(b)
            return s._frame(mask & ~np.isnan(b), bb, s.tz, self._owner_at(bb), StageName=STAGE_NAMES[stage],
                            LastStageChangeDate=s._t(bb, s.tz))

        for st in range(1, PROPOSAL + 1):
            frames.append(stage_change(s.visit[:, st], s.stage_b[:, st], st))
        frames.append(stage_change(everyone, s.neg1, NEGOTIATION))
        frames.append(stage_change(everyone, s.back_b, PROPOSAL))
        frames.append(stage_change(everyone, s.neg2, NEGOTIATION))
        # Amount edits while scoping, then the accepted quote's total at close
        scope = ~np.isnan(s.scope_b)
        frames.append(s._frame(scope, np.nan_to_num(s.scope_b), s.tz, self._owner_at(np.nan_to_num(s.scope_b)),
                               Amount=s.list_total))
        # CloseDate pushed once when the expected date passes with the deal still open
        close_day = s.clock.local_date(s.close)
        # ...but not while waiting for the first quote: reps revisit the date once the quote is out
        push_b = np.fmax(s.clock.of_date(initial_close) + rng.uniform(0.0, 0.9, n), s.q1["created"] + 0.02)
        pushed = (close_day > initial_close) & (push_b < s.close - 0.01)
        new_close = np.maximum(close_day + rng.integers(0, 22, n).astype("timedelta64[D]"),
                               initial_close + np.timedelta64(14, "D"))
        frames.append(s._frame(pushed, push_b, s.tz, self._owner_at(push_b), CloseDate=new_close))
        # owner change, done by the rep's manager
        oc = ~np.isnan(s.owner_change_b)
        frames.append(s._frame(oc, np.nan_to_num(s.owner_change_b), s.tz, s.user_manager[s.owner],
                               OwnerId=s.user_ids.gather(s.new_owner)))
        # contract linked when it is created
        self.contract_of_opp = np.cumsum(s.won) - 1
        self.contract_ids = salesforce_ids("800", int(s.won.sum()))
        frames.append(s._frame(s.won, np.nan_to_num(s.c_created), s.tz, self._owner_at(np.nan_to_num(s.c_created)),
                               ContractId=self.contract_ids.gather(np.maximum(self.contract_of_opp, 0))))
        # close
        close_stage = np.where(s.won, STAGE_NAMES[CLOSED_WON], STAGE_NAMES[CLOSED_LOST])
        frames.append(s._frame(
            everyone, s.close, s.tz, self._owner_at(s.close),
            StageName=pl.Series(close_stage), LastStageChangeDate=self._close_t(), CloseDate=close_day,
            Amount=np.where(s.won, self.won_amount, np.nan),
        ))
        frames[-1] = frames[-1].with_columns(pl.col("Amount").fill_nan(None))
        self.opp_lead_source = rng.integers(0, len(LEAD_SOURCES), n)
        new_customer = rng.random(n) < 0.6
        opp_type = np.where(new_customer, 0, 1 + rng.integers(0, 2, n))
        static = pl.DataFrame({
            "AccountId": s.account_ids.gather(s.acc),
            "Name": self.opp_names,
            "Type": _pick(OPPORTUNITY_TYPES, opp_type),
            "LeadSource": _pick(LEAD_SOURCES, self.opp_lead_source),
            "CurrencyIsoCode": _pick(_REGION_CURRENCY, s.account_region[s.acc]),
            "Pricebook2Id": pl.Series([s.pricebook_id] * n, dtype=pl.String),
            "Competitor__c": _pick(["None", "Acme", "Globex", "Initech"], rng.integers(0, 4, n)),
        })
        opps = assemble("Opportunity", self.opp_ids, frames, self.cutoff, static=static)
        del frames, static
        # stage-dependent fields follow the stage (a replacement per column: no join copying the table)
        names = [st[0] for st in OPPORTUNITY_STAGES]

        def by_stage(position: int, dtype: pl.DataType) -> pl.Expr:
            return pl.col("StageName").replace_strict(names, [st[position] for st in OPPORTUNITY_STAGES],
                                                      default=None, return_dtype=dtype)

        opps = opps.with_columns(
            Probability=by_stage(1, pl.Float64), IsClosed=by_stage(2, pl.Boolean), IsWon=by_stage(3, pl.Boolean),
            ForecastCategoryName=by_stage(4, table_schema("Opportunity")["ForecastCategoryName"]),
            FiscalQuarter=pl.col("CloseDate").dt.quarter().cast(pl.Int64),
            FiscalYear=pl.col("CloseDate").dt.year().cast(pl.Int64),
        )
        self.tables["Opportunity"] = conform("Opportunity", opps)
        self._opportunity_histories(self.tables["Opportunity"])

    def _opportunity_histories(self, opps: pl.DataFrame) -> None:
        tracked = {
            "StageName": ("StageName", "Picklist"),
            "Amount": ("Amount", "Currency"),
            "CloseDate": ("CloseDate", "Date"),
            "OwnerId": ("Owner", "EntityId"),
        }
        history = field_history(opps, "OpportunityId", tracked)
        self.tables["OpportunityFieldHistory"] = finish_history(
            "OpportunityFieldHistory", history, salesforce_ids("017", history.height, start=20_000_000_000))
        same = (pl.col("Id") == pl.col("Id").shift(1)).fill_null(False)
        changed = ~same
        for field in ("StageName", "Amount", "CloseDate", "Probability"):
            changed = changed | pl.col(field).ne_missing(pl.col(field).shift(1))
        snapshots = opps.lazy().filter(changed).select(
            pl.col("Id").alias("OpportunityId"),
            pl.col("LastModifiedById").alias("CreatedById"),
            pl.col(VALID_FROM).alias("CreatedDate"),
            "StageName", "Amount",
            (pl.col("Amount") * pl.col("Probability") / 100).round(2).alias("ExpectedRevenue"),
            "CloseDate", "Probability",
            pl.col("ForecastCategoryName").alias("ForecastCategory"),
            pl.col(VALID_FROM).alias("SystemModstamp"),
            pl.lit(False).alias("IsDeleted"),
            pl.col(VALID_FROM),
        ).collect()
        self.tables["OpportunityHistory"] = conform(
            "OpportunityHistory",
            snapshots.with_columns(Id=salesforce_ids("008", snapshots.height)),
        )

    def line_items(self) -> None:
        s = self.sim
        nl = len(s.line_opp)
        o = s.line_opp
        b0 = s.b0[o]
        list_total_line = np.round(s.line_qty * s.line_price, 2)
        created = s._frame(
            np.ones(nl, bool), b0, s.tz[o], s.owner[o],
            OpportunityId=self.opp_ids.gather(o), Product2Id=s.product_ids.gather(s.line_product),
            PricebookEntryId=s.pricebook_entry_ids.gather(s.line_product), Quantity=s.line_qty,
            UnitPrice=s.line_price, ListPrice=s.line_price, TotalPrice=list_total_line,
        )
        discounted = self.won_discount[o] > 0
        close_b = s.close[o]
        synced = s._frame(discounted, close_b, s.tz[o], self._owner_at(s.close)[o],
                          Discount=self.won_discount[o], TotalPrice=self.line_total_won)
        self.tables["OpportunityLineItem"] = assemble(
            "OpportunityLineItem", salesforce_ids("00k", nl), [created, synced], self.cutoff)

    # --- quotes and approvals -----------------------------------------------------------

    def quotes(self) -> None:
        s = self.sim
        rng = s.rng
        q1_opp = np.flatnonzero(s.has_q1)
        q2_opp = np.flatnonzero(s.has_q2)
        opp = np.concatenate([q1_opp, q2_opp])
        nq = len(opp)
        second = np.concatenate([np.zeros(len(q1_opp), bool), np.ones(len(q2_opp), bool)])

        def both(key: str) -> np.ndarray:
            return np.concatenate([s.q1[key][q1_opp], s.q2[key][q2_opp]])

        discount = np.concatenate([s.d1[q1_opp], s.d2[q2_opp]])
        route = np.concatenate([s.route1[q1_opp], s.route2[q2_opp]])
        rejected = np.concatenate([s.rejected1[q1_opp], np.zeros(len(q2_opp), bool)])
        outcome = np.concatenate([s.q1_outcome[q1_opp], s.q2_outcome[q2_opp]])
        tz = s.tz[opp]
        self.quote_ids = salesforce_ids("0Q0", nq)
        self.quote_opp, self.quote_second, self.quote_route = opp, second, route
        created_b = both("created")
        owner = self._owner_at(s.q1["created"])[opp]
        total = np.round(s.list_total[opp] * (1 - discount / 100), 2)
        frames = [s._frame(
            np.ones(nq, bool), created_b, tz, owner,
            Name=self.opp_names.gather(opp) + pl.Series(np.where(second, " (revised quote)", " quote")),
            OpportunityId=self.opp_ids.gather(opp), AccountId=s.account_ids.gather(s.acc[opp]),
            Status="Draft", Discount=discount, Subtotal=np.round(s.list_total[opp], 2), TotalPrice=total,
            GrandTotal=total, ExpirationDate=s.clock.local_date(created_b) + np.timedelta64(30, "D"),
            IsSyncing=False, QuoteNumber=number_strings(nq),
        )]
        manager = s.user_manager[owner]
        for key, status, who in (("needs_review", "Needs Review", owner), ("in_review", "In Review", manager)):
            b = both(key)
            frames.append(s._frame(route, np.nan_to_num(b), tz, who, Status=status))
        decided = both("decided")
        frames.append(s._frame(route, np.nan_to_num(decided), tz, manager,
                               Status=pl.Series(np.where(rejected, "Rejected", "Approved"))))
        presented = both("presented")
        frames.append(s._frame(~np.isnan(presented), np.nan_to_num(presented), tz, owner, Status="Presented"))
        decision = both("decision")
        frames.append(s._frame(outcome > 0, np.nan_to_num(decision), tz, owner,
                               Status=pl.Series(np.where(outcome == 1, "Accepted", "Denied"))))
        self.tables["Quote"] = assemble("Quote", self.quote_ids, frames, self.cutoff)
        self._quote_lines(opp, created_b, tz, owner, discount)
        self._approvals(route, rejected, both("needs_review"), decided, tz, owner, manager, rng)

    def _quote_lines(self, opp, created_b, tz, owner, discount) -> None:
        s = self.sim
        counts = self.n_lines[opp]
        q = np.repeat(np.arange(len(opp)), counts)
        within = np.arange(len(q)) - np.repeat(np.cumsum(counts) - counts, counts)
        line = self.line_start[opp][q] + within
        price = s.line_price[line]
        rows = self._per_row_frame(q, created_b, tz, owner, {
            "QuoteId": self.quote_ids.gather(q), "Product2Id": s.product_ids.gather(s.line_product[line]),
            "Quantity": s.line_qty[line], "UnitPrice": price, "Discount": discount[q],
            "TotalPrice": np.round(s.line_qty[line] * price * (1 - discount[q] / 100), 2),
        })
        self.tables["QuoteLineItem"] = assemble("QuoteLineItem", salesforce_ids("0QL", len(q)), [rows], self.cutoff)

    def _per_row_frame(self, parent: np.ndarray, b: np.ndarray, tz: np.ndarray, actor: np.ndarray,
                       fields: dict) -> pl.DataFrame:
        """Creation rows of child records created with their parent (``parent`` indexes b/tz/actor)."""
        s = self.sim
        return pl.DataFrame({
            "_rec": np.arange(len(parent), dtype=np.int64),
            "_t": utc(s._t(b[parent], tz[parent])),
            "_actor": s.user_ids.gather(actor[parent]),
            **fields,
        })

    def _approvals(self, route, rejected, requested_b, decided_b, tz, owner, manager, rng) -> None:
        s = self.sim
        idx = np.flatnonzero(route)
        npi = len(idx)
        pi_ids = salesforce_ids("04g", npi)
        req, dec = requested_b[idx], decided_b[idx]
        tz_i, owner_i, manager_i = tz[idx], owner[idx], manager[idx]
        rej = rejected[idx]
        req_t, dec_t = s._t(req, tz_i), s._t(dec, tz_i)
        elapsed = (dec_t - req_t).astype("timedelta64[s]").astype(np.float64) / 86400.0
        all_rows = np.ones(npi, bool)
        started = s._frame(all_rows, req, tz_i, owner_i,
                           ProcessDefinitionId=s.process_definition_id,
                           TargetObjectId=self.quote_ids.gather(idx), Status="Pending",
                           SubmittedById=s.user_ids.gather(owner_i))
        done = s._frame(all_rows, dec, tz_i, manager_i,
                        Status=pl.Series(np.where(rej, "Rejected", "Approved")), CompletedDate=dec_t,
                        LastActorId=s.user_ids.gather(manager_i), ElapsedTimeInDays=np.round(elapsed, 3))
        self.tables["ProcessInstance"] = assemble("ProcessInstance", pi_ids, [started, done], self.cutoff)
        # steps: the submission and the approver's decision
        comments = np.where(rej, ref.APPROVAL_COMMENTS[3],
                            np.array(ref.APPROVAL_COMMENTS[:3])[rng.integers(0, 3, npi)])
        step_started = s._frame(all_rows, req, tz_i, owner_i, rec=np.arange(npi) * 2,
                                ProcessInstanceId=pi_ids, StepStatus="Started",
                                OriginalActorId=s.user_ids.gather(owner_i), ActorId=s.user_ids.gather(owner_i),
                                ElapsedTimeInDays=0.0)
        step_done = s._frame(all_rows, dec, tz_i, manager_i, rec=np.arange(npi) * 2 + 1,
                             ProcessInstanceId=pi_ids,
                             StepStatus=pl.Series(np.where(rej, "Rejected", "Approved")),
                             OriginalActorId=s.user_ids.gather(manager_i), ActorId=s.user_ids.gather(manager_i),
                             Comments=pl.Series(comments), ElapsedTimeInDays=np.round(elapsed, 3))
        self.tables["ProcessInstanceStep"] = assemble(
            "ProcessInstanceStep", salesforce_ids("04h", 2 * npi), [step_started, step_done], self.cutoff)

    # --- contracts, orders, billing -------------------------------------------------

    def contracts(self) -> None:
        s = self.sim
        rng = s.rng
        opp = np.flatnonzero(s.won)
        nc = len(opp)
        tz = s.tz[opp]
        owner = self._owner_at(s.c_created)[opp]
        cm = s.contract_manager[s.account_region[s.acc[opp]]]
        term = np.array([12, 24, 36])[rng.integers(0, 3, nc)]
        start = s.clock.local_date(s.close[opp]).astype("datetime64[M]") + 1
        end = (start + term).astype("datetime64[D]") - 1
        non_standard = rng.random(nc) < s.plan.non_standard_terms_share
        terms = _pick(ref.NON_STANDARD_TERMS, rng.integers(0, len(ref.NON_STANDARD_TERMS), nc)).zip_with(
            pl.Series(non_standard), pl.Series([None] * nc, dtype=pl.String))
        self.contract_non_standard = non_standard
        all_rows = np.ones(nc, bool)
        draft = s._frame(
            all_rows, s.c_created[opp], tz, owner,
            AccountId=s.account_ids.gather(s.acc[opp]), Status="Draft", StatusCode="Draft",
            StartDate=start.astype("datetime64[D]"), EndDate=end, ContractTerm=term,
            SpecialTerms=terms, ContractNumber=number_strings(nc),
            OwnerId=s.user_ids.gather(owner),
        )
        review = s._frame(all_rows, s.c_review[opp], tz, owner, Status="In Approval Process", StatusCode="InApproval")
        active_t = s._t(s.c_active[opp], tz)
        signed = s.clock.local_date(s.c_active[opp])
        active = s._frame(
            all_rows, s.c_active[opp], tz, cm, Status="Activated", StatusCode="Activated",
            ActivatedDate=active_t, ActivatedById=s.user_ids.gather(cm), CustomerSignedDate=signed,
            CustomerSignedTitle=_pick(ref.SIGNER_TITLES, rng.integers(0, len(ref.SIGNER_TITLES), nc)),
            CompanySignedDate=signed,
        )
        contracts = assemble("Contract", self.contract_ids, [draft, review, active], self.cutoff)
        self.tables["Contract"] = contracts
        history = field_history(contracts, "ContractId", {"Status": ("Status", "Picklist")})
        self.tables["ContractHistory"] = finish_history(
            "ContractHistory", history, salesforce_ids("017", history.height, start=40_000_000_000))

    def orders_and_billing(self) -> None:
        s = self.sim
        rng = s.rng
        opp = np.flatnonzero(s.won)
        no = len(opp)
        tz = s.tz[opp]
        owner = self._owner_at(s.o_created)[opp]
        order_ids = salesforce_ids("801", no)
        amount = self.won_amount[opp]
        reworked = ~np.isnan(s.o_rework[opp])
        rework_amount = np.round(amount * rng.uniform(0.85, 1.15, no), 2)
        final_amount = np.where(reworked, rework_amount, amount)
        all_rows = np.ones(no, bool)
        draft = s._frame(
            all_rows, s.o_created[opp], tz, owner,
            AccountId=s.account_ids.gather(s.acc[opp]), OpportunityId=self.opp_ids.gather(opp),
            ContractId=self.contract_ids, Status="Draft", StatusCode="Draft",
            EffectiveDate=s.clock.local_date(s.o_created[opp]), OrderNumber=number_strings(no),
            TotalAmount=amount, Type="New", OwnerId=s.user_ids.gather(owner),
        )
        active = s._frame(all_rows, s.o_active[opp], tz, owner, Status="Activated", StatusCode="Activated",
                          ActivatedDate=s._t(s.o_active[opp], tz), ActivatedById=s.user_ids.gather(owner))
        rework = s._frame(reworked, np.nan_to_num(s.o_rework[opp]), tz, owner, TotalAmount=rework_amount)
        self.tables["Order"] = assemble("Order", order_ids, [draft, active, rework], self.cutoff)
        self.order_reworked = reworked
        # order items mirror the won line items
        line_mask = s.won[s.line_opp]
        lines = np.flatnonzero(line_mask)
        order_of_opp = np.cumsum(s.won) - 1
        lo = s.line_opp[lines]
        items = self._per_row_frame(lo, s.o_created, s.tz, self._owner_at(s.o_created), {
            "OrderId": order_ids.gather(order_of_opp[lo]),
            "Product2Id": s.product_ids.gather(s.line_product[lines]),
            "Quantity": s.line_qty[lines],
            "UnitPrice": np.round(s.line_price[lines] * (1 - self.won_discount[lo] / 100), 2),
            "TotalPrice": self.line_total_won[lines],
        })
        self.tables["OrderItem"] = assemble("OrderItem", salesforce_ids("802", len(lines)), [items], self.cutoff)
        self._billing(opp, order_ids, final_amount, tz)

    def _billing(self, opp, order_ids, amount, tz) -> None:
        s = self.sim
        rng = s.rng
        n = len(opp)
        billing = np.full(n, s.billing)
        currency = _pick(_REGION_CURRENCY, s.account_region[s.acc[opp]])
        invoice_ids = salesforce_ids("a0I", n)
        all_rows = np.ones(n, bool)
        draft = s._frame(
            all_rows, s.inv_draft[opp], tz, billing,
            Name=number_strings(n, prefix="INV-"), OwnerId=s.user_ids.gather(billing),
            blng__Account__c=s.account_ids.gather(s.acc[opp]), blng__Order__c=order_ids,
            blng__InvoiceDate__c=s.invoice_date[opp], blng__DueDate__c=s.due_date[opp],
            blng__InvoiceStatus__c="Draft", blng__PaymentStatus__c="Unpaid",
            blng__TotalAmount__c=amount, blng__Balance__c=amount, CurrencyIsoCode=currency,
        )
        posted = s._frame(all_rows, s.inv_posted[opp], tz, billing, blng__InvoiceStatus__c="Posted")
        pay_b = s.pay_b[opp]
        paid = s._frame(all_rows, pay_b, tz, billing, blng__PaymentStatus__c="Paid", blng__Balance__c=0.0)
        self.tables["blng__Invoice__c"] = assemble("blng__Invoice__c", invoice_ids, [draft, posted, paid], self.cutoff)
        payment_ids = salesforce_ids("a0P", n)
        payment = s._frame(
            all_rows, pay_b, tz, billing,
            Name=number_strings(n, prefix="PAY-"), OwnerId=s.user_ids.gather(billing),
            blng__Account__c=s.account_ids.gather(s.acc[opp]), blng__Amount__c=amount,
            blng__PaymentDate__c=s.clock.local_date(pay_b), blng__Status__c="Posted",
            blng__PaymentType__c=_pick(PAYMENT_TYPES, rng.integers(0, len(PAYMENT_TYPES), n)),
            CurrencyIsoCode=currency,
        )
        self.tables["blng__Payment__c"] = assemble("blng__Payment__c", payment_ids, [payment], self.cutoff)
        allocation = s._frame(
            all_rows, pay_b, tz, billing,
            Name=number_strings(n, prefix="PAI-"), blng__Payment__c=payment_ids, blng__Invoice__c=invoice_ids,
            blng__Amount__c=amount, blng__Type__c="Allocation",
        )
        self.tables["blng__PaymentAllocationInvoice__c"] = assemble(
            "blng__PaymentAllocationInvoice__c", salesforce_ids("a0A", n), [allocation], self.cutoff)

    # --- tasks and events -----------------------------------------------------------

    def activities(self) -> None:
        s = self.sim
        rng = s.rng
        life_end = np.fmin(s.close, s.b0 + 250)
        who = np.where(s.from_lead, self.converted_contact_of_opp(), self.primary_contact[s.acc])
        # tasks
        nt_per = np.minimum(rng.poisson(1.2, s.n), 5)
        o = np.repeat(np.arange(s.n), nt_per)
        nt = len(o)
        tb = s.b0[o] + rng.random(nt) * (life_end[o] - s.b0[o]) + 0.01
        tz = s.tz[o]
        actor = np.where(s.owner_change_b[o] <= tb, s.new_owner[o], s.owner[o])
        all_rows = np.ones(nt, bool)
        subtype = rng.integers(0, len(TASK_SUBTYPES), nt)
        created = s._frame(
            all_rows, tb, tz, actor,
            WhatId=self.opp_ids.gather(o), WhoId=self.contact_ids.gather(who[o]),
            Subject=_pick(ref.TASK_SUBJECTS, rng.integers(0, len(ref.TASK_SUBJECTS), nt)),
            Status="Not Started", Priority=_pick(["High", "Normal", "Low"], rng.choice(3, nt, p=[0.2, 0.7, 0.1])),
            ActivityDate=s.clock.local_date(tb) + rng.integers(1, 6, nt).astype("timedelta64[D]"),
            TaskSubtype=_pick(TASK_SUBTYPES, subtype), IsClosed=False, OwnerId=s.user_ids.gather(actor),
        )
        done = rng.random(nt) < 0.85
        done_b = tb + rng.gamma(1.5, 1.0, nt) + 0.01
        completed = s._frame(done, done_b, tz, actor, Status="Completed", IsClosed=True,
                             CompletedDateTime=s._t(done_b, tz))
        deleted = rng.random(nt) < 0.01
        deleted_b = np.where(done, done_b, tb) + rng.gamma(2.0, 2.0, nt) + 0.01
        removal = s._frame(deleted, deleted_b, tz, actor, IsDeleted=True)
        self.tables["Task"] = assemble("Task", salesforce_ids("00T", nt), [created, completed, removal], self.cutoff)
        # events (meetings)
        ne_per = np.minimum(rng.poisson(0.6, s.n), 3)
        o = np.repeat(np.arange(s.n), ne_per)
        ne = len(o)
        eb = s.b0[o] + rng.random(ne) * (life_end[o] - s.b0[o]) + 0.01
        tz = s.tz[o]
        actor = np.where(s.owner_change_b[o] <= eb, s.new_owner[o], s.owner[o])
        start_b = np.floor(eb + rng.gamma(1.5, 2.0, ne) + 0.5) + rng.integers(0, 16, ne) / 18.0
        start_t = s._t(start_b, tz)
        minutes = np.array([30, 60, 90])[rng.integers(0, 3, ne)]
        events = s._frame(
            np.ones(ne, bool), eb, tz, actor,
            WhatId=self.opp_ids.gather(o), WhoId=self.contact_ids.gather(who[o]),
            Subject=_pick(ref.EVENT_SUBJECTS, rng.integers(0, len(ref.EVENT_SUBJECTS), ne)),
            StartDateTime=start_t, EndDateTime=start_t + minutes.astype("timedelta64[m]"),
            ActivityDateTime=start_t, DurationInMinutes=minutes,
            Location=_pick(["Video call", "Customer office", "Our office", "Phone"], rng.integers(0, 4, ne)),
            OwnerId=s.user_ids.gather(actor),
        )
        self.tables["Event"] = assemble("Event", salesforce_ids("00U", ne), [events], self.cutoff)

    def converted_contact_of_opp(self) -> np.ndarray:
        s = self.sim
        out = np.zeros(s.n, dtype=np.int64)
        out[np.flatnonzero(s.from_lead)] = self.converted_contact
        return out
