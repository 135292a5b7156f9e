"""write_report and ``l2c report`` without a browser: files, self-containment, fallbacks, errors, formatting."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from report_sample import INJECTED, build_sample_db, sample_frames, write_marts

from l2c.cli import main
from l2c.report import PROCESS_MAP_FILE, PROCESS_MAP_PNG_FILE, REPORT_FILE, ReportDataError, write_report
from l2c.report.data import load_report_data
from l2c.report.i18n import STRINGS, Formatter

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    return build_sample_db(tmp_path_factory.mktemp("render-db") / "l2c.duckdb")


@pytest.fixture(scope="module")
def marts_only_db(tmp_path_factory) -> Path:
    """The dbt marts without any analysis table (``l2c analyze`` not run yet)."""
    path = tmp_path_factory.mktemp("marts-only") / "l2c.duckdb"
    write_marts(path, sample_frames())
    return path


def test_the_report_is_one_self_contained_file_plus_the_process_map_svg(sample_db, tmp_path):
    html_path = write_report(sample_db, tmp_path / "out")
    assert html_path == tmp_path / "out" / REPORT_FILE
    html = html_path.read_text(encoding="utf-8")
    # Nothing to fetch: no external scripts, styles, fonts or images; only the SVG namespace is a URL.
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg")
    assert not re.search(r"<link\b|<img\b|\bsrc=|@import|url\(", html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert html.count("<script>") == 1
    svg = ET.parse(tmp_path / "out" / PROCESS_MAP_FILE).getroot()
    activities = [t.text for t in svg.iter(f"{SVG}tspan")]
    assert "Opportunity Created" in activities and "Payment Received" in activities
    assert len([g for g in svg.iter(f"{SVG}g") if "edge" in g.get("class", "").split()]) > 20


def test_the_process_map_is_also_written_as_a_png_when_pillow_is_installed(sample_db, tmp_path):
    image_module = pytest.importorskip("PIL.Image", reason="Pillow (pm4py extra) not installed: no PNG")
    write_report(sample_db, tmp_path)
    with image_module.open(tmp_path / PROCESS_MAP_PNG_FILE) as image:
        assert image.format == "PNG"
        width, height = image.size
        # The same geometry as the SVG's, at 1 px per SVG unit.
        svg = ET.parse(tmp_path / PROCESS_MAP_FILE).getroot()
        assert (width, height) == (int(svg.get("width")), int(svg.get("height")))
        colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
        assert (255, 255, 255) in colours and len(colours) > 50  # drawn on, not blank


def test_data_text_is_escaped_everywhere(sample_db, tmp_path):
    html = write_report(sample_db, tmp_path).read_text(encoding="utf-8")
    assert INJECTED not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2


def test_without_analysis_marts_each_section_says_what_to_run(marts_only_db, sample_db, tmp_path):
    html = write_report(marts_only_db, tmp_path).read_text(encoding="utf-8")
    missing = STRINGS["en"]["not_available"].split("{what}")[0]
    for table in ("process_map_edges", "variants", "bottlenecks", "rework", "conformance_rules", "root_causes",
                  "rep_performance", "discount_bands", "lead_funnel"):
        assert f"{missing}l2c_analysis.{table}" in html
    # Milestone figures fall back to the event log with the analysis marts' definition.
    fallback, full = load_report_data(marts_only_db), load_report_data(sample_db)
    for key in ("cases", "win_rate", "sales_cycle", "quote_to_contract", "lead_conversion"):
        assert fallback.kpi(key).value == pytest.approx(full.kpi(key).value, rel=1e-12), key
    assert fallback.kpi("conformance_rate").value is None


def test_a_missing_database_or_mart_is_a_clear_error(tmp_path):
    with pytest.raises(ReportDataError, match=r"does not exist; run the pipeline first"):
        write_report(tmp_path / "nowhere.duckdb", tmp_path / "out")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ReportDataError, match=r"table l2c.event_log is missing; build the marts first"):
        write_report(empty, tmp_path / "out")
    with pytest.raises(ValueError, match="unknown report language 'fr'; choose one of: en, it"):
        write_report(empty, tmp_path / "out", language="fr")


def test_cli_writes_the_report_in_the_language_asked(sample_db, tmp_path, capsys):
    assert main(["report", "--db", str(sample_db), "--out", str(tmp_path / "r"), "--language", "it"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'r' / REPORT_FILE}"
    html = (tmp_path / "r" / REPORT_FILE).read_text(encoding="utf-8")
    assert '<html lang="it">' in html and "Mappa del processo" in html


def test_cli_report_runs_are_recorded_in_the_dagster_instance(sample_db, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    assert main(["report", "--db", str(sample_db), "--out", str(tmp_path / "r")]) == 0

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert (run.job_name, run.status) == ("l2c_write_report", dg.DagsterRunStatus.SUCCESS)
        (record,) = instance.fetch_materializations(dg.AssetKey("l2c_report"), limit=5).records
        assert record.asset_materialization.metadata["path"].value == str(tmp_path / "r" / REPORT_FILE)


def test_cli_takes_folder_and_language_from_the_environment(sample_db, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("L2C_DUCKDB_PATH", str(sample_db))
    monkeypatch.setenv("L2C_REPORT_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("L2C_REPORT_LANGUAGE", "it")
    assert main(["report"]) == 0
    assert '<html lang="it">' in (tmp_path / "env" / REPORT_FILE).read_text(encoding="utf-8")
    monkeypatch.setenv("L2C_REPORT_LANGUAGE", "de")
    assert main(["report"]) == 1
    assert "$L2C_REPORT_LANGUAGE='de' is not a report language; use one of: en, it" in capsys.readouterr().err


def test_cli_fails_with_one_line_when_the_database_is_missing(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("l2c report: error: DuckDB file ") and "does not exist" in err


def test_cli_reads_a_database_another_process_only_reads(sample_db, tmp_path):
    copy = tmp_path / "l2c.duckdb"
    shutil.copy(sample_db, copy)
    with duckdb.connect(str(copy), read_only=True):
        assert main(["report", "--db", str(copy), "--out", str(tmp_path / "r")]) == 0


def test_numbers_dates_and_durations_follow_the_language():
    en, it = Formatter("en"), Formatter("it")
    assert (en.number(1234567.891, 2), it.number(1234567.891, 2)) == ("1,234,567.89", "1.234.567,89")
    assert (en.percent(0.4251), it.percent(0.4251)) == ("42.5%", "42,5%")
    assert (en.days(19.25), it.days(19.25)) == ("19.2 days", "19,2 giorni")
    assert [en.duration(d) for d in (0.01, 0.5, 3.25, 1188.0)] == ["14 min", "12.0 h", "3.2 d", "1,188 d"]
    assert it.duration(3.25) == "3,2 g"
    from datetime import date
    assert (en.date(date(2024, 5, 7)), it.date(date(2024, 5, 7))) == ("7 May 2024", "7 mag 2024")
    assert en.percent(None) == "–"


def test_the_analysis_vocabulary_is_translated_but_data_values_are_not(sample_db, tmp_path):
    it = Formatter("it")
    assert [it.value(v) for v in ("paid on time", "over 30%", "up to 10k", "10k-50k", "(missing)", "Retail")] == [
        "pagata puntualmente", "oltre 30%", "fino a 10k", "10k-50k", "(mancante)", "Retail"]
    html = write_report(sample_db, tmp_path, language="it").read_text(encoding="utf-8")
    assert "pagata puntualmente" in html and ">paid on time<" not in html
    assert ">oltre 30%<" in html and ">over 30%<" not in html
    assert "Stage: Prospecting" in html  # activity names stay as the data has them


def test_every_interface_string_exists_in_both_languages():
    assert set(STRINGS["en"]) == set(STRINGS["it"])
    for key, text in STRINGS["en"].items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", STRINGS["it"][key])), key
