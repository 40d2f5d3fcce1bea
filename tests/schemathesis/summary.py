"""Sums up scripts/schemathesis.sh's runs from their NDJSON reports: the test cases each ran and
the failures (operation, check, case) and errors it met, then the totals.

usage: summary.py WHO=REPORT.ndjson...   Exits 1 on any failure or error."""

import json
import sys


def read(path):
    cases = 0
    failures = set()
    errors = []
    finished = False
    with open(path, encoding="utf-8") as report:
        for line in report:
            ((kind, body),) = json.loads(line).items()
            if kind == "ScenarioFinished":
                recorder = body["recorder"]
                cases += len(recorder.get("cases", {}))
                for case_id, checks in recorder.get("checks", {}).items():
                    for check in checks:
                        if check["status"] == "failure":
                            failures.add((recorder["label"], check["name"], case_id))
            elif kind == "NonFatalError":
                value = body.get("value") or {}
                errors.append(f"{body.get('label')}: {value.get('type')}: {value.get('message')}")
            elif kind == "FatalError":
                errors.append(f"fatal: {str(body)[:300]}")
            elif kind == "EngineFinished":
                finished = True
    if not finished:
        errors.append("the run did not finish")
    return cases, failures, errors


def main(runs):
    total_cases = total_failures = total_errors = 0
    for run in runs:
        who, _, path = run.partition("=")
        try:
            cases, failures, errors = read(path)
        except OSError as e:
            cases, failures, errors = 0, set(), [f"no report: {e}"]
        print(f"schemathesis as the {who}: {cases} cases, {len(failures)} failures, {len(errors)} errors")
        for label, check, case_id in sorted(failures):
            print(f"  failure: {label}: {check} (case {case_id})")
        for error in errors:
            print(f"  error: {error}")
        total_cases += cases
        total_failures += len(failures)
        total_errors += len(errors)
    print(f"schemathesis: {total_cases} cases, {total_failures} failures, {total_errors} errors")
    return 1 if total_failures or total_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
