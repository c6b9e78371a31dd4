"""The speech corpus's phone set and the maps into it (docs/SPEECH.md).

Labels are Lee & Hon's folding of TIMIT's phones (1989), the set phone error rates are quoted in:
39 classes, of which the 38 that are not silence label speech here (zh folds into sh, ao into aa,
as there). CTC's blank stands for silence; nothing is labelled between words. espeak-ng's IPA output
(`espeak-ng -q --ipa --sep=_`) and flite's CMU phones (`flite -ps`) are mapped into them.
A symbol without a mapping is an error naming it, so a new voice or espeak version cannot
silently drop sounds."""
import subprocess

# Lee & Hon's 39 TIMIT classes minus "sil": 38 phones, CTC label i + 1 (0 is the blank).
PHONES = ("aa", "ae", "ah", "aw", "ay", "b", "ch", "d", "dh", "dx", "eh", "er", "ey", "f", "g", "hh", "ih", "iy",
          "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r", "s", "sh", "t", "th", "uh", "uw", "v", "w", "y",
          "z")

# espeak-ng IPA symbols (stress marks removed) -> phones. Accents differ in vowels; the folding
# follows TIMIT's: every open back vowel is aa (ao folds into aa), every schwa and ʌ is ah,
# syllabic consonants are the consonant (el -> l), centring diphthongs are the vowel plus ah,
# r-coloured vowels the vowel plus r (rhotic accents) and the glottal stop is t.
ESPEAK_IPA = {
    # consonants
    "p": "p", "b": "b", "t": "t", "t̪": "t", "d": "d", "k": "k", "ɡ": "g", "g": "g", "f": "f", "v": "v",
    "θ": "th", "ð": "dh", "s": "s", "z": "z", "ʃ": "sh", "ʒ": "sh", "h": "hh", "tʃ": "ch", "dʒ": "jh",
    "m": "m", "n": "n", "n̩": "n", "ŋ": "ng", "l": "l", "əl": "l", "ɫ": "l", "ɹ": "r", "r": "r", "w": "w",
    "ʍ": "w", "j": "y", "ɾ": "dx", "ʔ": "t", "x": "k",
    # monophthongs
    "ɪ": "ih", "ᵻ": "ih", "i": "iy", "iː": "iy", "ɛ": "eh", "e": "eh", "æ": "ae", "a": "ae",
    "aː": "aa", "a:": "aa", "aa": "aa", "ɑ": "aa", "ɑː": "aa", "ɒ": "aa", "ɔ": "aa", "ɔː": "aa",
    "ʌ": "ah", "ə": "ah", "ɐ": "ah", "ʊ": "uh", "u": "uw", "uː": "uw", "ʉ": "uw", "ʉː": "uw",
    "ɜ": "er", "ɜː": "er", "ɚ": "er", "əɹ": "er",
    # diphthongs and long mid vowels
    "eɪ": "ey", "ei": "ey", "eː": "ey", "eʲ": "ey", "aɪ": "ay", "ɔɪ": "oy", "oɪ": "oy", "aʊ": "aw",
    "æʊ": "aw", "oʊ": "ow", "əʊ": "ow", "əu": "ow", "oː": "ow", "o": "ow", "ʌʊ": "ow", "ʌʉ": "ow",
    # centring diphthongs (non-rhotic accents)
    "ɪə": ("ih", "ah"), "iə": ("ih", "ah"), "eə": ("eh", "ah"), "ʊə": ("uh", "ah"), "ɔə": ("aa", "ah"),
    "oə": ("ow", "ah"), "ɑə": ("aa", "ah"), "aɪə": ("ay", "ah"), "aʊə": ("aw", "ah"),
    # r-coloured vowels (rhotic accents)
    "ɑːɹ": ("aa", "r"), "ɑɹ": ("aa", "r"), "oːɹ": ("aa", "r"), "ɔːɹ": ("aa", "r"), "ɔɹ": ("aa", "r"),
    "ʉɹ": ("uw", "r"), "ʊɹ": ("uh", "r"), "ʌɹ": ("ah", "r"), "ɛɹ": ("eh", "r"), "ɪɹ": ("ih", "r"),
    "aɪɚ": ("ay", "er"), "aɪʊɹ": ("ay", "er"),
}

# flite's CMU phones -> phones (pau, the pause, is dropped; ao, ax and zh fold as in TIMIT).
CMU = {p: p for p in PHONES if p != "dx"}
CMU.update({"ao": "aa", "ax": "ah", "zh": "sh", "pau": None})


class UnknownPhone(ValueError):
    pass


def _expand(symbol, table, source):
    if symbol not in table:
        raise UnknownPhone(f"{source}: no phone for the symbol {symbol!r} (add it to tools/speech/phones.py "
                           "and docs/SPEECH.md)")
    mapped = table[symbol]
    if mapped is None:
        return []
    return [mapped] if isinstance(mapped, str) else list(mapped)


def fold_espeak_ipa(ipa):
    """Phones of espeak-ng's `--ipa --sep=_` output (words separated by spaces or newlines)."""
    phones = []
    for word in ipa.split():
        for symbol in word.split("_"):
            symbol = symbol.replace("ˈ", "").replace("ˌ", "")
            if symbol.strip("ː") == "":  # a lone length mark
                continue
            phones += _expand(symbol, ESPEAK_IPA, "espeak-ng")
    return phones


def fold_cmu(text):
    """Phones of flite's `-ps` output."""
    phones = []
    for symbol in text.split():
        phones += _expand(symbol, CMU, "flite")
    return phones


def espeak_phones(text, voice):
    """The phones espeak-ng speaks for `text` in `voice` (accent and variant, e.g. en-gb+m3)."""
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "--sep=_", "-v", voice, text], check=True,
                         capture_output=True, text=True).stdout
    return fold_espeak_ipa(out)


def flite_phones(text, voice):
    """The phones flite speaks for `text` in `voice` (kal16, slt, rms, awb, ...)."""
    out = subprocess.run(["flite", "-voice", voice, "-t", text, "-ps", "-o", "none"], check=True,
                         capture_output=True, text=True).stdout
    return fold_cmu(out)
