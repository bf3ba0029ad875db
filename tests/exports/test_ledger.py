"""What an import remembers of the rows it took (:mod:`thumbs.exports.ledger`): every key
met, with the first row of each, and the ids written, in memory that does not grow."""

from __future__ import annotations

import hashlib
import random

from thumbs.exports.ledger import IdSighting, KeyLedger
from thumbs.exports.parsing import Parsed, Ready


def key(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:16]


def test_a_key_met_again_is_told_with_the_line_and_content_of_its_first_row() -> None:
    with KeyLedger() as ledger:
        assert ledger.met([(1, key("a"), 10), (2, key("b"), 20)]) == {}
        # again in a later batch, and twice within one batch
        told = ledger.met([(3, key("c"), 30), (4, key("a"), 11), (5, key("c"), 31)])
        assert told == {4: (10, 1), 5: (30, 3)}
        assert ledger.met([(6, key("b"), 20)]) == {6: (20, 2)}


def test_a_batch_larger_than_one_statement_is_taken_whole() -> None:
    n = 2500  # three statements of many rows
    rows = [(line, key(f"k{line % 2400}"), line) for line in range(1, n + 1)]
    with KeyLedger() as ledger:
        told = ledger.met(rows)
    # lines 2401..2500 repeat the keys of lines 1..100
    assert told == {line: (line - 2400, line - 2400) for line in range(2401, n + 1)}


def test_batches_are_told_in_order_while_the_caller_works() -> None:
    def ready(line: int) -> Ready:
        name = f"k{line % 25}"
        return (line, key(name), 0, name, f"fb{line}", "s", None, 1.0, None, None, "", "", 0)

    batches = [Parsed(ready=[ready(b * 10 + i) for i in range(10)]) for b in range(5)]
    with KeyLedger() as ledger:
        told = list(ledger.told(batches))
    assert [batch for batch, _ in told] == batches
    assert [sorted(again) for _, again in told] == [
        [],
        [],
        [25, 26, 27, 28, 29],
        list(range(30, 40)),
        list(range(40, 50)),
    ]
    assert told[4][1][49] == (0, 24)


def test_the_sighting_of_ids_never_misses_one_added_and_rarely_sees_another() -> None:
    rng = random.Random(7)
    added = [f"FB{rng.getrandbits(128):032x}" for _ in range(100_000)]
    others = [f"FB{rng.getrandbits(128):032x}" for _ in range(100_000)]
    sighting = IdSighting()
    sighting.add_all(added)
    assert all(fid in sighting for fid in added)
    false = sum(fid in sighting for fid in others)
    assert false <= 10  # about 2 in a million expected at this fill
