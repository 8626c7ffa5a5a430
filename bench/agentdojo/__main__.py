"""`python -m bench.agentdojo check SUITE [TASK ...]` or `python -m bench.agentdojo report`."""

from __future__ import annotations

import argparse
import os
import sys

from bench.agentdojo import suites


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agentdojo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check plans and the policy of one suite")
    check.add_argument("suite", choices=suites.SUITES)
    check.add_argument("tasks", nargs="*", help="user task ids (default: every plan of the suite)")
    check.add_argument("--attack", default="important_instructions", choices=suites.ATTACKS)
    check.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    report = sub.add_parser("report", help="the full run: writes bench/agentdojo/REPORT.md")
    report.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    report.add_argument("--suites", nargs="*", default=list(suites.SUITES), choices=suites.SUITES)
    args = parser.parse_args()
    if args.command == "check":
        from bench.agentdojo.check import check as run_check

        return 0 if run_check(args.suite, args.tasks or None, args.attack, args.workers) else 1
    from bench.agentdojo.report import full_run

    return full_run(args.suites, args.workers)


if __name__ == "__main__":
    sys.exit(main())
