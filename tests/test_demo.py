"""`brand-monitor demo` as a person runs it: Ctrl-C ends it early, --keep leaves a config they can use."""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_ctrl_c_ends_the_demo_and_keep_leaves_a_working_config(tmp_path: Path) -> None:
    demo = subprocess.Popen([sys.executable, "-m", "monitor", "demo", "--seconds", "120", "--keep"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        while "respond by" not in seen:  # the first alert has been printed
            line = demo.stdout.readline()
            assert line, demo.stderr.read()
            seen += line
        interrupted = time.monotonic()
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    finally:
        demo.kill()
    assert demo.returncode == 0 and time.monotonic() - interrupted < 30
    kept = re.search(r"^kept: (\S+config\.yaml) and its database", rest, re.M)
    assert kept, rest
    config = Path(kept.group(1))
    try:
        status = subprocess.run([sys.executable, "-m", "monitor", "status", "--config", str(config)],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and "demo" in status.stdout and "alerts:" in status.stdout
    finally:
        shutil.rmtree(config.parent, ignore_errors=True)
