"""The shipped triage model: what it decides, that the brand name plays no part, how it falls back to the
lexicon, and that training is deterministic."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from monitor.app import build_pipeline
from monitor.classify import Triage, TriageSettings, load_triage_model
from monitor.classify.corpus import load_corpus, score
from monitor.classify.features import feature_ids
from monitor.classify.language import language_group
from monitor.models import Match, Mention, Post
from monitor.settings import parse_settings
from tests.factories import NOW, make_post

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
MODEL = load_triage_model("shipped")
TRIAGE = Triage(model=MODEL)


def brand_mention(text: str, brand: str) -> Mention:
    start = text.index(brand)
    post = Post(source_id="test", platform="test", id="1", text=text)
    return Mention(post=post, brand=brand, competitor=False,
                   matches=(Match(term=brand, kind="exact", score=100.0, start=start, end=start + len(brand)),))


def test_the_shipped_model_loads_and_says_it_judged() -> None:
    assert MODEL is not None
    a = TRIAGE.assess(brand_mention("Acme charged me twice for one order and support won't refund it", "Acme"))
    assert a.judged_by.startswith("model ") and a.judged_by == f"model {MODEL.meta['corpus_sha256']}"
    assert a.issue == "billing" and a.urgent and a.severity in ("high", "critical")
    assert a.category == "complaint" and a.sentiment == "negative"


SHORT_URGENT = [
    ("My Revolut card got declined three times today and support chat is just a bot. Unacceptable.", "Revolut"),
    ("Revolute froze my account with 2k in it and nobody answers emails", "Revolute"),
    ("Служба поддержки сбербанка не отвечает уже сутки", "сбербанка"),
    ("Landsbankinn rukkaði mig tvisvar fyrir sömu færsluna", "Landsbankinn"),
    ("Netbanki Landsbankans hefur verið niðri í allan morgun", "Landsbankans"),
    ("ديجي كالا پول منو برنگردونده", "ديجي كالا"),
]


def test_short_urgent_complaints_are_high_and_flagged_urgent() -> None:
    """The posts the lexicon rated medium or neutral/low (issue 11): all negative now, and most high and urgent;
    the model's verdicts are probabilities, so the test asks for most, not each. Measured with the shipped model:
    5 of 6 high (the Russian "support silent for a day" is staff conduct, medium), 4 of 6 urgent (that one at
    50 %, the Persian refund at 31 %)."""
    results = [TRIAGE.assess(brand_mention(text, brand)) for text, brand in SHORT_URGENT]
    assert all(a.sentiment == "negative" for a in results), results
    assert sum(a.severity in ("high", "critical") for a in results) >= 5, results
    assert sum(a.urgent for a in results) >= 4, [a.reasons[2] for a in results]


@pytest.mark.parametrize(("text", "brand"), [
    ("Acme's new ads are SO annoying, every single video", "Acme"),
    ("Does Acme ship to Iceland? Asking before I order", "Acme"),
    ("Acme announces third-quarter results, revenue up 4%", "Acme"),
    ("Big thanks to Acme support, sorted my issue in five minutes", "Acme"),
])
def test_annoyances_questions_news_and_praise_are_not_urgent(text: str, brand: str) -> None:
    a = TRIAGE.assess(brand_mention(text, brand))
    assert not a.urgent and a.severity in ("low", "medium"), a.reasons


def test_the_brand_name_carries_no_label() -> None:
    template = "{} took my money twice and the app keeps crashing"
    seen = set()
    for brand in ("Acme", "Globex", "Landsbankinn", "Сбер"):
        a = TRIAGE.assess(brand_mention(template.format(brand), brand))
        seen.add((a.sentiment_score, a.issue, a.urgent, a.reasons[2]))
    assert len(seen) == 1


@pytest.mark.parametrize(("text", "code"), [
    ("Die App von Acme stürzt seit heute Morgen ständig ab, nichts geht mehr", "de"),
    ("Acme me cobró dos veces el mismo pedido y nadie responde en soporte", "es"),
    ("Acme-appen har vært nede hele dagen, får ikke logget inn i nettbanken", "nb"),
    ("تطبيق Acme لا يعمل منذ الصباح ولا أحد يرد على الاتصالات", "ar"),
    ("Acme знову списав гроші двічі, підтримка мовчить вже тиждень", "uk"),
])
def test_other_languages_are_other_and_named(text: str, code: str) -> None:
    a = TRIAGE.assess(brand_mention(text, "Acme"))
    assert a.language == "other" and a.reasons[0].startswith("language other (")
    assert MODEL.language(text) == code


@pytest.mark.parametrize(("text", "lang"), [
    ("Digikala hanooz poolamo pas nadade, 2 hafte gozashte", "fa"),
    ("sber opyat ne rabotaet, perevod ne prohodit s utra", "ru"),
    ("Siminn er buinn ad vera nidri i allan dag, get ekki hringt", "is"),
])
def test_latin_typed_persian_russian_and_icelandic_are_recognised(text: str, lang: str) -> None:
    assert TRIAGE.assess(brand_mention(text, text.split()[0])).language == lang


def test_other_language_posts_get_the_brands_reply_language_with_a_note() -> None:
    settings = parse_settings("""
brands: [{name: Acme, reply_language: ru}]
routes: []
""")
    pipeline = build_pipeline(settings)
    [outcome] = pipeline.process(make_post(text="Die App von Acme stürzt seit heute Morgen ständig ab"), NOW)
    a = outcome.alert.assessment
    assert a.language == "other" and "reply drafted in ru" in a.reasons
    assert outcome.alert.reply.startswith(("Здравствуйте", "Привет"))


def test_a_missing_model_falls_back_to_the_lexicon(tmp_path: Path) -> None:
    with capture_logs() as logs:
        assert load_triage_model(str(tmp_path / "absent.npz")) is None
    assert [e["event"] for e in logs] == ["triage_model_unavailable"] and logs[0]["fallback"] == "lexicon"
    lexicon = Triage(TriageSettings(model="lexicon"))
    a = lexicon.assess(brand_mention("Acme app is down again, can't log in", "Acme"))
    assert a.judged_by == "lexicon" and a.issue == "outage" and a.urgent and a.severity == "high"


def test_feature_hashing_is_stable_across_processes() -> None:
    """Python's own str hash is salted per process; the model's features must not be."""
    code = "from monitor.classify.features import feature_ids; print(feature_ids('Acme ate my money 😡'))"
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert outputs == {f"{feature_ids('Acme ate my money 😡')}\n"}


@pytest.mark.parametrize("nb", [[], ["--nb"]], ids=["plain", "nb-weighted"])
def test_training_is_deterministic_and_the_result_loads(tmp_path: Path, nb: list[str]) -> None:
    from monitor.classify.train import main as train
    corpus = _tiny_corpus_dir(tmp_path)
    outs = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for out in outs:
        assert train(["--corpus", str(corpus), "--out", str(out), "--C", "4", "--buckets", "4096", *nb]) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    mine = load_triage_model(str(outs[0]))
    assert mine is not None and mine.buckets == 4096 and mine.meta["nb_weighted"] == bool(nb)
    assert Triage(model=mine).assess(brand_mention("Acme charged me twice, refund please", "Acme")).issue == "billing"


def test_nb_weighted_heads_are_one_linear_layer_the_daemon_scores_as_trained() -> None:
    from scipy.sparse import csr_matrix

    from monitor.classify.train import NBLogisticRegression
    rng = np.random.default_rng(0)
    dense = (rng.random((90, 40)) < 0.2).astype(float)  # noise...
    dense[:, :3] = 0.0
    dense[np.arange(90), np.arange(90) % 3] = 1.0  # ...and feature i, found only in class i
    X, y = csr_matrix(dense), np.array(["a", "b", "c"] * 30)
    model = NBLogisticRegression(C=4.0).fit(X, y)
    assert model.coef_.shape == (3, 40) and list(model.predict(X)) == list(y)
    logits = X @ model.coef_.T + model.intercept_  # what TriageModel computes from the saved weights
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(model.predict_proba(X), softmax / softmax.sum(axis=1, keepdims=True))
    binary = NBLogisticRegression(C=4.0).fit(X, y == "a")
    assert binary.coef_.shape == (1, 40) and list(binary.predict(X)) == list(y == "a")


def _tiny_corpus_dir(tmp_path: Path) -> Path:
    """_tiny_corpus as a corpus folder: every fourth post of each language is dev, the rest train."""
    corpus = tmp_path / "corpus"
    for lang, rows in _tiny_corpus().items():
        (corpus / lang).mkdir(parents=True)
        for split in ("train", "dev"):
            lines = [json.dumps(r, ensure_ascii=False) for i, r in enumerate(rows) if (i % 4 == 3) == (split == "dev")]
            (corpus / lang / f"posts.{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (corpus / "splits.txt").write_text("*/posts.dev.jsonl dev\n", encoding="utf-8")
    return corpus


def _tiny_corpus() -> dict[str, list[dict]]:
    en = [("Acme charged me twice, refund please", "negative", "billing", True),
          ("Acme took the payment two times for one order", "negative", "billing", True),
          ("Acme double charged my card again", "negative", "billing", True),
          ("Acme refund still missing after a month", "negative", "billing", True),
          ("love the new Acme app, great job", "positive", "praise", False),
          ("Acme support was lovely today, thanks", "positive", "praise", False),
          ("thank you Acme for the quick fix", "positive", "praise", False),
          ("Acme you are the best", "positive", "praise", False),
          ("does Acme deliver on Sundays?", "neutral", "question", False),
          ("how do I change my Acme address?", "neutral", "question", False),
          ("is there an Acme shop in Reykjavik?", "neutral", "question", False),
          ("when does the Acme sale start?", "neutral", "question", False)]
    ru = [("Акме списал деньги дважды", "negative", "billing", True),
          ("Акме спасибо, всё супер", "positive", "praise", False),
          ("Акме, как поменять тариф?", "neutral", "question", False),
          ("Акме верните деньги, списали два раза", "negative", "billing", True)]
    return {lang: [{"text": t, "brand": "Акме" if lang == "ru" else "Acme", "sentiment": s, "issue": i,
                    "urgent": u} for t, s, i, u in rows] for lang, rows in (("en", en), ("ru", ru))}


# The corpus's test split, scored as the daemon scores (docs/triage.md has the measured values and their commit);
# each floor is 0.03 under the measured value. Nobody reads this split's errors: a drop here means retrain, not
# relabel.
TEST_FLOORS = {
    "en": {"sentiment": 0.791, "issue": 0.755, "urgent": 0.915, "language": 0.968},
    "fa": {"sentiment": 0.812, "issue": 0.742, "urgent": 0.882, "language": 0.969},
    "ru": {"sentiment": 0.801, "issue": 0.725, "urgent": 0.877, "language": 0.969},
    "is": {"sentiment": 0.824, "issue": 0.737, "urgent": 0.871, "language": 0.967},
    "other": {"language": 0.930},
}


@pytest.fixture(scope="module")
def corpus() -> list:
    return load_corpus(CORPUS)


def test_the_corpus_has_the_size_domains_and_test_share_the_issue_asks_for(corpus) -> None:
    for lang in ("en", "fa", "ru", "is"):
        posts = [r for r in corpus if language_group(r.lang) == lang]
        assert len(posts) >= 2500, lang
        assert sum(r.split == "test" for r in posts) >= 0.2 * len(posts), lang  # splits.txt keeps it so
        domains = {path.name.split(".")[0] for path in (CORPUS / lang).glob("*.*.jsonl")}
        assert len(domains) >= 10, lang


def test_the_test_split_stays_above_its_floors(corpus) -> None:
    rows = [r for r in corpus if r.split == "test"]
    scores = score(TRIAGE, rows)
    low = {(lang, metric): round(scores[lang][metric], 3) for lang, floors in TEST_FLOORS.items()
           for metric, floor in floors.items() if scores[lang][metric] < floor}
    assert not low, low


def test_fits_stopped_at_the_iteration_cap_are_summed_up_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    from sklearn.linear_model import LogisticRegression

    from monitor.classify import train
    corpus = _tiny_corpus_dir(tmp_path)
    monkeypatch.setattr(train, "_estimator", lambda C: LogisticRegression(C=C, solver="saga", max_iter=1, tol=1e-9))
    assert train.main(["--corpus", str(corpus), "--out", str(tmp_path / "m.npz"), "--C", "4", "--buckets", "4096"]) == 0
    out, err = capsys.readouterr()
    summary = [line for line in out.splitlines() if "stopped at the iteration cap" in line]
    assert len(summary) == 1 and int(summary[0].split()[0]) >= 4  # one fit per head at least
    assert "ConvergenceWarning" not in err
