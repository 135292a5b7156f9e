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
        "kpi_sales_cycle_help": "Median from Opportunity Created to Closed Won or Closed Lost.",
        "kpi_quote_to_contract": "Quote → contract",
        "kpi_quote_to_contract_help": "Median from first Quote Created to Contract Activated.",
        "kpi_days_to_pay": "Days to pay",
        "kpi_days_to_pay_help": "Median from invoice posted to payment received, paid invoices.",
        "kpi_conformance_rate": "Conformance rate",
        "kpi_conformance_rate_help": "Share of checked opportunities that break no conformance rule.",
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
        "detail_main": "Main paths ({shown} of {total} arrows)",
        "detail_all": "All {total} arrows",
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
        "sales_cycle_distribution": "Sales cycle: Opportunity Created → Closed Won or Closed Lost",
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
        "fitness_summary": (
            "Average fitness {fitness} (1 = every case fits the model); {fitting} of opportunities fit it exactly. "
            "Deviations per activity: log moves are events the model does not allow, model moves are steps "
            "the model expects but the case skipped."
        ),
        "backward_stage_moves": "Backward stage moves",
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
        # table headings: "col_<column name>"
        "col_rank": "#",
        "col_cases": "Cases",
        "col_share": "Share",
        "col_cumulative_share": "Cumulative share",
        "col_duration_median": "Median duration",
        "col_activities": "Activities",
        "col_source": "From",
        "col_target": "To",
        "col_frequency": "Times",
        "col_median_wait": "Median wait",
        "col_mean_wait": "Mean wait",
        "col_median": "Median",
        "col_mean": "Mean",
        "col_p10": "10th pct",
        "col_p25": "25th pct",
        "col_p75": "75th pct",
        "col_p90": "90th pct",
        "col_total": "Total wait",
        "col_share_of_waiting": "Share of all waiting",
        "col_cases_delayed": "Cases delayed",
        "col_example_case_ids": "Example cases",
        "col_activity": "Activity",
        "col_rework_cases": "Cases with rework",
        "col_rework_rate": "Rework rate",
        "col_repeated_events": "Repeated events",
        "col_max_occurrences": "Max in one case",
        "col_from_stage": "From stage",
        "col_to_stage": "Back to stage",
        "col_moves": "Moves",
        "col_rule": "Rule",
        "col_description": "Description",
        "col_template": "Template",
        "col_cases_checked": "Cases checked",
        "col_violations": "Violations",
        "col_violation_rate": "Violation rate",
        "col_case_id": "Opportunity Id",
        "col_opportunity": "Opportunity",
        "col_explanation": "What happened",
        "col_attribute": "Attribute",
        "col_value": "Value",
        "col_outcome_cases": "With outcome",
        "col_outcome_rate": "Outcome rate",
        "col_rest_outcome_rate": "Rate in the rest",
        "col_lift": "Lift",
        "col_impact": "Impact (excess cases)",
        "col_p_adjusted": "p (adjusted)",
        "col_significant": "Significant",
        "col_owner_name": "Sales rep",
        "col_team": "Team",
        "col_closed_cases": "Closed",
        "col_win_rate": "Win rate",
        "col_team_win_rate": "Team win rate",
        "col_median_cycle_days": "Median cycle",
        "col_team_median_cycle_days": "Team median cycle",
        "col_cycle_vs_team": "Cycle vs team",
        "col_conformance_rate": "Conformance",
        "col_team_conformance_rate": "Team conformance",
        "col_team_rework_rate": "Team rework",
        "col_flags": "Flags",
        "col_discount_band": "Discount band",
        "col_won_cases": "Won",
        "col_mean_discount_pct": "Mean discount %",
        "col_median_amount": "Median amount",
        "col_median_won_amount": "Median won amount",
        "col_invoices": "Invoices",
        "col_median_days_to_pay": "Median days to pay",
        "col_late_payment_rate": "Paid late",
        "col_lead_source": "Lead source",
        "col_step": "Step",
        "col_leads": "Leads",
        "col_reached": "Reached",
        "col_reached_share": "Reached share",
        "col_continued": "Continued",
        "col_dropped": "Stopped here",
        "col_step_conversion": "Step conversion",
        "col_converted": "Converted",
        "col_won": "Won",
        "col_is_biggest_drop": "Biggest drop",
        "col_aging_bucket": "Payment status",
        "col_log_moves": "Log moves",
        "col_cases_with_log_moves": "Cases with log moves",
        "col_model_moves": "Model moves",
        "col_cases_with_model_moves": "Cases with model moves",
        "col_milestone": "Milestone",
        "col_region": "Region",
        "col_industry": "Industry",
        "col_product_category": "Product category",
        "col_opportunity_type": "Opportunity type",
        "col_amount": "Amount",
        "col_discount_pct": "Discount",
        "col_customer_segment": "Customer segment",
        "col_owner_role": "Role",
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
        "kpi_sales_cycle_help": "Mediana da Opportunity Created a Closed Won o Closed Lost.",
        "kpi_quote_to_contract": "Preventivo → contratto",
        "kpi_quote_to_contract_help": "Mediana dal primo Quote Created a Contract Activated.",
        "kpi_days_to_pay": "Giorni di pagamento",
        "kpi_days_to_pay_help": "Mediana dall'emissione della fattura all'incasso, fatture pagate.",
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
        "detail_main": "Percorsi principali ({shown} di {total} frecce)",
        "detail_all": "Tutte le {total} frecce",
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
        "sales_cycle_distribution": "Ciclo di vendita: da Opportunity Created a Closed Won o Closed Lost",
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
        "fitness_summary": (
            "Aderenza media {fitness} (1 = ogni caso rispetta il modello); il {fitting} delle opportunità lo "
            "rispetta esattamente. Deviazioni per attività: i log move sono eventi che il modello non prevede, "
            "i model move sono passi previsti dal modello ma saltati dal caso."
        ),
        "backward_stage_moves": "Ritorni a fasi precedenti",
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
        "col_rank": '#',
        "col_cases": 'Casi',
        "col_share": 'Quota',
        "col_cumulative_share": 'Quota cumulata',
        "col_duration_median": 'Durata mediana',
        "col_activities": 'Attività',
        "col_source": 'Da',
        "col_target": 'A',
        "col_frequency": 'Volte',
        "col_median_wait": 'Attesa mediana',
        "col_mean_wait": 'Attesa media',
        "col_median": 'Mediana',
        "col_mean": 'Media',
        "col_p10": '10° pct',
        "col_p25": '25° pct',
        "col_p75": '75° pct',
        "col_p90": '90° pct',
        "col_total": 'Attesa totale',
        "col_share_of_waiting": "Quota dell'attesa totale",
        "col_cases_delayed": 'Casi rallentati',
        "col_example_case_ids": 'Casi di esempio',
        "col_activity": 'Attività',
        "col_rework_cases": 'Casi con rilavorazione',
        "col_rework_rate": 'Tasso di rilavorazione',
        "col_repeated_events": 'Eventi ripetuti',
        "col_max_occurrences": 'Massimo in un caso',
        "col_from_stage": 'Dalla fase',
        "col_to_stage": 'Indietro alla fase',
        "col_moves": 'Passaggi',
        "col_rule": 'Regola',
        "col_description": 'Descrizione',
        "col_template": 'Modello',
        "col_cases_checked": 'Casi verificati',
        "col_violations": 'Violazioni',
        "col_violation_rate": 'Tasso di violazione',
        "col_case_id": 'Id opportunità',
        "col_opportunity": 'Opportunità',
        "col_explanation": 'Cosa è successo',
        "col_attribute": 'Attributo',
        "col_value": 'Valore',
        "col_outcome_cases": 'Con esito',
        "col_outcome_rate": "Tasso dell'esito",
        "col_rest_outcome_rate": 'Tasso nel resto',
        "col_lift": 'Lift',
        "col_impact": 'Impatto (casi in eccesso)',
        "col_p_adjusted": 'p (corretto)',
        "col_significant": 'Significativo',
        "col_owner_name": 'Commerciale',
        "col_team": 'Team',
        "col_closed_cases": 'Chiuse',
        "col_win_rate": 'Tasso di vittoria',
        "col_team_win_rate": 'Tasso di vittoria del team',
        "col_median_cycle_days": 'Ciclo mediano',
        "col_team_median_cycle_days": 'Ciclo mediano del team',
        "col_cycle_vs_team": 'Ciclo rispetto al team',
        "col_conformance_rate": 'Conformità',
        "col_team_conformance_rate": 'Conformità del team',
        "col_team_rework_rate": 'Rilavorazione del team',
        "col_flags": 'Segnalazioni',
        "col_discount_band": 'Fascia di sconto',
        "col_won_cases": 'Vinte',
        "col_mean_discount_pct": 'Sconto medio %',
        "col_median_amount": 'Importo mediano',
        "col_median_won_amount": 'Importo mediano vinto',
        "col_invoices": 'Fatture',
        "col_median_days_to_pay": 'Giorni di pagamento mediani',
        "col_late_payment_rate": 'Pagate in ritardo',
        "col_lead_source": 'Origine del lead',
        "col_step": 'Passo',
        "col_leads": 'Lead',
        "col_reached": 'Raggiunti',
        "col_reached_share": 'Quota raggiunta',
        "col_continued": 'Proseguiti',
        "col_dropped": 'Fermi qui',
        "col_step_conversion": 'Conversione del passo',
        "col_converted": 'Convertiti',
        "col_won": 'Vinti',
        "col_is_biggest_drop": 'Perdita maggiore',
        "col_aging_bucket": 'Stato del pagamento',
        "col_log_moves": "Log move",
        "col_cases_with_log_moves": "Casi con log move",
        "col_model_moves": "Model move",
        "col_cases_with_model_moves": "Casi con model move",
        "col_milestone": "Tappa",
        "col_region": "Regione",
        "col_industry": "Settore",
        "col_product_category": "Categoria di prodotto",
        "col_opportunity_type": "Tipo di opportunità",
        "col_amount": "Importo",
        "col_discount_pct": "Sconto",
        "col_customer_segment": "Segmento di clientela",
        "col_owner_role": "Ruolo",
    },
}

#: Words the analysis marts write into their values (payment statuses, rep flags, group and band
#: names), shown in the reader's language. Values from Salesforce itself are never translated.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "slow": "slow", "fast": "fast", "low_win_rate": "low win rate", "high_win_rate": "high win rate",
        "low_conformance": "low conformance", "high_rework": "high rework",
    },
    "it": {
        "paid on time": "pagata puntualmente",
        "paid 1-30 days late": "pagata con 1-30 giorni di ritardo",
        "paid 31-60 days late": "pagata con 31-60 giorni di ritardo",
        "paid over 60 days late": "pagata con oltre 60 giorni di ritardo",
        "open, not yet due": "aperta, non ancora scaduta",
        "open, 1-30 days overdue": "aperta, scaduta da 1-30 giorni",
        "open, 31-60 days overdue": "aperta, scaduta da 31-60 giorni",
        "open, over 60 days overdue": "aperta, scaduta da oltre 60 giorni",
        "paid, no due date": "pagata, senza scadenza",
        "open, no due date": "aperta, senza scadenza",
        "slow": "lento", "fast": "veloce", "low_win_rate": "basso tasso di vittoria",
        "high_win_rate": "alto tasso di vittoria", "low_conformance": "bassa conformità",
        "high_rework": "molte rilavorazioni",
        "(all)": "(tutti)", "(missing)": "(mancante)", "Won": "Vinti",
    },
}
#: Words of generated band names ("up to 10k", "over 30%").
BAND_WORDS: dict[str, tuple[tuple[str, str], ...]] = {"it": (("up to ", "fino a "), ("over ", "oltre "))}

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

    def column(self, name: str) -> str:
        """A table heading for column ``name``: ``col_<name>`` if the report knows it, else the name humanised."""
        for candidate in (name, name.removesuffix("_days")):  # median_days: the median, shown as a duration
            key = f"col_{candidate}"
            text = STRINGS[self.language].get(key) or STRINGS[DEFAULT_LANGUAGE].get(key)
            if text:
                return text
        return name.replace("_", " ").capitalize()

    def value(self, text: str | None) -> str | None:
        """An analysis value (payment status, flag, band, group) in this language; anything else unchanged."""
        if text is None:
            return None
        labels = VALUE_LABELS.get(self.language, {})
        if text in labels:
            return labels[text]
        for english, local in BAND_WORDS.get(self.language, ()):
            if text.startswith(english) and text[len(english):len(english) + 1].isdigit():
                return local + text[len(english):]
        return text

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
        return f"{self.number(days, 1 if days < 100 else 0)} {self.t('day_unit')}"

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
