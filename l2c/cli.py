"""The ``l2c`` command line: one sub-command per pipeline step.

Each sub-command is a small function here that parses its flags and calls the
module doing the work; failures exit non-zero with a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


class CliError(Exception):
    """An error to show the user as one line, without a traceback."""


def _add_sandbox(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="the local demo Salesforce org (an HTTPS Salesforce API server)")
    sandbox_sub = p.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_sub.add_parser(
        "serve",
        help="serve a generated demo org over the Salesforce REST and Bulk 2.0 APIs on loopback",
        description=(
            "Generate a deterministic demo org and serve it over HTTPS on 127.0.0.1. Prints one JSON line "
            "(instance_url, session_id, username, password, security_token, ca_bundle) and serves until interrupted."
        ),
    )
    serve.add_argument("--opportunities", type=int, default=2000, help="opportunities in the org (default 2000)")
    serve.add_argument("--seed", type=int, default=42, help="random seed; same seed, same org (default 42)")
    serve.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    serve.add_argument(
        "--faults",
        default="",
        help="comma-separated faults: 500:RATE, 503:RATE, drop:RATE, truncate:RATE, expire:RATE, slow:RATE, limit:N",
    )
    serve.set_defaults(func=_cmd_sandbox_serve)


def _cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from l2c.sandbox.server import serve_forever

    return serve_forever(
        n_opportunities=args.opportunities, seed=args.seed, port=args.port, faults=args.faults
    )


#: Sub-command registrars, in the order ``l2c --help`` lists them.
REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [_add_sandbox]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="l2c",
        description="Lead-to-Cash process mining for Salesforce: extract → dbt → analysis → report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"l2c {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"l2c {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
