"""`python -m infra.preflight [--stack dev] [--config-file PATH] [--json]` (`make preflight`).

Exit status: 0 when nothing would fail (warnings allowed), 1 when a check failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.preflight.report import render_json, render_text
from infra.preflight.run import run_preflight
from infra.preflight.stack import stack_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.preflight",
        description="Check, without changing anything, that `pulumi up` of the stack would work.",
    )
    parser.add_argument("--stack", default="dev", help="the stack whose Pulumi.<stack>.yaml is read (default: dev)")
    parser.add_argument("--config-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    report = run_preflight(args.stack, args.config_file or stack_file(args.stack))
    print(render_json(report) if args.json else render_text(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
