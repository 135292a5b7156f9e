"""An imported log lands in the Salesforce path's contract: every analysis and the report run on it."""

from __future__ import annotations

import duckdb

from analysis.marts import write_analysis_marts
from l2c.eventlog_io import import_event_log
from l2c.eventlog_io.duck import qualified
from l2c.eventlog_io.template import write_template
from l2c.report.render import write_report


def test_analyses_and_report_run_on_the_imported_template(tmp_path):
    xlsx, _ = write_template(tmp_path)
    db = tmp_path / "l2c.duckdb"
    import_event_log(xlsx, db)
    written = write_analysis_marts(db, progress=None)
    assert written["variants"] == 2
    assert written["rep_performance"] == 2
    with duckdb.connect(str(db), read_only=True) as con:
        reps = con.execute(
            f"SELECT owner_name, won_cases FROM {qualified(con, 'l2c_analysis', 'rep_performance')} ORDER BY owner_name"
        ).fetchall()
        variants = con.execute(f"SELECT cases FROM {qualified(con, 'l2c_analysis', 'variants')}").fetchall()
    assert reps == [("John Smith", 0), ("Maria Rossi", 1)]
    assert variants == [(1,), (1,)]
    html = write_report(db, tmp_path / "report").read_text(encoding="utf-8")
    assert "006EXAMPLE000002AAA" in html
    assert "Maria Rossi" in html
