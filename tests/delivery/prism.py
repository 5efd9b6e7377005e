"""Stoplight Prism serving Twilio's own OpenAPI contract on loopback, for contract tests.

`running_prism()` starts `prism mock` (static examples, no `-d`) on a free 127.0.0.1 port with
tests/contracts/twilio/twilio_api_v2010.json, waits until it answers HTTP, yields its base URL and
stops it. The executable is `$EAS_TEST_PRISM`, else `.tools/prism/node_modules/.bin/prism` under the
repository root. Without one the test is skipped, unless `EAS_REQUIRE_PRISM=1` (CI): then it fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TWILIO_SPEC = ROOT / "tests" / "contracts" / "twilio" / "twilio_api_v2010.json"
DEFAULT_PRISM = ROOT / ".tools" / "prism" / "node_modules" / ".bin" / "prism"
INSTALL_HINT = "npm install --prefix .tools/prism @stoplight/prism-cli@5.14.2"
STARTUP_TIMEOUT = 30.0


def prism_required() -> bool:
    return os.environ.get("EAS_REQUIRE_PRISM") == "1"


def prism_executable() -> Path:
    """The prism executable, or skip (fail when `EAS_REQUIRE_PRISM=1`) if there is none."""
    configured = os.environ.get("EAS_TEST_PRISM")
    candidate = Path(configured) if configured else DEFAULT_PRISM
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    source = "EAS_TEST_PRISM" if configured else "the default location"
    reason = f"no prism executable at {candidate} ({source}); install it: {INSTALL_HINT}"
    if prism_required():
        pytest.fail(f"EAS_REQUIRE_PRISM=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with requests.get(url, timeout=1):
            return True  # any HTTP answer (Prism says 404 for "/") means it is serving
    except requests.exceptions.ConnectionError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        # Prism was started in its own session: its process group is exactly what we started.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def running_prism(log_dir: Path, spec: Path = TWILIO_SPEC) -> Iterator[str]:
    """Serve `spec` with Prism; yields the base URL (http://127.0.0.1:PORT). Prism's output goes to
    `log_dir/prism.log` and is quoted if it does not come up."""
    executable = prism_executable()
    if not spec.is_file():
        pytest.fail(f"the contract {spec} is missing", pytrace=False)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = log_dir / "prism.log"
    command = [str(executable), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                state = (
                    f"exited with {process.returncode}"
                    if process.poll() is not None
                    else f"did not answer within {STARTUP_TIMEOUT:.0f} s"
                )
                output = log_path.read_text(errors="replace")[-4000:]
                pytest.fail(f"prism {state}: {' '.join(command)}\n{output}", pytrace=False)
            time.sleep(0.1)
        if process.poll() is not None:  # something else answered on that port
            pytest.fail(f"prism exited with {process.returncode} on port {port}", pytrace=False)
        yield base_url
    finally:
        _stop(process)
