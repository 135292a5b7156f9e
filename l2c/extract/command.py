"""The body of ``l2c extract``: the Dagster job ``salesforce_extract`` on the chosen objects.

The command runs the same assets as the Dagster UI (``orchestration/salesforce.py``),
so its runs are recorded in the Dagster instance when ``DAGSTER_HOME`` is set.
``--objects`` selects assets of the job, ``--full-refresh`` and ``--objects-file``
are the Salesforce resource's settings for this run, and ``--demo`` starts the
local sandbox org (:class:`l2c.sandbox.server.SandboxOrg`) and points the
``SALESFORCE_*`` settings at it, as ``l2c demo`` does.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TextIO

from l2c.extract.errors import ConfigurationError
from l2c.extract.settings import OBJECTS_FILE_ENV, ObjectList, load_object_list
from l2c.pipeline import JobOutcome, environment, run_job

#: The Dagster job ``l2c extract`` runs.
EXTRACT_JOB = "salesforce_extract"


def extract_command(
    *,
    db: str | None = None,
    objects: list[str] | None = None,
    objects_file: str | None = None,
    full_refresh: bool = False,
    demo: bool = False,
    n_opportunities: int = 2000,
    seed: int = 42,
    out: TextIO | None = None,
) -> JobOutcome:
    """Run one extraction through Dagster, printing progress to ``out`` (default standard output).

    Raises :class:`~l2c.extract.errors.ConfigurationError` for an unknown object or object list, and
    :class:`~l2c.pipeline.PipelineError` when the run fails (its ``reason`` says why and what to do).
    """
    out = out or sys.stdout
    objects_file = str(Path(objects_file).resolve()) if objects_file else None
    settings: dict[str, object] = {"full_refresh": full_refresh}
    if objects_file:
        settings["objects_file"] = objects_file
    with contextlib.ExitStack() as stack, contextlib.redirect_stdout(out):
        # The definitions make their assets from the object list they load: the same file.
        stack.enter_context(environment(**{OBJECTS_FILE_ENV: objects_file}))
        selection = _selection(load_object_list(objects_file), objects)
        if demo:
            from l2c.demo import serving_demo_org

            print(f"starting the demo org ({n_opportunities:,} opportunities, seed {seed}) ...", flush=True)
            stack.enter_context(serving_demo_org(n_opportunities, seed))
        return run_job(EXTRACT_JOB, db=db, asset_selection=selection, resource_config={"salesforce": settings})


def _selection(object_list: ObjectList, names: list[str] | None) -> list | None:
    """The asset keys of ``names`` (None: every object of the list); an unknown name is an error."""
    from orchestration.salesforce import asset_key, salesforce_assets

    listed = {spec.name.lower(): spec.name for spec in object_list.objects}
    unknown = [name for name in names or () if name.lower() not in listed]
    if unknown:
        them = "it" if len(unknown) == 1 else "them"
        raise ConfigurationError(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in the object list "
            f"{object_list.source}; add {them} there (or pass --objects-file) to extract {them}. Listed: "
            + ", ".join(listed.values())
        )
    keys = [asset_key(listed[name.lower()]) for name in names or listed.values()]
    # The assets are made from the object list when the definitions load (once per process).
    missing = [key.to_user_string() for key in keys if key not in salesforce_assets.keys]
    if missing:
        raise ConfigurationError(
            f"the Dagster definitions loaded in this process have no asset for {', '.join(missing)}: they were "
            f"made from another object list than {object_list.source}; run the command in a new process"
        )
    return keys if names else None
