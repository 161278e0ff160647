"""`python -m bench.similarity`: how well the duplicate finder (shared/similarity.py) tells one matter from another.

Reads the labelled corpus in tests/data/ and prints Markdown. Two items of duplicates.jsonl are duplicates
exactly when their `group` is equal; every pair is scored (IDF counted over duplicates.jsonl and
opinions.jsonl together, as the services would count it over an instance's opinions). Printed:

- precision and recall over all pairs at several thresholds, with and without IDF; the hard-negative pairs
  (an item and the group it names in `hard_negative_of`) above the threshold; false positives against the
  opinions of opinions.jsonl (each a different matter): every duplicates item against every opinion, and
  every opinion against every other;
- recall by typing style, blocking (do the keys of every true pair intersect, how many candidates a query
  fetches from the 648 texts), what staff would see (`likely_duplicates` over the fetched candidates) and
  how often `neighbourhood` reads the labelled unit.

`--errors` lists the missed duplicates and the false positives at THRESHOLD. THRESHOLD and the weights were
chosen on this same corpus: the figures are what the finder does here, not an estimate on unseen text.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.similarity import (
    THRESHOLD,
    Signature,
    blocking_keys,
    idf_from,
    likely_duplicates,
    neighbourhood,
    score,
    signature,
)
from shared.text import strip_marks

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
THRESHOLDS = (0.20, 0.24, 0.26, 0.28, THRESHOLD, 0.30, 0.32, 0.35, 0.40, 0.50)
STYLES = ("accented", "unaccented", "mixed", "typos")


def load(name: str) -> list[dict]:  # type: ignore[type-arg]
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass(frozen=True)
class Pair:
    i: int
    j: int
    score: float
    duplicate: bool
    hard: bool  # an item and the group it must not be merged with


def corpus_pairs(items: list[dict], sigs: list[Signature], idf: Mapping[str, float] | None) -> list[Pair]:  # type: ignore[type-arg]
    pairs = []
    for i, j in itertools.combinations(range(len(items)), 2):
        a, b = items[i], items[j]
        hard = a["hard_negative_of"] == b["group"] or b["hard_negative_of"] == a["group"]
        pairs.append(Pair(i, j, score(sigs[i], sigs[j], idf).score, a["group"] == b["group"], hard))
    return pairs


def row(pairs: list[Pair], background: list[float], among: list[float], threshold: float) -> str:
    positives = sum(p.duplicate for p in pairs)
    tp = sum(p.duplicate and p.score >= threshold for p in pairs)
    fp = sum(not p.duplicate and p.score >= threshold for p in pairs)
    hard = [p for p in pairs if p.hard]
    hard_fp = sum(p.score >= threshold for p in hard)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    bg = sum(s >= threshold for s in background)
    op = sum(s >= threshold for s in among)
    mark = " **(THRESHOLD)**" if threshold == THRESHOLD else ""
    return (
        f"| {threshold:.2f}{mark} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {tp}/{positives} | {fp} "
        f"| {hard_fp}/{len(hard)} ({100 * hard_fp / len(hard):.1f} %) | {bg}/{len(background)} "
        f"({100 * bg / len(background):.2f} %) | {op}/{len(among)} ({100 * op / len(among):.3f} %) |"
    )


def report(errors: bool = False) -> str:
    dups = load("duplicates.jsonl")
    opinions = load("opinions.jsonl")
    started = time.perf_counter()
    ds = [signature(d["text"]) for d in dups]
    os_ = [signature(o["text"]) for o in opinions]
    read_ms = 1000 * (time.perf_counter() - started) / (len(ds) + len(os_))
    idf = idf_from(ds + os_)
    out = ["# Duplicate finder on the labelled corpus", ""]
    out.append(
        f"{len(dups)} items in {len({d['group'] for d in dups})} groups (duplicates.jsonl), "
        f"{len(opinions)} background opinions (opinions.jsonl). THRESHOLD = {THRESHOLD}."
    )

    for label, weights in (("with IDF (as the services should call it)", idf), ("without IDF (idf=None)", None)):
        started = time.perf_counter()
        pairs = corpus_pairs(dups, ds, weights)
        background = [score(d, o, weights).score for d in ds for o in os_]
        among = [score(os_[i], os_[j], weights).score for i, j in itertools.combinations(range(len(os_)), 2)]
        score_us = 1e6 * (time.perf_counter() - started) / (len(pairs) + len(background) + len(among))
        out += ["", f"## Pairwise, {label}", ""]
        out.append(
            "| threshold | precision | recall | F1 | duplicate pairs found | false pairs "
            "| hard-negative pairs above | duplicates × opinions above | opinion × opinion above |"
        )
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        out += [row(pairs, background, among, t) for t in sorted(set(THRESHOLDS))]
        if weights is idf:
            at = [p for p in pairs if p.score >= THRESHOLD]
            flagged = {p.i if dups[p.i]["hard_negative_of"] else p.j for p in at if p.hard}
            hard_items = sum(1 for d in dups if d["hard_negative_of"])
            out += ["", f"Hard negatives put above THRESHOLD next to their group: {len(flagged)}/{hard_items} items."]
            out += style_recall(dups, pairs)
            out += blocking(dups, opinions, ds, os_, idf)
            out += neighbourhoods(dups)
            if errors:
                out += listing(dups, ds, pairs, idf)
        out += ["", f"Reading: {read_ms:.2f} ms per text; scoring: {score_us:.0f} µs per pair."]
    return "\n".join(out)


def style_recall(dups: list[dict], pairs: list[Pair]) -> list[str]:  # type: ignore[type-arg]
    found: defaultdict[str, list[bool]] = defaultdict(list)
    for p in pairs:
        if p.duplicate:
            for style in {dups[p.i]["style"], dups[p.j]["style"]}:
                found[style].append(p.score >= THRESHOLD)
    out = ["", "### Recall at THRESHOLD by typing style (pairs with at least one item of that style)", ""]
    out += ["| style | recall |", "| --- | --- |"]
    out += [f"| {s} | {sum(found[s]) / len(found[s]):.3f} ({sum(found[s])}/{len(found[s])}) |" for s in STYLES]
    return out


def blocking(
    dups: list[dict],  # type: ignore[type-arg]
    opinions: list[dict],  # type: ignore[type-arg]
    ds: list[Signature],
    os_: list[Signature],
    idf: Mapping[str, float],
) -> list[str]:
    sigs = ds + os_
    keys = [set(blocking_keys(s)) for s in sigs]
    index: defaultdict[str, set[int]] = defaultdict(set)
    for n, ks in enumerate(keys):
        for k in ks:
            index[k].add(n)
    candidates = [set().union(*(index[k] for k in ks)) - {n} for n, ks in enumerate(keys)]
    true_pairs = [
        (i, j) for i, j in itertools.combinations(range(len(dups)), 2) if dups[i]["group"] == dups[j]["group"]
    ]
    shared = sum(bool(keys[i] & keys[j]) for i, j in true_pairs)
    sizes = [len(c) for c in candidates]
    counts = [len(k) for k in keys]
    out = ["", "### Blocking (`blocking_keys`, queried with `$in`)", ""]
    out.append(
        f"- true duplicate pairs whose keys intersect: {shared}/{len(true_pairs)} ({shared / len(true_pairs):.3f})"
    )
    out.append(f"- keys per text: mean {statistics.mean(counts):.1f}, max {max(counts)}")
    out.append(
        f"- candidates fetched per query from the {len(sigs)} texts: mean {statistics.mean(sizes):.1f}, "
        f"median {statistics.median(sizes):.0f}, max {max(sizes)} ({100 * statistics.mean(sizes) / len(sigs):.1f} %)"
    )
    # What staff see on submission: the best five above THRESHOLD among the fetched candidates.
    ids = [d["id"] for d in dups] + [o["id"] for o in opinions]
    group = {d["id"]: d["group"] for d in dups}
    sizes_by_group = Counter(d["group"] for d in dups)
    queries = hit = top_right = shown = wrong = 0
    for n, d in enumerate(dups):
        found = likely_duplicates(ds[n], ((ids[c], sigs[c]) for c in candidates[n]), idf)
        shown += len(found)
        wrong += sum(group.get(key) != d["group"] for key, _ in found)
        if sizes_by_group[d["group"]] > 1:
            queries += 1
            hit += any(group.get(key) == d["group"] for key, _ in found)
            top_right += bool(found) and group.get(found[0][0]) == d["group"]
    out.append(
        f"- `likely_duplicates` (limit 5) for the {queries} items that have a duplicate: at least one shown for "
        f"{hit} ({hit / queries:.3f}), the first one shown is a duplicate for {top_right} ({top_right / queries:.3f})"
    )
    out.append(f"- suggestions shown for all {len(dups)} items: {shown}, of which wrong: {wrong}")
    return out


def neighbourhoods(dups: list[dict]) -> list[str]:  # type: ignore[type-arg]
    labelled = [d for d in dups if d["neighbourhood"]]
    right = [d for d in labelled if neighbourhood(d["text"]) == strip_marks(d["neighbourhood"]).casefold()]
    return [
        "",
        f"`neighbourhood()` reads the labelled unit of {len(right)}/{len(labelled)} items that have one "
        f'({len(right) / len(labelled):.3f}); the others name the place without its unit ("ở Kim Quan") or '
        'read a lower-case name one syllable too long ("xom ben hat").',
    ]


def listing(dups: list[dict], ds: list[Signature], pairs: list[Pair], idf: Mapping[str, float]) -> list[str]:  # type: ignore[type-arg]
    out = ["", "### Missed duplicates at THRESHOLD", ""]
    for p in sorted((p for p in pairs if p.duplicate and p.score < THRESHOLD), key=lambda p: -p.score):
        m = score(ds[p.i], ds[p.j], idf)
        out.append(
            f"- {p.score:.3f} {dups[p.i]['id']} / {dups[p.j]['id']} ({dups[p.i]['group']}): {'; '.join(m.reasons)}"
        )
    out += ["", "### False positives at THRESHOLD", ""]
    for p in sorted((p for p in pairs if not p.duplicate and p.score >= THRESHOLD), key=lambda p: -p.score):
        m = score(ds[p.i], ds[p.j], idf)
        kind = "hard negative" if p.hard else "other"
        out.append(
            f"- {p.score:.3f} {kind}: {dups[p.i]['id']} ({dups[p.i]['group']}) / {dups[p.j]['id']} "
            f"({dups[p.j]['group']}): {'; '.join(m.reasons)}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list missed duplicates and false positives")
    print(report(errors=parser.parse_args().errors))


if __name__ == "__main__":
    main()
