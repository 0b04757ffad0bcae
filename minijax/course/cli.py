"""`python -m minijax.course`: list, release, autograder, grade, grade-batch, check, mutate.

```text
list [--format text|json]
release ID --out DIR
autograder ID --out ZIP [--wheels DIR]
grade ID --submission DIR [--format text|gradescope|json] [--out FILE] [--carry]
grade-batch ID --submissions DIR --out grades.csv
check TASK [--strict]
mutate TASK --tests DIR
```

>>> from minijax.course.cli import main
>>> main(["list"])  # doctest: +ELLIPSIS
A0    Pytrees, struct and PRNG keys                  10 points  A0.1 A0.2 A0.3 A0.4
...
0
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from minijax.course import manifest

__all__ = ["main"]


def _list(fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{"id": a.id, "title": a.title, "points": a.points}
                           for a in manifest.ASSIGNMENTS], indent=2) + "\n"
    return "".join(f"{a.id:5} {a.title:46} {a.points:3g} points  "
                   f"{' '.join(t.id for t in a.tasks)}\n" for a in manifest.ASSIGNMENTS)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m minijax.course",
                                description="minijax's course kit: assignments cut from "
                                            "the library, graded by its tests.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("list", help="the assignments")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s = sub.add_parser("release", help="a student repository for one assignment")
    s.add_argument("id")
    s.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("autograder", help="a Gradescope bundle (zip)")
    s.add_argument("id")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--wheels", type=Path, help="a folder of wheels, to install offline")
    s = sub.add_parser("grade", help="grade one submission")
    s.add_argument("id")
    s.add_argument("--submission", type=Path, required=True)
    s.add_argument("--format", choices=("text", "gradescope", "json"), default="text")
    s.add_argument("--out", type=Path)
    s.add_argument("--carry", action="store_true",
                   help="take earlier assignments' regions from the submission too")
    s.add_argument("--timeout", type=float, default=60.0, help="seconds per test")
    s = sub.add_parser("grade-batch", help="grade a folder of submissions into a CSV")
    s.add_argument("id")
    s.add_argument("--submissions", type=Path, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--timeout", type=float, default=60.0)
    s = sub.add_parser("check", help="the public tests of one task (student side)")
    s.add_argument("task")
    s.add_argument("--repo", type=Path, default=Path.cwd())
    s.add_argument("--strict", action="store_true", help="exit 1 unless every test passed")
    s = sub.add_parser("mutate", help="run tests against the planted bugs of a task")
    s.add_argument("task")
    s.add_argument("--tests", type=Path, required=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            sys.stdout.write(_list(args.format))
        elif args.command == "release":
            from minijax.course.release import release

            out = release(args.id, args.out)
            print(f"released {manifest.assignment(args.id).id} to {out}")
        elif args.command == "autograder":
            from minijax.course.release import autograder

            print(f"wrote {autograder(args.id, args.out, wheels=args.wheels)}")
        elif args.command == "grade":
            from minijax.course.grade import format_report, grade

            report = grade(args.id, args.submission, carry=args.carry, timeout=args.timeout)
            text = format_report(report, args.format)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
        elif args.command == "grade-batch":
            from minijax.course.grade import grade_batch

            args.out.write_text(grade_batch(args.id, args.submissions, timeout=args.timeout),
                                encoding="utf-8")
            print(f"wrote {args.out}")
        elif args.command == "check":
            from minijax.course.check import check, find_repo

            text, ok = check(args.task, find_repo(args.repo.resolve()))
            sys.stdout.write(text)
            return 1 if args.strict and not ok else 0
        elif args.command == "mutate":
            from minijax.course.mutation import mutate

            r = mutate(args.task, args.tests)
            if r.rejected:
                print(f"rejected: {r.rejected}")
                return 1
            for mid, hit in r.caught.items():
                print(f"  {'caught  ' if hit else 'survived'} {mid}")
            print(f"{manifest.task(args.task).id}: caught {sum(r.caught.values())} of "
                  f"{len(r.caught)} planted bugs ({100 * r.share:.0f}%)")
    except (KeyError, FileExistsError, FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    return 0
