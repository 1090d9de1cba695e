import textwrap

import pytest
from pydantic import SecretStr

from monitor.cli import main
from monitor.errors import ConfigError
from monitor.settings import Strict, load_settings, parse_duration, parse_settings
from tests.factories import alias_bomb_mutes, deeply_nested_mutes


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(textwrap.dedent(text), "config.yaml")
    return info.value.problems


def test_unknown_field_names_file_line_and_field_with_a_hint():
    assert problems("""\
        brands:
          - name: Acme
            keywordz: [acme]
        """) == ["config.yaml:3: brands[0].keywordz: unknown field (did you mean 'keywords'?)"]


def test_only_brands_is_a_valid_file():
    settings = parse_settings("brands: [{name: Acme}]")
    assert settings.brands[0].terms == ["Acme"]
    assert settings.sources == {} and settings.routes == []


@pytest.mark.parametrize("text, seconds", [("2s", 2), ("5m", 300), ("1h", 3600), ("1d", 86400),
                                           ("500ms", 0.5), ("1h30m", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5", 5, "5 minutes", "m", "", None])
def test_bad_durations_are_refused(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_bad_values_are_all_reported_in_line_order():
    found = problems("""\
        brands:
          - name: Acme
        delivery:
          lease: 10x
        routes:
          - name: urgent
            when: {severity: urgent}
            notify: [nobody]
        """)
    assert found[0] == "config.yaml:4: delivery.lease: expected a duration such as '90s', '5m', '1h' or '1d', got '10x'"
    assert found[1].startswith("config.yaml:7: routes[0].when.severity[0]: Input should be 'critical'")
    assert len(found) == 2


def test_route_to_unknown_notifier_points_at_the_item():
    found = problems("""\
        brands: [{name: Acme}]
        routes:
          - name: urgent
            notify:
              - slak
        """)
    assert found == ["config.yaml:5: routes[0].notify[0]: unknown notifier 'slak' (known: none)"]


def test_unknown_source_type_lists_known_kinds():
    found = problems("""\
        brands: [{name: Acme}]
        sources:
          feed: {type: rsss, url: "http://example.com"}
        """)
    assert found[0].startswith("config.yaml:3: sources.feed.type: unknown type 'rsss' (known: ")
    assert "rss" in found[0]


def test_yaml_syntax_error_has_a_line():
    assert problems("brands:\n  - name: [Acme\n")[0].startswith("config.yaml:3: invalid YAML")


def test_duplicate_keys_are_an_error():
    assert problems("brands: [{name: A}]\nbrands: [{name: B}]\n")[0].startswith("config.yaml:2: invalid YAML")


def test_environment_substitution(monkeypatch):
    monkeypatch.setenv("BRAND", "Acme")
    settings = parse_settings("brands: [{name: '${BRAND}', keywords: ['${BRAND}', '${MISSING:-fallback}']}]")
    assert settings.brands[0].keywords == ["Acme", "fallback"]


def test_missing_environment_variable_is_named(monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    assert problems("brands:\n  - name: x\n    keywords: ['${NOPE}']\n") == [
        "config.yaml:3: brands[0].keywords[0]: environment variable NOPE is not set"]


def test_a_secret_file_under_an_unset_variable_is_one_problem(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    text = ("brands: [{name: Acme}]\nnotifiers:\n  hook:\n    type: webhook\n    url: http://127.0.0.1:9/h\n"
            "    secret_file: ${CREDENTIALS_DIRECTORY}/webhook_secret\n")
    assert problems(text) == [
        "config.yaml:6: notifiers.hook.secret_file: environment variable CREDENTIALS_DIRECTORY is not set: run under"
        " systemd with LoadCredential=webhook_secret:/etc/brand-monitor/secrets/webhook_secret, or set"
        " CREDENTIALS_DIRECTORY=/path/to/a/folder holding a file named webhook_secret, or give"
        " secret: ${WEBHOOK_SECRET} instead"]


class WithSecret(Strict):
    token: SecretStr | None = None


def test_secret_file_twin_fills_the_field(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    model = WithSecret.model_validate({"token_file": str(secret)})
    assert model.token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(model)


def test_secret_file_problems(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        WithSecret.model_validate({"token_file": str(tmp_path / "absent")})
    with pytest.raises(ValueError, match="not both"):
        WithSecret.model_validate({"token": "a", "token_file": str(tmp_path / "absent")})


def test_check_command_exit_codes_and_no_traceback(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("brands: [{name: Acme}]\n")
    assert main(["check", "--config", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("brands:\n  - name: Acme\n    keywordz: [x]\n")
    assert main(["check", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: brands[0].keywordz: unknown field" in err
    assert "Traceback" not in err
    assert main(["check", "--config", str(tmp_path / "missing.yaml")]) == 2


@pytest.mark.parametrize("name", ["example.yaml", "minimal.yaml"])
def test_shipped_configs_are_valid(name, monkeypatch, tmp_path):
    from pathlib import Path
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    secrets = {"slack_webhook_url": "https://hooks.slack.com/services/T0/B0/x", "webhook_secret": "s",
               "smtp_password": "p", "matrix_token": "syt_x", "telegram_token": "123456:ABC-def",
               "reddit_client_secret": "r", "bluesky_app_password": "abcd-efgh-ijkl-mnop", "github_token": "ghp_x",
               "x_bearer_token": "AAAAx", "vk_service_token": "vk1.a.x",
               "youtube_api_key": "AIzaSy-x"}
    for secret, value in secrets.items():
        (tmp_path / secret).write_text(value + "\n")
    settings = load_settings(Path(__file__).parents[1] / "config" / name)
    assert settings.brands


@pytest.mark.parametrize("text, expected", [
    ("brands: [{name: Acme}]\nnotifiers: {hook: {type: webhook, url: 'http://127.0.0.1:99999/x'}}\n",
     "config.yaml:2: notifiers.hook.url: is not a valid URL (port out of range 0-65535)"),
    ("brands: [{name: Acme}]\nnotifiers: {hook: {type: webhook, url: 'http://[::1/x'}}\n",
     "config.yaml:2: notifiers.hook.url: is not a valid URL (invalid ipv6 url)"),
    ("brands: [{name: Acme}]\nnotifiers: {m: {type: matrix, homeserver: 'https://[::1', room_id: '!r:x',"
     " access_token: t}}\n", "config.yaml:2: notifiers.m.homeserver: must be the homeserver's base URL"),
    ("brands: [{name: Acme, keywords: [Acme, '  ']}]\n",
     "config.yaml:1: brands[0].keywords[1]: must not be empty: an empty keyword would match nothing"),
    ("brands: [{name: Acme}]\nnotifiers: {hook: {type: webhook, url: 'http://127.0.0.1:9/x'}}\n"
     "routes:\n  - {name: main, notify: [hook]}\n  - {name: main, notify: [hook]}\n",
     "config.yaml:5: routes[1].name: duplicate route name 'main'"),
    ("brands: [{name: Acme}]\nnotifiers: {hook: {type: webhook, url: 'http://127.0.0.1:9/x'}}\n"
     "routes: [{name: main, notify: [hook], when: {language: English}}]\n",
     "config.yaml:3: routes[0].when.language[0]: "),
])
def test_careless_values_are_refused_with_file_line_and_field(text, expected):
    found = problems(text)
    assert len(found) == 1 and found[0].startswith(expected), found



@pytest.mark.parametrize("addition, problem", [
    (deeply_nested_mutes(), ":2: nested more than 32 levels deep"),
    (alias_bomb_mutes()[0],
     f":{1 + alias_bomb_mutes()[1]}: aliases expand to more than 10,000 values (an alias bomb?)"),
    ("# padding\n" * 100_000, ": larger than 1,000,000 bytes; is this really the config file?"),
])
def test_check_refuses_a_config_too_deep_too_aliased_or_too_big_naming_the_line(tmp_path, capsys, addition, problem):
    config = tmp_path / "config.yaml"
    config.write_text("brands: [{name: Acme}]\n" + addition)
    assert main(["check", "--config", str(config)]) == 2
    assert capsys.readouterr().err == f"{config}{problem}\n"


def test_anchors_and_merge_keys_of_an_ordinary_config_are_fine():
    text = "brands: [{name: Acme}]\nsources:\n  blog0: &feed {type: rss, url: 'https://example.com/0', every: 10m}\n"
    text += "".join(f"  blog{i}: {{<<: *feed, url: 'https://example.com/{i}'}}\n" for i in range(1, 300))
    settings = parse_settings(text)
    assert len(settings.sources) == 300 and settings.sources["blog299"].every == 600


@pytest.mark.parametrize("options, problem", [
    ("every: 1ms", "less than 30s between polls hammers the server; use 30s or more, or set allow_fast_polling: true"
                   " if the server is your own"),
    ("every: 0s", "less than 30s between polls hammers the server"),
    ("every: 29s", "less than 30s between polls hammers the server"),
    ("every: 500ms, allow_fast_polling: true", "must be at least 1s, even with allow_fast_polling"),
])
def test_polling_too_often_is_refused_with_file_line_and_field(options, problem):
    found = problems(f"brands: [{{name: Acme}}]\nsources:\n  hn: {{type: hacker_news, {options}}}\n")
    assert len(found) == 1 and found[0].startswith(f"config.yaml:3: sources.hn.every: {problem}"), found


def test_polling_a_server_of_your_own_fast_is_allowed_when_asked_for():
    settings = parse_settings("brands: [{name: Acme}]\nsources:\n  mine: {type: rss, url: 'http://127.0.0.1:8080/f',"
                              " every: 1s, allow_fast_polling: true}\n  hn: {type: hacker_news, every: 30s}\n")
    assert settings.sources["mine"].every == 1 and settings.sources["hn"].every == 30


def test_public_replies_are_not_read_more_often_than_every_30s():
    found = problems("brands: [{name: Acme}]\npublic_replies:\n  every: 1s\n")
    assert found == ["config.yaml:3: public_replies.every: less than 30s between reads hammers the public APIs; "
                     "use 30s or more"]


def test_store_is_a_sqlite_path_or_a_postgresql_url_not_both(tmp_path):
    assert problems("""\
        store:
          path: state.db
          url: postgresql://bm@db/brand
        brands: [{name: Acme}]
        """) == ["config.yaml:1: store: give either path (SQLite) or url (PostgreSQL), not both"]
    password = tmp_path / "pgpass"
    password.write_text("s3cret-db-pass\n")
    store = parse_settings(f"store: {{url: 'postgresql://bm:s3cret-db-pass@db/brand', password_file: {password}}}\n"
                           "brands: [{name: Acme}]").store
    assert store.password.get_secret_value() == "s3cret-db-pass"
    assert store.location() == "postgresql://bm:***@db/brand"
