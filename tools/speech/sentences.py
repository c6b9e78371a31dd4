"""English sentences for the speech corpus, from Debian's fortune databases (package fortunes).

Each fortune is a record ending in a line "%". A record becomes a candidate when, joined into one
line, it is one or more plain sentences: letters, spaces and . , ; : ? ! ' - only, 4 to 16 words,
no all-capital words (acronyms read letter by letter), no attribution ("-- Author"). Candidates
are deduplicated case-insensitively and returned sorted, so the list depends only on the
installed databases."""
import os
import re

FORTUNE_DIR = "/usr/share/games/fortunes"
# Prose collections; code listings, ASCII art, Debian and Linux jargon and riddles are left out.
DATABASES = ("fortunes", "literature", "people", "wisdom", "science", "food", "work", "pets", "politics",
             "education", "love", "men-women", "miscellaneous", "humorists", "platitudes", "kids", "law",
             "medicine", "sports", "magic", "news")

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z ,.;:?!'-]*[.?!]$")


def _records(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for record in text.split("\n%\n"):
        yield " ".join(record.split())


def usable(sentence, min_words=4, max_words=16):
    """Whether a joined fortune record is plain enough to be read and transcribed reliably."""
    if not _PLAIN.match(sentence) or "--" in sentence or "''" in sentence:
        return False
    words = sentence.split()
    if not min_words <= len(words) <= max_words:
        return False
    return not any(len(w.strip(",.;:?!'-")) > 1 and w.strip(",.;:?!'-").isupper() for w in words)


def load_sentences(fortune_dir=FORTUNE_DIR, databases=DATABASES):
    """Every usable sentence of the databases that exist, deduplicated and sorted."""
    found = {}
    for name in databases:
        path = os.path.join(fortune_dir, name)
        if not os.path.isfile(path):
            continue
        for s in _records(path):
            if usable(s):
                found.setdefault(s.lower(), s)
    if not found:
        raise RuntimeError(f"no usable sentences in {fortune_dir}: install the Debian package 'fortunes'")
    return sorted(found.values())
