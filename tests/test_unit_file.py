"""The shipped systemd unit: hardening score, offline verification, required directives."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "brand-monitor.service"
MAX_EXPOSURE = 2.0
EXPOSURE_LINE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)")


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        message = "systemd-analyze not found: install the Debian package `systemd` (apt-get install systemd)"
        if os.environ.get("BM_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


def exposure(result: subprocess.CompletedProcess[str]) -> float:
    found = EXPOSURE_LINE.findall(result.stdout)
    assert found, f"no overall exposure line in output:\n{result.stdout}\n{result.stderr}"
    return float(found[-1][0])


def directives(text: str) -> dict[tuple[str, str], list[str]]:
    """(section, key) -> values in order; systemd allows a key to repeat."""
    parsed: dict[tuple[str, str], list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        parsed.setdefault((section, key.strip()), []).append(value.strip())
    return parsed


def test_exposure_score_is_ok(systemd_analyze: str) -> None:
    result = run(systemd_analyze, "security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}", str(UNIT))
    assert result.returncode == 0, result.stdout + result.stderr
    assert exposure(result) <= MAX_EXPOSURE


def test_score_gate_rejects_an_unhardened_unit(systemd_analyze: str, tmp_path: Path) -> None:
    # Proves the parser and the threshold actually bite.
    naive = tmp_path / "naive-brand-monitor.service"
    naive.write_text(f"[Service]\nExecStart={sys.executable} -m monitor run\nRestart=always\n")
    result = run(systemd_analyze, "security", "--offline=true", "--threshold=20", str(naive))
    assert result.returncode != 0
    assert exposure(result) > 9.0


def test_unit_verifies_offline(systemd_analyze: str, tmp_path: Path) -> None:
    # verify insists that ExecStart's binary exists: point it at this interpreter.
    original = "ExecStart=/opt/brand-monitor/venv/bin/brand-monitor "
    text = UNIT.read_text()
    assert original in text
    copy = tmp_path / "brand-monitor.service"
    copy.write_text(text.replace(original, f"ExecStart={sys.executable} -m monitor "))

    result = run(systemd_analyze, "verify", str(copy))
    # verify exits 0 even for unknown keys or unparsable values; those are warnings naming the file.
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if copy.name in line]
    assert result.returncode == 0, result.stdout + result.stderr
    assert complaints == []


def test_verify_would_catch_a_typo(systemd_analyze: str, tmp_path: Path) -> None:
    copy = tmp_path / "brand-monitor.service"
    copy.write_text(f"[Service]\nExecStart={sys.executable}\nProtectSystem=stricter\n")
    result = run(systemd_analyze, "verify", str(copy))
    assert any(copy.name in line for line in (result.stdout + result.stderr).splitlines())


REQUIRED = {
    ("Unit", "After"): "network-online.target",
    ("Unit", "Wants"): "network-online.target",
    ("Service", "Type"): "notify",
    ("Service", "NotifyAccess"): "main",
    ("Service", "ExecStart"):
        "/opt/brand-monitor/venv/bin/brand-monitor run --config /etc/brand-monitor/config.yaml",
    ("Service", "ExecReload"): "/bin/kill -HUP $MAINPID",
    ("Service", "WatchdogSec"): "60",
    ("Service", "TimeoutStopSec"): "30",
    ("Service", "Restart"): "on-failure",
    ("Service", "DynamicUser"): "yes",
    ("Service", "StateDirectory"): "brand-monitor",
    ("Service", "ConfigurationDirectory"): "brand-monitor",
    ("Service", "NoNewPrivileges"): "yes",
    ("Service", "ProtectSystem"): "strict",
    ("Service", "CapabilityBoundingSet"): "",
    ("Service", "MemoryDenyWriteExecute"): "yes",
    ("Install", "WantedBy"): "multi-user.target",
}


@pytest.mark.parametrize(("where", "value"), REQUIRED.items(), ids=[k for _, k in REQUIRED])
def test_required_directive(where: tuple[str, str], value: str) -> None:
    assert directives(UNIT.read_text()).get(where) == [value]


def test_sd_notify_socket_family_is_allowed() -> None:
    families = directives(UNIT.read_text())[("Service", "RestrictAddressFamilies")]
    assert families == ["AF_INET AF_INET6 AF_UNIX"]


def test_secrets_examples_use_load_credential() -> None:
    examples = re.findall(r"^#LoadCredential=(\w+):(/etc/brand-monitor/secrets/\w+)$", UNIT.read_text(), re.M)
    assert len(examples) >= 2
    assert all(path.endswith("/" + name) for name, path in examples)
    assert "${CREDENTIALS_DIRECTORY}/" in UNIT.read_text()


def test_the_unit_hands_over_the_secrets_minimal_yaml_reads() -> None:
    minimal = (UNIT.parents[1] / "config" / "minimal.yaml").read_text()
    wanted = re.findall(r"\$\{CREDENTIALS_DIRECTORY\}/(\w+)", minimal)
    offered = re.findall(r"^#LoadCredential=(\w+):", UNIT.read_text(), re.M)
    assert wanted and set(wanted) <= set(offered)
