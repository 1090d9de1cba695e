from dataclasses import replace

from monitor.models import Send
from monitor.routing.incidents import absorb, report_words, status_update
from monitor.settings import IncidentConfig
from tests.factories import make_alert, make_post

CONFIG = IncidentConfig(window="30m", threshold=3, similarity=0.1)
TEAM = {"team": Send()}


def report(n, text, category="outage", brand="Acme"):
    alert = make_alert(make_post(n, text=text), brand=brand)
    return replace(alert, assessment=replace(alert.assessment, category=category))


def run(alerts, incidents=None, reports=None, now=1000.0, config=CONFIG):
    return absorb([(a, dict(TEAM)) for a in alerts], incidents if incidents is not None else {},
                  reports if reports is not None else {}, config, now)


def test_third_similar_report_opens_one_incident_and_later_ones_are_folded_in():
    texts = ["Acme app is down, cannot log in", "acme down again, log in fails", "Acme log in broken for me",
             "cannot log in to acme", "acme login down"]
    incidents, reports = {}, {}
    out, changed = run([report(i, t) for i, t in enumerate(texts[:2])], incidents, reports)
    assert [d for _, d in out] == [TEAM, TEAM] and changed == []        # two reports: sent as usual
    out, changed = run([report(3, texts[2])], incidents, reports)
    assert [d for _, d in out] == [{}, TEAM]                            # the third is folded; the incident is sent
    notice = out[1][0]
    assert notice.mention.post.title.startswith("Incident: 3 people report Acme outage since")
    assert notice.assessment.severity == "high" and "working on it" in notice.reply
    out, changed = run([report(4, texts[3]), report(5, texts[4])], incidents, reports)
    assert [d for _, d in out] == [{}, {}]                              # 4 and 5 reports: no new notice
    assert changed[0].members == 5
    out, _ = run([report(6, "acme still down, log in")], incidents, reports)
    assert out[1][0].mention.post.title.startswith("Incident (update): 6 people report")   # doubled since last notice


def test_unrelated_or_positive_reports_do_not_open_an_incident():
    texts = ["Acme app is down", "love the new Acme colours", "Acme billing charged me twice"]
    alerts = [report(1, texts[0]), replace(report(2, texts[1]), assessment=replace(report(2, texts[1]).assessment,
                                                                                  sentiment="positive")),
              report(3, texts[2], category="complaint")]
    out, changed = run(alerts)
    assert changed == [] and all(d == TEAM for _, d in out)


def test_dissimilar_reports_of_the_same_category_stay_separate():
    out, changed = run([report(1, "Acme app crashes on start"), report(2, "Acme website certificate expired"),
                        report(3, "Acme router lights blinking red")], config=IncidentConfig(similarity=0.3))
    assert changed == []


def test_competitors_are_not_incidents():
    alerts = [replace(a, mention=replace(a.mention, competitor=True))
              for a in (report(i, "Globex is down") for i in range(3))]
    assert run(alerts)[1] == []


def test_brand_names_do_not_make_reports_similar():
    assert "acme" not in report_words(report(1, "Acme is down"))


def test_status_update_speaks_the_reporters_language():
    out, changed = run([replace(a, assessment=replace(a.assessment, language="ru"))
                        for a in (report(i, "Акме не работает вход") for i in range(3))])
    assert "Команда уже работает" in status_update(changed[0])


def test_incident_notices_have_their_own_layout():
    from monitor.notifiers.format import plain_text, view
    out, _ = run([report(i, "Acme is down, cannot log in") for i in range(3)])
    text = plain_text(view(out[-1][0]))
    assert "Incident: 3 people report Acme outage" in text and "3 similar reports within 30 min" in text
    assert "Sentiment:" not in text and "Author:" not in text and "Language:" not in text
