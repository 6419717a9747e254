"""Review effort benchmark: how many reviewer actions the certified count needs to reach the truth, and
whether it ever goes above it.

    python bench/review.py [--data ../shared/data] [--worlds 300] [--skip-media]

A simulated reviewer answers every question truthfully from ground truth, always taking the top-ranked
proposal of `vericount tally --json` (tests/reviewer.py). Actions are counted as the desk counts them: a
page of people confirmed at once is one action, a group judgment is one, a pair judgment is one, and every
track flipped on a page (not a person, one person boxed twice; on a page of doubtful tracks, which start as
"not a person", a person) or taken out of a group ("same as" one in it) is one more.

1. The shared identity photos: every single-person photo of ../shared/data/faces/identities.csv is a
   verified item of one real case; the people stage runs, then the reviewer drives the case through the
   CLI (the proposals' own commands, the flips as `people reject`, `judge ... same`). The truth: in each
   photo the track with the largest face is the named person; any other track is out of the world (the
   reviewer rejects it: a background person the labels do not name is not counted, so the truth stays
   the named identities). Printed after each action: certified N, proposed N', M, K.
2. Generated worlds (tests/reviewer.make_world): known people in 1-4 items, false detections, one person
   boxed twice, lookalikes up to 0.75 apart, one person photographed years apart (0.75 from herself),
   mirrored reposts and the matcher's false joins of lookalike photos; reviewed on plain data.

Floors (issue 16): certified N never above the truth, at any step, in any world; N reaches the truth on the
shared identity photos in at most 1.5 actions per person.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))


class Case:
    """A real case driven through the CLI in this process."""

    def __init__(self, root: Path) -> None:
        from click.testing import CliRunner

        from vericount.cli import main

        self.root, self.main, self.runner = root, main, CliRunner()

    def __call__(self, *args: str) -> str:
        done = self.runner.invoke(self.main, ["--case", str(self.root), "--actor", "reviewer", *args],
                                  catch_exceptions=False)
        if done.exit_code not in (0, 1):
            raise SystemExit(f"vericount {' '.join(args)}: {done.output.strip()}")
        return done.stdout


def photos(data: Path, work: Path, budget: int) -> dict[str, Any]:
    from vericount.case import Case as OpenCase

    rows = [r for r in csv.DictReader((data / "faces" / "identities.csv").open()) if r["type"] == "single"]
    root = work / "photos"
    OpenCase.create(root, actor="reviewer").close()
    case = Case(root)
    files = [str(data / r["file"]) for r in rows]
    case("add", *files)
    identity: dict[str, str] = {}
    for item in json.loads(case("items", "--json")):
        case("status", item["id"], "verified", "--note", "benchmark")
    started = time.perf_counter()
    case("people", "--jobs", "2")
    people_s = time.perf_counter() - started
    by_path = {str((data / r["file"]).resolve()): r["identity"] for r in rows}
    truth: dict[str, str | None] = {}
    for item in json.loads(case("items", "--json")):
        who = {by_path.get(str(Path(p).resolve())) for p in item["paths"]} - {None}
        if len(who) != 1:  # one photo under two names of two people: leave it out of the world
            continue
        person = who.pop()
        tracks = json.loads(case("tracks", item["id"], "--json"))["tracks"]
        if not tracks:
            continue
        subject = max(tracks, key=lambda t: (_area(t["face_box"]) if t["face_box"] else -1.0,
                                             _area(t["best_box"])))
        for t in tracks:
            truth[f"{item['id']}:{t['number']}"] = person if t is subject else None
        identity[item["id"]] = person
    people = len({p for p in truth.values() if p})
    print(f"\n1. shared identity photos: {len(rows)} single-person photos, {people} named people with a "
          f"track, {len(truth)} tracks ({sum(p is None for p in truth.values())} not the named person); "
          f"people stage {people_s:.0f} s")
    print("| action | accepted | certified N | proposed N' | about M | at most K | N <= truth |")
    print("|--:|---|--:|--:|--:|--:|---|")
    actions, reached, violations, steps = 0, None, 0, 0
    while actions < budget:
        out = json.loads(case("tally", "--json"))
        if out["at_least"] is not None and out["at_least"] > people:
            violations += 1
        if out["at_least"] == people and reached is None:
            reached = actions
        useful = [p for p in out["proposals"] if p["gain"] > 0]
        if not useful or reached is not None:
            break
        top = useful[0]
        actions += answer(case, top, truth)
        steps += 1
        now = json.loads(case("tally", "--json"))
        over = now["at_least"] is not None and now["at_least"] > people
        violations += over
        print(f"| {actions} | {top['kind']} ({top['effect']}) | {now['at_least']} | "
              f"{(now['proposed'] or {}).get('at_least')} | {now['estimate']} | {now['at_most']} | "
              f"{'NO' if over else 'yes'} |")
    final = json.loads(case("tally", "--json"))
    if final["at_least"] == people and reached is None:
        reached = actions
    check = case("tally", "--check", str(_write(work / "cert.json", final)))
    return {"people": people, "actions": actions, "reached": reached, "violations": violations,
            "final": final["at_least"], "steps": steps, "check": check.strip()}


def answer(case: Case, proposal: dict[str, Any], truth: dict[str, str | None]) -> int:
    """Answer one proposal truthfully through the CLI; the actions it took."""
    kind, used = proposal["kind"], 0
    for step in proposal.get("steps", []) if kind in ("confirm", "confirm+group") else []:
        if step["do"] != "confirm":
            continue
        refs = step["tracks"]  # one page: accepted in one action, each crop in the wrong state flipped first
        people = [r for r in refs if truth.get(r)]
        others = [r for r in refs if not truth.get(r)]
        if people:
            case("people", "confirm", *people)
        if others:
            case("people", "reject", *others, "--reason", "not the person the photo is of")
        # a doubtful page's crops start as "not a person": the people on it are the ones flipped
        used += 1 + (len(people) if step.get("doubtful") else len(others))
    if kind in ("group", "confirm+group"):
        kept: list[str] = []
        seen: dict[str, str] = {}
        for ref in dict.fromkeys([*proposal["against"], *proposal.get("group", proposal["tracks"])]):
            person = truth.get(ref)
            if person is None:
                case("people", "reject", ref, "--reason", "not the person the photo is of")
                used += 1
            elif person in seen:
                case("judge", ref, seen[person], "same", "--reason", "the same face")
                used += 1
            else:
                seen[person] = ref
                kept.append(ref)
        if len(kept) >= 2:
            case("judge-group", "different", *kept, "--reason", "compared the faces side by side")
        used += 1
    if kind in ("different", "same"):
        a, b = proposal["tracks"]
        verdict = "same" if truth.get(a) and truth.get(a) == truth.get(b) else "different"
        case("judge", a, b, verdict, "--reason", "looked at both")
        used += 1
    return used


def worlds(n: int, seed: int) -> dict[str, Any]:
    from tests.reviewer import Reviewer, make_world

    from vericount.tally.graph import Records

    rng = random.Random(seed)
    violations = reached = people_reached = actions_reached = 0
    hard = {"lookalike": 0, "aged": 0, "copy": 0, "false_join": 0}
    started = time.perf_counter()
    for _ in range(n):
        people, items = rng.randint(1, 7), rng.randint(1, 4)
        knobs = {"lookalike": rng.choice([None, 0.05, 0.5, 0.75]) if people >= 2 else None,
                 "aged": rng.random() < 0.5, "copy": rng.choice([None, True, False]) if items >= 2 else None,
                 "false_join": rng.random() < 0.5}
        for key in hard:
            hard[key] += bool(knobs[key])
        tracks, truth, alignments = make_world(rng, people, items, **knobs)  # type: ignore[arg-type]
        reviewer = Reviewer(Records(tracks, [], alignments), truth)
        truth_n = reviewer.people()
        steps = reviewer.run(max_actions=300)
        violations += sum(step.certified > truth_n for step in steps)
        first = next((s.actions for s in steps if s.certified == truth_n), 0 if truth_n == 0 else None)
        if first is not None:
            reached += 1
            people_reached += truth_n
            actions_reached += first
    seconds = time.perf_counter() - started
    return {"worlds": n, "violations": violations, "reached": reached, "people": people_reached,
            "actions": actions_reached, "hard": hard, "seconds": seconds}


def _area(box: list[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _write(path: Path, result: dict[str, Any]) -> Path:
    path.write_text(json.dumps(result["certificate"]), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worlds", type=int, default=300)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--skip-media", action="store_true", help="only the generated worlds")
    parser.add_argument("--keep", type=Path, default=None, help="keep the photos' case in this folder")
    args = parser.parse_args()
    command = "python bench/review.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    print(f"$ {command}")
    summary = []
    if not args.skip_media:
        if not (args.data / "faces" / "identities.csv").is_file():
            raise SystemExit(f"{args.data}/faces/identities.csv is absent; this benchmark reads "
                             "../shared/data")
        with tempfile.TemporaryDirectory() as tmp:
            work = args.keep or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            got = photos(args.data, work, budget=200)
        per = got["reached"] / got["people"] if got["reached"] is not None and got["people"] else None
        print(f"   reached N = truth ({got['people']}) after {got['reached']} actions "
              f"({'-' if per is None else f'{per:.2f}'} per person; floor 1.5); final N {got['final']}; "
              f"N above the truth at {got['violations']} step(s) (floor 0); {got['check']}")
        summary += [("shared identity photos: actions to N = truth / per person (floor 1.5)",
                     f"{got['reached']} / {'-' if per is None else f'{per:.2f}'}"),
                    ("shared identity photos: steps with N above the truth (floor 0)",
                     str(got["violations"]))]
    w = worlds(args.worlds, args.seed)
    per = w["actions"] / w["people"] if w["people"] else 0.0
    hard = w["hard"]
    print(f"\n2. generated worlds: {w['worlds']} (with a lookalike {hard['lookalike']}, a person years "
          f"apart {hard['aged']}, a repost copy {hard['copy']}, a false join offered {hard['false_join']}); "
          f"{w['seconds']:.0f} s")
    print(f"   N above the truth at {w['violations']} step(s) (floor 0); reached the truth in {w['reached']} "
          f"of {w['worlds']}; {per:.2f} actions per person where reached")
    summary += [("generated worlds: steps with N above the truth (floor 0)", str(w["violations"])),
                ("generated worlds: reached the truth / actions per person",
                 f"{w['reached']}/{w['worlds']} / {per:.2f}")]
    print("\n| measure | value |\n|---|---|")
    for name, value in summary:
        print(f"| {name} | {value} |")
    print(f"\n$ {command}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
