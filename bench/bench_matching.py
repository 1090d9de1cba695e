"""Matching speed: 1,000 brands x 20,000 synthetic posts on one core (goal >= 5,000 posts/s).

Deterministic (seeded). Brand names and words are made-up syllable strings in Latin, Cyrillic and Persian
letters; post words follow a Zipf law over a 60,000-word vocabulary, and about one post in five mentions a
brand (exact, inflected, joined with a hyphen, or with one typo). Prints build time, posts/s, mentions.

    .venv/bin/python bench/bench_matching.py [--brands 1000] [--posts 20000]
"""
from __future__ import annotations

import argparse
import bisect
import itertools
import random
import time

from monitor.matching import Matcher
from monitor.models import Post
from monitor.settings import BrandConfig

SYLLABLES = {
    "latin": ([*"bcdfghklmnprstvz", "sh", "ch", "tr"], [*"aeiou", "ai", "ou"]),
    "cyrillic": ([*"бвгдзклмнпрстфхцчш"], [*"аеиоуыя"]),
    "persian": ([*"بپتجچدرزسشفکگلمنو"], ["ا", "ی", "و", ""]),
}
ENDINGS = {"latin": ["s", "inn", "anum"], "cyrillic": ["а", "ом", "е"], "persian": ["ها", "و", "م"]}


def word(rng: random.Random, script: str, syllables: int) -> str:
    cons, vowels = SYLLABLES[script]
    return "".join(rng.choice(cons) + rng.choice(vowels) for _ in range(syllables))


def make_brands(rng: random.Random, n: int) -> list[BrandConfig]:
    brands, seen = [], set()
    scripts = list(SYLLABLES)
    while len(brands) < n:
        script = scripts[len(brands) % 3]
        name = word(rng, script, rng.randint(2, 4))
        if name in seen:
            continue
        seen.add(name)
        keywords = [name.capitalize()]
        if rng.random() < 0.3:
            keywords.append(word(rng, scripts[(len(brands) + 1) % 3], 3))
        brands.append(BrandConfig(name=f"b{len(brands)}-{name}", keywords=keywords,
                                  competitor=rng.random() < 0.1,
                                  exclude=([f"{word(rng, script, 2)} {word(rng, script, 2)}"]
                                           if rng.random() < 0.1 else [])))
    return brands


def mention(rng: random.Random, brand: BrandConfig) -> str:
    term = brand.keywords[0]
    kind = rng.random()
    if kind < 0.4:
        return term
    if kind < 0.6:
        script = "cyrillic" if "\u0400" <= term[0] <= "\u04ff" else "persian" if term[0] >= "\u0600" else "latin"
        return term + rng.choice(ENDINGS[script])
    if kind < 0.75 and len(term) > 4:
        cut = len(term) // 2
        return f"{term[:cut]}-{term[cut:]}"
    i = rng.randrange(1, len(term))
    return term[:i] + term[i - 1] + term[i:]  # a doubled letter


def make_posts(rng: random.Random, brands: list[BrandConfig], n: int) -> list[Post]:
    vocab = [word(rng, rng.choice(list(SYLLABLES)), rng.randint(1, 4)) for _ in range(60_000)]
    weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(vocab))))
    posts = []
    for i in range(n):
        words = [vocab[bisect.bisect(weights, rng.random() * weights[-1])] for _ in range(rng.randint(8, 60))]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), mention(rng, rng.choice(brands)))
        posts.append(Post(source_id="bench", platform="bench", id=str(i), text=" ".join(words) + "."))
    return posts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brands", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(20261125)
    brands = make_brands(rng, args.brands)
    posts = make_posts(rng, brands, args.posts)
    words = sum(len(p.text.split()) for p in posts)

    started = time.perf_counter()
    matcher = Matcher(brands)
    built = time.perf_counter() - started

    started = time.perf_counter()
    mentions = sum(len(matcher.match(p)) for p in posts)
    took = time.perf_counter() - started
    print(f"brands={len(brands)} posts={len(posts)} words={words} build={built:.2f}s")
    print(f"first pass: {took:.2f}s  {len(posts) / took:,.0f} posts/s  mentions={mentions}")

    started = time.perf_counter()
    again = sum(len(matcher.match(p)) for p in posts)
    took = time.perf_counter() - started
    print(f"warm cache: {took:.2f}s  {len(posts) / took:,.0f} posts/s  mentions={again}")


if __name__ == "__main__":
    main()
