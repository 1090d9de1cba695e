"""Finds brand mentions: exact names, aliases, inflected forms, transliterations, sound-alike spellings and
misspellings, in any script, without alerting on the ordinary words that look like a short name.

How a post is matched:
1. tokenize: one-to-one normalization (offsets stay valid), word tokens with folded keys;
2. every token (and the 2-4 token runs that could spell a multi-word name, "Digi Kala") is looked up in
   one dict of every accepted form of every brand; per distinct token the result is cached;
3. only keys that miss are tried against the sound-alike keys, compound stems, and, for fuzzy matching,
   the few names that share an intact half (pigeonhole on edits) with them; rapidfuzz checks those;
4. overlapping hits of different brands go to the closest one (exact > inflection > variant > fuzzy):
   "Íslandsbanka" is the competitor Íslandsbanki, not a misspelled Landsbanki.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from ..models import Match, Mention, Post
from ..settings import BrandConfig
from .common_words import is_common_word
from .normalize import Token, compact, fold_strict, plain_keys, script_of, tokenize
from .variants import (
    BrandForms,
    Form,
    FuzzyPolicy,
    compound_stems,
    inflections,
    phonetic_key,
    transliterations,
)

ALL_LANGUAGES = ("en", "fa", "ru", "is")
KIND_RANK = {"exact": 5, "alias": 5, "inflection": 4, "variant": 3, "fuzzy": 2}
_JOIN_GAP = frozenset(" -./\u200c\u200d'")
_MAX_JOIN = 4
_MIN_PIECE = 3  # the first piece of a name written in pieces ("sber bank", "lands bankinn")
_CACHE_LIMIT = 300_000


@dataclass(frozen=True, slots=True)
class _Entry:
    brand: int
    kind: str
    term: str
    score: float


@dataclass(frozen=True, slots=True)
class _Hit:
    brand: int
    kind: str
    term: str
    score: float
    start: int
    end: int

    @property
    def rank(self) -> tuple[int, float, int]:
        return KIND_RANK[self.kind], self.score, self.end - self.start


@dataclass(frozen=True)
class _Brand:
    config: BrandConfig
    languages: tuple[str, ...]
    forms: BrandForms
    policy: FuzzyPolicy
    excludes: tuple[tuple[str, ...], ...]
    strict_forms: frozenset[str]


def build_forms(brand: BrandConfig, languages: Sequence[str]) -> BrandForms:
    """Every key the brand accepts: configured terms, their inflections and transliterations."""
    out = BrandForms()
    sources = [(t, "exact", 100.0) for t in brand.terms] + [(a, "alias", 100.0) for a in brand.aliases]
    have = {script_of(compact(t)) for t, _, _ in sources}
    for term, kind, score in sources:
        base = compact(term)
        if not base:
            continue
        out.add(Form(base, kind, term, score, "as configured"))
        derived = [Form(f, "inflection", term, 98.0, "", e) for f, e in inflections(base, languages)]
        for variant, how in transliterations(base, languages, have, bool(brand.languages)):
            derived.append(Form(variant, "variant", term, 95.0, how))
            derived += [Form(f, "variant", term, 93.0, how, e) for f, e in inflections(variant, languages)]
        base_common = is_common_word(base)
        for form in derived:
            if base_common or not is_common_word(form.key):
                out.add(form)
        for stem in compound_stems(base, languages):
            out.compounds[stem] = Form(stem, "inflection", term, 92.0, "compound")
    return out


def _policy(brand: BrandConfig) -> FuzzyPolicy:
    return FuzzyPolicy(enabled=brand.fuzzy != "off", min_length=brand.fuzzy_min_length,
                       two_edits_from=brand.fuzzy_two_edits_from)


def _prepare(brand: BrandConfig) -> _Brand:
    languages = tuple(brand.languages) or ALL_LANGUAGES
    forms = build_forms(brand, languages)
    excludes = tuple(tuple(t[0] for t in tokenize(phrase)[1]) for phrase in brand.exclude)
    strict: frozenset[str] = frozenset()
    if not brand.fold_accents:
        strict = frozenset(_strict_forms(brand, languages))
    return _Brand(brand, languages, forms, _policy(brand), tuple(e for e in excludes if e), strict)


def _strict_forms(brand: BrandConfig, languages: Sequence[str]) -> set[str]:
    keys = set()
    terms = [*brand.terms, *brand.aliases]
    have = {script_of(compact(t)) for t in terms}
    for term in terms:
        base = fold_strict(term)
        keys.add(base)
        keys.update(f for f, _ in inflections(base, languages))
        for variant, _ in transliterations(base, languages, have, bool(brand.languages)):
            keys.add(variant)
            keys.update(f for f, _ in inflections(variant, languages))
    return keys


class _Index:
    """All brands' keys in plain dicts: exact forms, sound-alike keys, compound stems, fuzzy pigeonholes."""

    def __init__(self, brands: Sequence[_Brand]):
        self.exact: dict[str, list[_Entry]] = defaultdict(list)
        self.phonetic: dict[str, list[_Entry]] = defaultdict(list)
        self.compounds: dict[str, list[_Entry]] = defaultdict(list)
        self.fuzzy: dict[str, list[tuple[str, _Entry, int]]] = defaultdict(list)
        self.lengths_one: set[int] = set()
        self.lengths_two: set[int] = set()
        self.prefixes: set[str] = set()
        for i, b in enumerate(brands):
            self._add_brand(i, b)
        self.compound_lengths = sorted({len(k) for k in self.compounds})
        self.exact, self.phonetic, self.compounds, self.fuzzy = (
            dict(self.exact), dict(self.phonetic), dict(self.compounds), dict(self.fuzzy))

    def _add_brand(self, i: int, b: _Brand) -> None:
        edits_by_term = {}
        for form in b.forms.forms.values():
            entry = _Entry(i, form.kind, form.term, form.score)
            self.exact[form.key].append(entry)
            if form.kind != "inflection":
                self.prefixes.update(form.key[:n] for n in range(_MIN_PIECE, len(form.key)))
            if not b.policy.enabled:
                continue
            if form.term not in edits_by_term:
                edits_by_term[form.term] = b.policy.max_edits(compact(form.term))
            self.phonetic[phonetic_key(form.key)].append(_Entry(i, "variant", form.term, 90.0))
            edits = min(edits_by_term[form.term], b.policy.max_edits(form.key))
            if edits:
                self._add_fuzzy(form.key, _Entry(i, "fuzzy", form.term, 0.0), edits)
        for stem, form in b.forms.compounds.items():
            self.compounds[stem].append(_Entry(i, "inflection", form.term, form.score))

    def _add_fuzzy(self, key: str, entry: _Entry, edits: int) -> None:
        # Pigeonhole: with one edit, one half of the name is intact; with two, one of three thirds is.
        n = len(key)
        item = (key, entry, edits)
        if edits == 1:
            a = n // 2
            self.fuzzy[f"{n}<{key[:a]}"].append(item)
            self.fuzzy[f"{n}>{key[a + 1:]}"].append(item)
            self.lengths_one.add(n)
            return
        b = n // 3
        self.fuzzy[f"{n}<<{key[:b]}"].append(item)
        self.fuzzy[f"{n}>>{key[n - b:]}"].append(item)
        self.fuzzy[f"{n}={key[b:n - b]}"].append(item)
        self.lengths_two.add(n)

    def fuzzy_candidates(self, key: str) -> dict[str, list[tuple[str, _Entry, int]]]:
        """Names of similar length that share an intact half (one edit) or third (two edits) with `key`."""
        size = len(key)
        probes = []
        for n in range(size - 1, size + 2):
            if n in self.lengths_one:
                a = n // 2
                probes += [f"{n}<{key[:a]}", f"{n}>{key[size - (n - a - 1):]}"]
        for n in range(size - 2, size + 3):
            if n in self.lengths_two:
                b = n // 3
                mid = n - 2 * b
                probes += [f"{n}<<{key[:b]}", f"{n}>>{key[size - b:]}"]
                probes += [f"{n}={key[b + d:b + d + mid]}" for d in (-2, -1, 0, 1, 2) if b + d >= 0]
        found: dict[str, list[tuple[str, _Entry, int]]] = {}
        get = self.fuzzy.get
        for probe in probes:
            for item in get(probe, ()):
                if abs(len(item[0]) - size) <= item[2]:
                    found.setdefault(item[0], []).append(item)
        return found


class Matcher:
    def __init__(self, brands: Sequence[BrandConfig]):
        self._brands = [_prepare(b) for b in brands]
        self._index = _Index(self._brands)
        self._cache: dict[str, tuple[_Entry, ...]] = {}

    def match(self, post: Post) -> list[Mention]:
        """One Mention per brand found in the post's title or text."""
        text = post.text if not post.title else f"{post.title}\n{post.text}"
        keys = plain_keys(text)
        if keys is not None and not self._may_match(keys):  # most posts: no word is a name or starts one
            return []
        norm, tokens = tokenize(text, plain=keys is not None)
        hits = _resolve(self._hits(text, norm, tokens))
        by_brand: dict[int, list[_Hit]] = defaultdict(list)
        for hit in hits:
            by_brand[hit.brand].append(hit)
        mentions = []
        for i in sorted(by_brand):
            brand = self._brands[i]
            found = self._accepted(brand, by_brand[i], text, tokens, post.lang_hint)
            if found:
                mentions.append(Mention(post=post, brand=brand.config.name, competitor=brand.config.competitor,
                                        matches=tuple(found)))
        return mentions

    def _may_match(self, keys: list[str]) -> bool:
        prefixes = self._index.prefixes
        return any(self._lookup(key) or key in prefixes for key in set(keys))

    def _hits(self, text: str, norm: str, tokens: list[Token]) -> list[_Hit]:
        hits: list[_Hit] = []
        prefixes, cache = self._index.prefixes, self._cache
        for i, (key, start, end, homoglyph) in enumerate(tokens):
            found = cache.get(key)
            if found is None:
                found = self._lookup(key)
            for e in found:
                hits.append(_hit(e, start, end, homoglyph))
            if key in prefixes:
                self._join(text, norm, tokens, i, hits)
        return hits

    def _join(self, text: str, norm: str, tokens: list[Token], i: int, hits: list[_Hit]) -> None:
        """Names written in pieces: 'Digi Kala', 'digi-kala', 'دیجی کالا', '#Snapp_Food', 'SnappFood'.
        Ordinary lower-case words that happen to spell a name ("the north wind" for Northwind) are not it."""
        joined, start, prev_end, _ = tokens[i]
        pieces = [tokens[i]]
        for j in range(i + 1, min(i + _MAX_JOIN, len(tokens))):
            key, tok_start, end, homoglyph = tokens[j]
            gap = norm[prev_end:tok_start]
            if gap and (len(key) < 2 or not _joins(gap)):
                return
            joined += key
            pieces.append(tokens[j])
            if not _ordinary_phrase(text, pieces):
                for e in self._lookup(joined):
                    hits.append(_hit(e, start, end, homoglyph))
            if joined not in self._index.prefixes:
                return
            prev_end = end

    def _lookup(self, key: str) -> tuple[_Entry, ...]:
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[key] = self._analyze(key)
        return found

    def _analyze(self, key: str) -> tuple[_Entry, ...]:
        index = self._index
        best: dict[int, _Entry] = {e.brand: e for e in index.exact.get(key, ())}
        if len(key) < 3:
            return tuple(best.values())
        more: list[_Entry] = list(index.phonetic.get(phonetic_key(key), ()))
        more += [e for n in index.compound_lengths if n <= len(key) - 2
                 for e in index.compounds.get(key[:n], ())]
        if len(key) >= 5:
            more += self._fuzzy(key)
        more = [e for e in more if e.brand not in best]
        if more and not is_common_word(key):
            for e in more:
                if e.brand not in best or KIND_RANK[e.kind] > KIND_RANK[best[e.brand].kind] or (
                        e.kind == best[e.brand].kind and e.score > best[e.brand].score):
                    best[e.brand] = e
        return tuple(best.values())

    def _fuzzy(self, key: str) -> list[_Entry]:
        out = []
        for target, items in self._index.fuzzy_candidates(key).items():
            edits = max(item[2] for item in items)
            dist = OSA.distance(key, target, score_cutoff=edits)
            if dist <= edits:
                score = round(100.0 * (1 - dist / max(len(key), len(target))), 1)
                out += [_Entry(e.brand, "fuzzy", e.term, score) for _, e, ed in items if dist <= ed]
        return out

    def _accepted(self, brand: _Brand, hits: list[_Hit], text: str, tokens: list[Token],
                  lang_hint: str | None) -> list[Match]:
        if lang_hint and brand.config.languages:
            if lang_hint.lower().split("-")[0] not in brand.languages:
                return []
        if brand.excludes:
            keys = [t[0] for t in tokens]
            if any(_contains(keys, phrase) for phrase in brand.excludes):
                return []
        if brand.strict_forms:
            hits = [h for h in hits if self._strict_ok(brand, h, text)]
        return [Match(term=h.term, kind=h.kind, score=h.score, start=h.start, end=h.end)  # type: ignore[arg-type]
                for h in sorted(hits, key=lambda h: h.start)]

    def _strict_ok(self, brand: _Brand, hit: _Hit, text: str) -> bool:
        """With fold_accents off, 'Simanum' is not 'Símanum': accents must match, edits still allowed."""
        span = fold_strict(text[hit.start:hit.end])
        if span in brand.strict_forms:
            return True
        if hit.kind != "fuzzy":
            return False
        edits = brand.policy.max_edits(span)
        return any(OSA.distance(span, f, score_cutoff=edits) <= edits for f in brand.strict_forms)

    def variants(self, brand_name: str) -> dict[str, list[str]]:
        """What the matcher accepts for one brand, grouped for review (`brand-monitor variants`)."""
        brand = next((b for b in self._brands if b.config.name == brand_name), None)
        if brand is None:
            raise KeyError(brand_name)
        return describe_brand(brand)


def _joins(gap: str) -> bool:
    """'digi kala', 'digi-kala', 'snapp.food', "dunkin' donuts", a ZWNJ and a space; but 'not. To' is two
    sentences."""
    return len(gap) <= 2 and all(c in _JOIN_GAP for c in gap) and not ("." in gap and " " in gap)


def _ordinary_phrase(text: str, pieces: list[Token]) -> bool:
    """Separate common words in lower case: 'north wind' is not Northwind; 'North wind', 'northwind' and
    uncased scripts (Persian) still are."""
    spaced = any(text[a[2]:b[1]].isspace() for a, b in zip(pieces, pieces[1:]))
    return (spaced and all(text[p[1]].islower() for p in pieces)
            and all(is_common_word(p[0]) for p in pieces))


def _hit(e: _Entry, start: int, end: int, homoglyph: bool) -> _Hit:
    if homoglyph and e.kind in ("exact", "alias", "inflection"):
        return _Hit(e.brand, "variant", e.term, 95.0, start, end)
    return _Hit(e.brand, e.kind, e.term, e.score, start, end)


def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Where hits overlap, the closer one wins; a brand keeps one hit per place."""
    if len(hits) < 2:
        return hits
    kept = []
    for h in hits:
        beaten = any(o is not h and o.start < h.end and h.start < o.end and
                     (o.rank > h.rank if o.brand != h.brand else (o.rank, -o.start) > (h.rank, -h.start))
                     for o in hits)
        if not beaten:
            kept.append(h)
    unique = {(h.brand, h.start, h.end): h for h in kept}
    return list(unique.values())


def _contains(keys: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(keys[i] == phrase[0] and tuple(keys[i:i + n]) == phrase for i in range(len(keys) - n + 1))


def describe_brand(brand: _Brand) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    endings: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for form in sorted(brand.forms.forms.values(), key=lambda f: (f.kind, f.key)):
        if form.ending:
            stem = form.key[: len(form.key) - len(form.ending)]
            endings[(form.kind if form.kind == "inflection" else "variant", stem, form.how)].append(form.ending)
        else:
            groups[form.kind].append(form.key if form.how == "as configured" else f"{form.key}  ({form.how})")
    for (kind, stem, how), ends in endings.items():
        label = "inflection" if kind == "inflection" else "variant"
        groups[label].append(f"{stem} + -{', -'.join(ends)}" + (f"  ({how})" if how else ""))
    groups["compound"] = [f"{stem}+…" for stem in brand.forms.compounds]
    p = brand.policy
    groups["fuzzy"] = ["off"] if not p.enabled else [
        f"names under {p.min_length} letters: none; {p.min_length}-{p.two_edits_from - 1} letters: 1 edit; "
        f"{p.two_edits_from}+ letters: 2 edits",
        "sound-alike letters (ط=ت, ص=ث=س, ذ=ض=ظ=ز, پ=ب, ح=ه, غ=ق, گ=ک) and doubled letters",
        "never a common word of the post's language (wordfreq's lists)"]
    groups["normalization"] = [
        "case, NFKC, homoglyphs, ZWNJ, harakat, tatweel, Persian/Arabic digits, ё=е, ي=ی, ك=ک",
        "accents folded (á=a, ð=d, þ=th, æ=ae, ö=o)" if brand.config.fold_accents else "accents must match",
        "spaces, hyphens and dots inside names; #hashtags, @handles, domains"]
    groups["languages"] = list(brand.languages)
    if brand.config.exclude:
        groups["exclude"] = list(brand.config.exclude)
    return dict(groups)


def describe_variants(brands: Sequence[BrandConfig]) -> str:
    """The printable review of every brand's accepted forms."""
    matcher = Matcher(brands)
    lines = []
    for b in brands:
        lines.append(f"{b.name}{' (competitor)' if b.competitor else ''}")
        for group, items in matcher.variants(b.name).items():
            if items:
                lines.append(f"  {group}:")
                lines += [f"    {item}" for item in items]
    return "\n".join(lines) + "\n"
