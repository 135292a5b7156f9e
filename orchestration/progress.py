"""The ``l2c_progress`` Dagster logger: what the ``l2c`` commands print while a job runs.

The assets say what they do through ``context.log`` (one line per Salesforce
object, per analysis table, the report's path). Dagster's console logger
frames each line with a timestamp, the job, the run id and the step, and adds
its own events; a terminal user wants the lines themselves. This logger prints
only the assets' own messages, as they are, to standard output (warnings and
errors marked), while the run's full event log still goes to the Dagster
instance. The UI's runs do not use it: they keep Dagster's default loggers.
"""

import logging
import sys

import dagster as dg

#: The logger's key in the definitions and in run config (``{"loggers": {PROGRESS_LOGGER: ...}}``).
PROGRESS_LOGGER = "l2c_progress"


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        if meta.get("dagster_event") is not None:
            return  # Dagster's own events (step start, materialization, ...) are the instance's business
        message = str(meta.get("orig_message", record.getMessage()))
        if record.levelno >= logging.ERROR:
            message = f"error: {message}"
        elif record.levelno >= logging.WARNING:
            message = f"warning: {message}"
        # sys.stdout is looked up per line: the CLI's caller may have redirected it.
        print(message, file=sys.stdout, flush=True)


@dg.logger(
    config_schema={"log_level": dg.Field(str, default_value="INFO", description="lowest level printed")},
    description="Prints the assets' own log lines, without Dagster's framing (used by the l2c commands).",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger(PROGRESS_LOGGER, level=init_context.logger_config["log_level"].upper())
    logger.addHandler(_ProgressHandler())
    return logger
