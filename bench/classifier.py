"""`python -m bench.classifier`: how well the field classifier and the complaint hint read real text.

Runs the keyword table (services/assignment/config/classification.yaml, or --rules) over the labelled
corpus in tests/data/ and prints Markdown: accuracy overall and by typing style on the train and test
parts, the test part's confusion matrix (rows: the label, columns: what the classifier said) and
per-field precision/recall, then the complaint hint on complaints.jsonl and on the opinions (which are
all dialogue opinions, so every hit there is a false alarm). The table is tuned on `train` only;
`test` is for measuring. `--errors train` lists the train items it gets wrong, to improve the table.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from services.assignment.classification import RuleTable, complaint_reason
from shared.events.vocabulary import FIELDS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
RULES = ROOT / "services" / "assignment" / "config" / "classification.yaml"
STYLES = ("accented", "unaccented", "mixed", "typos")
SPLITS = ("train", "test")


def load(name: str) -> list[dict]:  # type: ignore[type-arg]
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass(frozen=True)
class Score:
    right: int
    total: int

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{100 * self.rate:.1f} % ({self.right}/{self.total})"


def predictions(table: RuleTable, items: Iterable[dict]) -> list[tuple[dict, str]]:  # type: ignore[type-arg]
    return [(item, table.classify(item["text"]).field) for item in items]


def accuracy(pairs: list[tuple[dict, str]], **where: str) -> Score:  # type: ignore[type-arg]
    chosen = [(item, got) for item, got in pairs if all(item[k] == v for k, v in where.items())]
    return Score(sum(item["field"] == got for item, got in chosen), len(chosen))


def confusion(pairs: list[tuple[dict, str]]) -> Counter[tuple[str, str]]:  # type: ignore[type-arg]
    return Counter((item["field"], got) for item, got in pairs)


@dataclass(frozen=True)
class ComplaintFigures:
    caught: Score  # complaints.jsonl items labelled complaint that fire
    false_alarms: Score  # complaints.jsonl items labelled not a complaint that fire
    opinion_alarms: Score  # opinions.jsonl items (all dialogue opinions) that fire


def complaint_figures(complaints: list[dict], opinions: list[dict]) -> ComplaintFigures:  # type: ignore[type-arg]
    yes = [c for c in complaints if c["complaint"]]
    no = [c for c in complaints if not c["complaint"]]
    fired = [o for o in opinions if complaint_reason(o["text"])]
    return ComplaintFigures(
        Score(sum(complaint_reason(c["text"]) is not None for c in yes), len(yes)),
        Score(sum(complaint_reason(c["text"]) is not None for c in no), len(no)),
        Score(len(fired), len(opinions)),
    )


def report(table: RuleTable, *, errors: str | None = None) -> str:
    opinions = load("opinions.jsonl")
    complaints = load("complaints.jsonl")
    started = time.perf_counter()
    pairs = predictions(table, opinions)
    per_text_ms = 1000 * (time.perf_counter() - started) / len(opinions)
    out: list[str] = []
    add = out.append

    add("### Field classifier: accuracy")
    add("")
    add("| part | all | " + " | ".join(STYLES) + " |")
    add("|---|---|" + "---|" * len(STYLES))
    for split in (*SPLITS, None):
        where = {"split": split} if split else {}
        cells = [str(accuracy(pairs, **where))] + [str(accuracy(pairs, **where, style=s)) for s in STYLES]
        add(f"| {split or 'whole corpus'} | " + " | ".join(cells) + " |")
    add("")
    add(f"About {per_text_ms:.2f} ms per opinion.")
    add("")

    test = [(item, got) for item, got in pairs if item["split"] == "test"]
    matrix = confusion(test)
    codes = list(FIELDS)
    add("### Confusion matrix, test part (rows: label, columns: classifier)")
    add("")
    add("| label \\ got | " + " | ".join(codes) + " |")
    add("|---|" + "---:|" * len(codes))
    for label in codes:
        cells = [str(matrix[label, got]) if matrix[label, got] else "·" for got in codes]
        add(f"| {label} | " + " | ".join(cells) + " |")
    add("")
    add("| field | precision | recall |")
    add("|---|---:|---:|")
    for code in codes:
        said = sum(n for (_, got), n in matrix.items() if got == code)
        truly = sum(n for (label, _), n in matrix.items() if label == code)
        hit = matrix[code, code]
        precision = f"{hit / said:.2f}" if said else "–"
        recall = f"{hit / truly:.2f}" if truly else "–"
        add(f"| {code} | {precision} | {recall} |")
    add("")

    add("### Complaint/denunciation hint")
    add("")
    add("| part | complaints caught | non-complaints flagged | opinions flagged |")
    add("|---|---|---|---|")
    for split in (*SPLITS, None):
        c = [x for x in complaints if split in (None, x.get("split"))]
        o = [x for x in opinions if split in (None, x["split"])]
        f = complaint_figures(c, o)
        add(f"| {split or 'all'} | {f.caught} | {f.false_alarms} | {f.opinion_alarms} |")
    add("")

    if errors:
        add(f"### Errors, {errors} part")
        add("")
        for item, got in pairs:
            if item["split"] == errors and item["field"] != got:
                why = table.classify(item["text"]).matched_keywords
                add(f"- {item['id']} {item['field']} → {got} {list(why)} [{item['style']}] {item['text']}")
        for c in complaints:
            if c.get("split") == errors and (complaint_reason(c["text"]) is not None) != c["complaint"]:
                add(f"- {c['id']} complaint={c['complaint']} reason={complaint_reason(c['text'])!r} {c['text']}")
        for o in opinions:
            if o["split"] == errors and complaint_reason(o["text"]):
                add(f"- {o['id']} opinion flagged: {complaint_reason(o['text'])!r} {o['text']}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=RULES, help="the keyword table (YAML)")
    parser.add_argument("--errors", choices=SPLITS, help="also list the items of this part it gets wrong")
    args = parser.parse_args()
    started = time.perf_counter()
    table = RuleTable.from_yaml(args.rules)
    loaded_ms = 1000 * (time.perf_counter() - started)
    print(report(table, errors=args.errors))
    print(f"\nTable loaded in {loaded_ms:.0f} ms.")


if __name__ == "__main__":
    main()
