"""What people say in their reasons: frequent words and two- and three-word phrases.

Text is lower-cased and split into words (letters, digits inside words, apostrophes) within
a clause (punctuation ends a phrase). A word counts when it is not a stop word and has at
least two characters; a phrase counts when it neither starts nor ends with a stop word
("too long", "did not answer", not "is wrong"). Each term is counted once per feedback
(the number of feedbacks that say it), with the newest feedback ids as examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# English function words (after the common lists of Snowball and NLTK), and the contracted
# forms as people type them.
_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up very was wasn't we we'd we'll
    we're we've were weren't what what's when when's where where's which while who who's
    whom why why's will with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves also im ive dont didnt doesnt isnt wasnt cant wont
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# Some function words carry the complaint inside a phrase ("too long", "did not answer"):
# they may stand inside or at the start of a phrase, never alone.
PHRASE_STARTS = frozenset({"not", "no", "too", "didn't", "doesn't", "don't", "never", "can't"})

_CLAUSE = re.compile(r"[.!?;:,()\[\]{}\"\u201c\u201d\n\r\t]+")
APOSTROPHE = "\u2019"  # the typographic apostrophe, read as '
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
EXAMPLES = 3


@dataclass(slots=True)
class Term:
    text: str
    words: int
    count: int = 0
    examples: list[str] = field(default_factory=list)


def words_of(clause: str) -> list[str]:
    return [w.replace(APOSTROPHE, "'") for w in _WORD.findall(clause.lower())]


def terms_of(text: str) -> set[tuple[str, int]]:
    """The distinct words and phrases of one text, as ``(term, number of words)``."""
    found: set[tuple[str, int]] = set()
    for clause in _CLAUSE.split(text):
        tokens = words_of(clause)
        for i, word in enumerate(tokens):
            if word not in STOP_WORDS and len(word) > 1:
                found.add((word, 1))
            for n in (2, 3):
                gram = tokens[i : i + n]
                if len(gram) < n:
                    continue
                first, last = gram[0], gram[-1]
                if (first in STOP_WORDS and first not in PHRASE_STARTS) or last in STOP_WORDS:
                    continue
                found.add((" ".join(gram), n))
    return found


def frequent_terms(
    feedbacks: Iterable[tuple[str, str]], *, limit: int
) -> tuple[list[Term], list[Term]]:
    """The ``limit`` most frequent words and phrases of ``(feedback id, text)`` pairs (newest
    first): ties go to the term seen most recently, then alphabetically."""
    terms: dict[tuple[str, int], Term] = {}
    order: dict[tuple[str, int], int] = {}
    for position, (feedback_id, text) in enumerate(feedbacks):
        for key in terms_of(text):
            term = terms.get(key)
            if term is None:
                term = terms[key] = Term(text=key[0], words=key[1])
                order[key] = position
            term.count += 1
            if len(term.examples) < EXAMPLES:
                term.examples.append(feedback_id)

    def best(words: set[int]) -> list[Term]:
        chosen = [k for k in terms if k[1] in words and terms[k].count > 0]
        # a phrase said once is noise; a word said once still tells something
        chosen = [k for k in chosen if k[1] == 1 or terms[k].count > 1]
        chosen.sort(key=lambda k: (-terms[k].count, order[k], k[0]))
        return [terms[k] for k in chosen[:limit]]

    return best({1}), best({2, 3})
