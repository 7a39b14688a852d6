"""Per-file mutation score from mutmut's results (mutants/**/*.py.meta), for `make mutation`.

mutmut 3 writes one JSON meta file per mutated source file, mapping each mutant to the exit
code of the test run against it; `mutmut.stats.status_by_exit_code` turns that into killed,
survived, timeout, no tests, ... This prints one row per file and a total:

    killed + timeout (a mutant that makes the tests hang is caught too) out of every mutant
    tested (all but the skipped ones), the same score as mutmut's own badge.

Usage: python scripts/mutation_report.py [--survivors] [--fail-under PERCENT] [--root DIR]
  --survivors     also list the mutants that survived or had no test (`mutmut show NAME`
                  prints the diff of one)
  --fail-under    exit 1 when the total score is below PERCENT
  --root          mutmut's results folder (default: mutants). The folders of other mutation
                  sets inside it (mutants/<set>/mutants/, scripts/mutation_run.py) are not
                  counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

MUTANTS = Path("mutants")
COLUMNS = ("killed", "timeout", "survived", "no tests", "other")
DETECTED = ("killed", "timeout", "caught by type check")
NOT_DETECTED = ("survived", "no tests")


def load_results(root: Path = MUTANTS) -> dict[str, dict[str, str]]:
    """Source file -> mutant name -> status, for every file mutmut mutated."""
    results: dict[str, dict[str, str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        relative = meta.relative_to(root)
        if "mutants" in relative.parts[:-1]:
            continue  # another set's results (mutants/<set>/mutants/...)
        source = relative.as_posix().removesuffix(".meta")
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        if exit_codes:
            results[source] = {
                name: status_by_exit_code[code] for name, code in sorted(exit_codes.items())
            }
    return results


def score(counts: Counter[str]) -> tuple[int, int]:
    """(detected, tested): skipped mutants are not counted, as in `mutmut badge`."""
    tested = sum(counts.values()) - counts["skipped"]
    return sum(counts[status] for status in DETECTED), tested


def row(name: str, counts: Counter[str], width: int) -> str:
    detected, tested = score(counts)
    other = tested - sum(counts[status] for status in ("killed", "timeout", *NOT_DETECTED))
    cells = [counts["killed"], counts["timeout"], counts["survived"], counts["no tests"], other]
    percent = f"{100 * detected / tested:6.1f}%" if tested else "      -"
    numbers = "".join(f"{cell:>10}" for cell in cells)
    return f"{name:<{width}}{numbers}{detected:>8}/{tested:<6}{percent}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true")
    parser.add_argument("--fail-under", type=float, default=None)
    parser.add_argument("--root", type=Path, default=MUTANTS)
    args = parser.parse_args(argv)

    results = load_results(args.root)
    if not results:
        print("No mutmut results under mutants/: run `make mutation` first.")
        return 1
    width = max(len("total"), *(len(name) for name in results)) + 2
    header = "".join(f"{column:>10}" for column in COLUMNS)
    print(f"{'file':<{width}}{header}{'score':>15}")
    total: Counter[str] = Counter()
    for name, statuses in results.items():
        counts = Counter(statuses.values())
        total.update(counts)
        print(row(name, counts, width))
    print(row("total", total, width))

    if args.survivors:
        print()
        for statuses in results.values():
            for mutant, status in statuses.items():
                if status in NOT_DETECTED:
                    print(f"{status:>9}  {mutant}")

    detected, tested = score(total)
    percent = 100 * detected / tested if tested else 0.0
    if args.fail_under is not None and percent < args.fail_under:
        print(f"\nMutation score {percent:.1f}% is below {args.fail_under:g}%.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
