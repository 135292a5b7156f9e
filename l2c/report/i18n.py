"""Every word the report shows, in English and Italian, and locale-aware number/date formatting.

The report's language is one setting (``write_report(..., language="it")``):
all interface strings come from :data:`STRINGS`, and numbers, percentages,
durations and dates go through a :class:`Formatter` for that language. Text
that comes from the data (activity, rep and account names, picklist values)
is never translated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

LANGUAGES = ("en", "it")
DEFAULT_LANGUAGE = "en"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Lead-to-Cash process report",
        "subtitle": "How opportunities really move from lead to cash: where they stall, who deviates and why.",
        "generated": "Generated {when} from {db}",
        "data_period": "Events from {first} to {last}",
        "contents": "Contents",
        "not_available": "Not available: {what} was not found in the database. Run “l2c analyze” first.",
        "no_rows": "No data.",
        "numbers": "Show the numbers",
        "sort_hint": "Click a column heading to sort.",
        "days": "days",
        "day_unit": "d",
        "hour_unit": "h",
        "minute_unit": "min",
        "none": "–",
        "yes": "yes",
        "no": "no",
        # KPIs
        "kpis": "Key figures",
        "kpi_cases": "Opportunities",
        "kpi_cases_help": "Opportunities (cases) in the event log.",
        "kpi_win_rate": "Win rate",
        "kpi_win_rate_help": "Closed Won ÷ closed opportunities.",
        "kpi_sales_cycle": "Median sales cycle",
        "kpi_sales_cycle_help": "Opportunity Created → Closed Won, won opportunities.",
        "kpi_quote_to_contract": "Quote → contract",
        "kpi_quote_to_contract_help": "Median from first Quote Created to Contract Activated.",
        "kpi_days_to_pay": "Days to pay",
        "kpi_days_to_pay_help": "Median from invoice posted to payment received.",
        "kpi_conformance_rate": "Conformance rate",
        "kpi_conformance_rate_help": "Share of opportunities that break no conformance rule.",
        "kpi_lead_conversion": "Lead conversion",
        "kpi_lead_conversion_help": "Converted leads ÷ all leads.",
        # process map
        "process_map": "Process map",
        "process_map_intro": (
            "Every box is an activity (with how often it happens); every arrow is one activity directly "
            "followed by another. Dashed arrows go back to an earlier step (rework)."
        ),
        "view_frequency": "Frequency",
        "view_performance": "Performance",
        "legend_frequency": "Arrow width and colour: how many times one activity directly followed the other.",
        "legend_performance": "Arrow width and colour: median waiting time between the two activities.",
        "legend_back_edge": "dashed: back to an earlier step",
        "start": "Start",
        "end": "End",
        "edge_title": "{source} → {target}: {frequency} times in {cases} cases; median wait {median}, mean {mean}",
        "node_title": "{activity}: {frequency} times in {cases} cases",
        "edges_table": "Directly-follows relations",
        # sections
        "throughput": "Throughput",
        "throughput_intro": "How long each part of the process takes, first occurrence to first occurrence.",
        "sales_cycle_distribution": "Sales cycle distribution (won opportunities)",
        "milestones_bands": "Durations between milestones: 10th–90th percentile band, 25th–75th darker, median marked",
        "variants": "Variants",
        "variants_intro": "The most frequent activity sequences, with their share of all opportunities.",
        "bottlenecks": "Bottlenecks",
        "bottlenecks_intro": "Where opportunities wait longest: transitions ranked by total waiting time.",
        "rework": "Rework",
        "rework_intro": "Activities repeated within the same opportunity and backward stage moves.",
        "conformance": "Conformance",
        "conformance_intro": "Each rule, how many opportunities it applies to, and how many break it.",
        "fitness": "Fitness against the reference happy path",
        "example_cases": "Example cases",
        "root_causes": "Root causes",
        "root_causes_intro": (
            "Which attribute values go with a bad outcome more often than the rest: lift > 1 means more often; "
            "impact is the number of excess cases."
        ),
        "outcome_slow": "Slow (slowest quarter of sales cycles)",
        "outcome_lost": "Lost",
        "outcome_non_conformant": "Non-conformant",
        "outcome_late_payment": "Paid late",
        "reps": "Sales rep scorecard",
        "reps_intro": "Per sales rep, compared with the team median.",
        "discounts": "Discounts",
        "discounts_intro": "Discount bands against win rate, deal size and days to pay.",
        "lead_funnel": "Lead funnel",
        "lead_funnel_intro": "How many leads reach each step, and where they are lost.",
        "days_to_pay": "Days to pay",
        "days_to_pay_intro": "Distribution of days from invoice to payment.",
        "histogram_bin": "Range",
        "histogram_count": "Count",
        "funnel_step": "Step",
        "funnel_reached": "Reached",
        "funnel_of_previous": "of previous step",
        "funnel_of_first": "of first step",
        "chart_value": "Value",
        "chart_label": "Item",
        "more_rows": "{shown} of {total} rows shown.",
    },
    "it": {
        "title": "Report del processo Lead-to-Cash",
        "subtitle": (
            "Come le opportunità passano davvero dal lead all'incasso: dove si fermano, chi devia e perché."
        ),
        "generated": "Generato il {when} da {db}",
        "data_period": "Eventi dal {first} al {last}",
        "contents": "Indice",
        "not_available": "Non disponibile: {what} non è presente nel database. Eseguire prima “l2c analyze”.",
        "no_rows": "Nessun dato.",
        "numbers": "Mostra i numeri",
        "sort_hint": "Fare clic sull'intestazione di una colonna per ordinare.",
        "days": "giorni",
        "day_unit": "g",
        "hour_unit": "h",
        "minute_unit": "min",
        "none": "–",
        "yes": "sì",
        "no": "no",
        "kpis": "Indicatori principali",
        "kpi_cases": "Opportunità",
        "kpi_cases_help": "Opportunità (casi) nel registro eventi.",
        "kpi_win_rate": "Tasso di vittoria",
        "kpi_win_rate_help": "Closed Won ÷ opportunità chiuse.",
        "kpi_sales_cycle": "Ciclo di vendita mediano",
        "kpi_sales_cycle_help": "Da Opportunity Created a Closed Won, opportunità vinte.",
        "kpi_quote_to_contract": "Preventivo → contratto",
        "kpi_quote_to_contract_help": "Mediana dal primo Quote Created a Contract Activated.",
        "kpi_days_to_pay": "Giorni di pagamento",
        "kpi_days_to_pay_help": "Mediana dall'emissione della fattura all'incasso.",
        "kpi_conformance_rate": "Tasso di conformità",
        "kpi_conformance_rate_help": "Quota di opportunità che non violano alcuna regola di conformità.",
        "kpi_lead_conversion": "Conversione dei lead",
        "kpi_lead_conversion_help": "Lead convertiti ÷ tutti i lead.",
        "process_map": "Mappa del processo",
        "process_map_intro": (
            "Ogni riquadro è un'attività (con la sua frequenza); ogni freccia è un'attività seguita "
            "direttamente da un'altra. Le frecce tratteggiate tornano a un passo precedente (rilavorazione)."
        ),
        "view_frequency": "Frequenza",
        "view_performance": "Prestazioni",
        "legend_frequency": "Spessore e colore delle frecce: quante volte un'attività ha seguito direttamente l'altra.",
        "legend_performance": "Spessore e colore delle frecce: attesa mediana tra le due attività.",
        "legend_back_edge": "tratteggiata: ritorno a un passo precedente",
        "start": "Inizio",
        "end": "Fine",
        "edge_title": "{source} → {target}: {frequency} volte in {cases} casi; attesa mediana {median}, media {mean}",
        "node_title": "{activity}: {frequency} volte in {cases} casi",
        "edges_table": "Relazioni di successione diretta",
        "throughput": "Tempi di attraversamento",
        "throughput_intro": "Quanto dura ogni parte del processo, dalla prima occorrenza alla prima occorrenza.",
        "sales_cycle_distribution": "Distribuzione del ciclo di vendita (opportunità vinte)",
        "milestones_bands": (
            "Durate tra le tappe: fascia dal 10° al 90° percentile, dal 25° al 75° più scura, mediana marcata"
        ),
        "variants": "Varianti",
        "variants_intro": "Le sequenze di attività più frequenti, con la loro quota sul totale delle opportunità.",
        "bottlenecks": "Colli di bottiglia",
        "bottlenecks_intro": "Dove le opportunità aspettano di più: transizioni ordinate per attesa totale.",
        "rework": "Rilavorazioni",
        "rework_intro": "Attività ripetute nella stessa opportunità e ritorni a fasi precedenti.",
        "conformance": "Conformità",
        "conformance_intro": "Ogni regola, a quante opportunità si applica e quante la violano.",
        "fitness": "Aderenza al percorso di riferimento",
        "example_cases": "Casi di esempio",
        "root_causes": "Cause principali",
        "root_causes_intro": (
            "Quali valori degli attributi si accompagnano più spesso a un esito negativo: lift > 1 significa più "
            "spesso; l'impatto è il numero di casi in eccesso."
        ),
        "outcome_slow": "Lente (quartile più lento del ciclo di vendita)",
        "outcome_lost": "Perse",
        "outcome_non_conformant": "Non conformi",
        "outcome_late_payment": "Pagate in ritardo",
        "reps": "Scheda dei commerciali",
        "reps_intro": "Per commerciale, a confronto con la mediana del team.",
        "discounts": "Sconti",
        "discounts_intro": "Fasce di sconto a confronto con tasso di vittoria, importo e giorni di pagamento.",
        "lead_funnel": "Imbuto dei lead",
        "lead_funnel_intro": "Quanti lead raggiungono ogni passo e dove si perdono.",
        "days_to_pay": "Giorni di pagamento",
        "days_to_pay_intro": "Distribuzione dei giorni dalla fattura all'incasso.",
        "histogram_bin": "Intervallo",
        "histogram_count": "Numero",
        "funnel_step": "Passo",
        "funnel_reached": "Raggiunti",
        "funnel_of_previous": "del passo precedente",
        "funnel_of_first": "del primo passo",
        "chart_value": "Valore",
        "chart_label": "Voce",
        "more_rows": "Mostrate {shown} righe su {total}.",
    },
}

#: Column headings of the tables, by column name; unknown columns are shown humanised.
COLUMN_LABELS: dict[str, dict[str, str]] = {
    "en": {},
    "it": {},
}

_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "it": ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),
}


def check_language(language: str) -> str:
    """The language code if the report speaks it, else a ValueError listing the ones it does."""
    if language not in STRINGS:
        raise ValueError(f"unknown report language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    return language


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Formatter:
    """Formats numbers, shares, durations and dates the way readers of ``language`` expect."""

    language: str = DEFAULT_LANGUAGE

    def t(self, key: str, **values: object) -> str:
        """The interface string ``key`` in this language, with ``{placeholders}`` filled in."""
        text = STRINGS[self.language].get(key) or STRINGS[DEFAULT_LANGUAGE][key]
        return text.format(**values) if values else text

    @property
    def none(self) -> str:
        return self.t("none")

    def number(self, value: float | int | None, digits: int = 0) -> str:
        """``1,234.5`` in English, ``1.234,5`` in Italian."""
        if _missing(value):
            return self.none
        text = f"{value:,.{digits}f}"
        if self.language == "it":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def integer(self, value: float | int | None) -> str:
        return self.number(value, 0)

    def percent(self, share: float | None, digits: int = 1) -> str:
        """A share in 0..1 as a percentage: ``42.5%`` / ``42,5%``."""
        if _missing(share):
            return self.none
        return f"{self.number(share * 100, digits)}%"

    def ratio(self, value: float | None, digits: int = 2) -> str:
        """A multiplier such as a lift: ``1.85×``."""
        if _missing(value):
            return self.none
        return f"{self.number(value, digits)}×"

    def days(self, value: float | None, digits: int = 1) -> str:
        """A duration in days with its unit: ``12.5 days`` / ``12,5 giorni``."""
        if _missing(value):
            return self.none
        return f"{self.number(value, digits)} {self.t('days')}"

    def duration(self, days: float | None) -> str:
        """A compact duration in the most readable unit: ``45 min``, ``5.2 h``, ``12.3 d``."""
        if _missing(days):
            return self.none
        hours = days * 24
        if hours < 1:
            return f"{self.number(hours * 60, 0)} {self.t('minute_unit')}"
        if hours < 48:
            return f"{self.number(hours, 1)} {self.t('hour_unit')}"
        return f"{self.number(days, 1)} {self.t('day_unit')}"

    def date(self, value: date | datetime | None) -> str:
        """``5 Jan 2024`` / ``5 gen 2024``."""
        if value is None:
            return self.none
        return f"{value.day} {_MONTHS[self.language][value.month - 1]} {value.year}"

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return self.none
        return f"{self.date(value)} {value:%H:%M}"

    def yes_no(self, value: bool | None) -> str:
        if value is None:
            return self.none
        return self.t("yes") if value else self.t("no")
