"""Which module of a course teaches what a question asks about, derived from the content itself (pure).

Questions carry no link to a module, so a failed attempt's result page finds, for each missed question, the
module whose text is closest to the question's: TF-IDF vectors of the words of the module (title, summary,
body) and of the question (scenario, prompt, options with their feedback, explanation, tags), compared by
cosine. Words that every module of the course uses weigh little; the words that make one module different
from the others decide. A question that shares no word with any module has no module.
"""

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

WORD = re.compile(r"[a-z][a-z'-]+[a-z]")
# The commonest English words, which say nothing about a topic.
STOP_WORDS = frozenset(
    """about after all also and any are because been but can could did does doesn't don't for from had has
    have her him his how into its isn't may more most not one only other our out should some such than
    that the their them then there they this those was were what when which who why will with would you
    your""".split()  # noqa: SIM905 (a list literal would take 60 lines)
)


@dataclass(frozen=True)
class TopicIndex:
    """A course's modules as unit vectors of weighted words, and each word's inverse document frequency."""

    idf: Mapping[str, float]
    modules: Mapping[int, Mapping[str, float]]


def words(text: str) -> list[str]:
    """The text's words in lower case, without the most common English ones."""
    return [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS]


def _unit_vector(counts: Counter, idf: Mapping[str, float]) -> dict[str, float]:
    weights = {w: (1 + math.log(n)) * idf[w] for w, n in counts.items() if w in idf}
    length = math.sqrt(sum(x * x for x in weights.values()))
    return {w: x / length for w, x in weights.items()} if length else {}


def index_modules(texts: Mapping[int, str]) -> TopicIndex:
    """The index of a course's modules, given each module's id and its whole text."""
    counts = {module_id: Counter(words(text)) for module_id, text in texts.items()}
    documents = Counter(word for c in counts.values() for word in c)
    # Smoothed, so that a word every module uses still counts a little, and a one-module course works.
    idf = {word: math.log((1 + len(counts)) / (1 + n)) + 1 for word, n in documents.items()}
    return TopicIndex(idf=idf, modules={module_id: _unit_vector(c, idf) for module_id, c in counts.items()})


def closest_module(index: TopicIndex, text: str) -> int | None:
    """The id of the module whose words are closest to the text's; None when none shares a word with it."""
    question = _unit_vector(Counter(words(text)), index.idf)
    best, best_score = None, 0.0
    for module_id, vector in index.modules.items():
        score = sum(weight * vector.get(word, 0.0) for word, weight in question.items())
        if score > best_score:
            best, best_score = module_id, score
    return best
