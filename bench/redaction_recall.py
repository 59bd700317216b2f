"""Recall of the export's redaction on labelled, invented sentences.

``tests/data/redaction_sentences.csv`` holds a sentence, the kind of personal detail in
it (email, phone, postcode, address, name, or none) and the detail itself (the span).
A span counts as found when the redaction's findings cover every character of it, of
whatever kind they were taken for. Sentences labelled ``none`` hold no personal detail:
any finding there is a false alarm.

    python -m bench.redaction_recall            # recall per kind, false alarms
    python -m bench.redaction_recall --misses   # and every span that was missed
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, field
from pathlib import Path

from storage.exports.redaction import find

SENTENCES = Path(__file__).resolve().parents[1] / "tests" / "data" / "redaction_sentences.csv"


@dataclass
class Tally:
    """Spans of one kind: how many, which were missed."""

    total: int = 0
    missed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return (self.total - len(self.missed)) / self.total if self.total else 1.0


def measure(path: Path = SENTENCES) -> tuple[dict[str, Tally], Tally]:
    """Recall per kind, and the ``none`` sentences with a false alarm (as ``missed``)."""
    kinds: dict[str, Tally] = {}
    alarms = Tally()
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            sentence, kind, span = row["sentence"], row["kind"], row["span"]
            found = find(sentence)
            if kind == "none":
                alarms.total += 1
                if found:
                    alarms.missed.append((sentence, ", ".join(
                        f"{f.kind}: {sentence[f.start:f.end]}" for f in found)))
                continue
            tally = kinds.setdefault(kind, Tally())
            tally.total += 1
            start = sentence.index(span)
            covered: set[int] = set()
            for item in found:
                covered.update(range(item.start, item.end))
            if not covered.issuperset(range(start, start + len(span))):
                tally.missed.append((sentence, span))
    return kinds, alarms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every missed span")
    args = parser.parse_args()
    kinds, alarms = measure()
    print("| kind | spans | found | recall |")
    print("| --- | ---: | ---: | ---: |")
    for kind, tally in sorted(kinds.items()):
        print(f"| {kind} | {tally.total} | {tally.total - len(tally.missed)} "
              f"| {tally.recall:.1%} |")
    print(f"\nfalse alarms: {len(alarms.missed)} of {alarms.total} sentences with no "
          "personal detail")
    if args.misses:
        for kind, tally in sorted(kinds.items()):
            for sentence, span in tally.missed:
                print(f"missed {kind}: {span!r} in {sentence!r}")
        for sentence, what in alarms.missed:
            print(f"false alarm: {what!r} in {sentence!r}")


if __name__ == "__main__":
    main()
