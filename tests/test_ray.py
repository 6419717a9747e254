"""The ray executor, for real: tests/ray_in_namespace.py run against a local Ray head inside a network
namespace that has only loopback (``unshare -n``: Ray binds to and talks over the machine's network interface
otherwise), on SQLite and on PostgreSQL reached over its Unix socket. Skipped, with the reason, where Ray is
not installed or the namespace cannot be made; in CI (VERICOUNT_REQUIRE_RAY=1) they must run."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _PG, Cli
from vericount.errors import InvalidValue
from vericount.run.executors import get_executor

ROOT = Path(__file__).resolve().parents[1]
SOCKET_DIR = "/var/run/postgresql"


def _missing(reason: str) -> None:
    if os.environ.get("VERICOUNT_REQUIRE_RAY"):
        pytest.fail(f"VERICOUNT_REQUIRE_RAY is set but {reason}")
    pytest.skip(reason)


def _socket_url() -> str | None:
    """The test server's URL over its Unix socket (reachable from inside the namespace), when it has one."""
    if _PG is None or not Path(SOCKET_DIR).is_dir():
        return None
    from sqlalchemy.engine import make_url

    url = make_url(_PG)
    return url.set(host=None, port=None, query={"host": SOCKET_DIR}).render_as_string(hide_password=False)


@pytest.mark.slow
@pytest.mark.sqlite_only  # the inner run covers both databases itself
def test_stages_through_a_local_ray_head_on_loopback_only(backend: str, tmp_path: Path) -> None:
    if importlib.util.find_spec("ray") is None:
        _missing("Ray is not installed (pip install 'vericount[cluster]')")
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        _missing("a network namespace needs root, unshare (util-linux) and ip (iproute2)")
    env = {k: v for k, v in os.environ.items() if k not in ("VERICOUNT_TEST_PG", "VERICOUNT_REQUIRE_PG")}
    env["PYTHONPATH"] = str(ROOT)  # Ray's workers import the tests' stages
    env["HOME"] = str(tmp_path)  # Ray's token and session files, away from the user's own
    pg = _socket_url()
    if pg is not None:
        env["VERICOUNT_TEST_PG"], env["VERICOUNT_REQUIRE_PG"] = pg, "1"
    elif os.environ.get("VERICOUNT_REQUIRE_PG"):
        pytest.fail(f"PostgreSQL's Unix socket ({SOCKET_DIR}) is needed for the Ray tests")
    inner = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--basetemp", str(tmp_path / "t"), str(ROOT / "tests" / "ray_in_namespace.py")]
    script = 'ip link set lo up && exec "$@"'
    done = subprocess.run(["unshare", "--net", "--", "sh", "-c", script, "sh", *inner], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    passed = re.search(r"(\d+) passed", out)
    expected = 7 if pg is not None else 4  # each inner test on each database, but one
    assert passed is not None and int(passed.group(1)) == expected, out[-3000:]
    assert "skipped" not in out, out[-3000:]


def test_ray_is_named_and_checked_like_any_executor() -> None:
    with pytest.raises(InvalidValue, match="--address is for the ray executor"):
        get_executor("local", None, "10.0.0.5:6379")
    if importlib.util.find_spec("ray") is None:
        with pytest.raises(InvalidValue, match=r"vericount\[cluster\]"):
            get_executor("ray").run(len, ["x"]).__next__()
    else:
        ray = get_executor("ray", 2, "10.0.0.5:6379")
        assert ray.name == "ray" and ray.address == "10.0.0.5:6379"  # type: ignore[attr-defined]
        # nobody answers there: one line at once (Ray itself would wait for minutes), and Ray not started
        with pytest.raises(InvalidValue, match=r"could not reach the Ray cluster at 127\.0\.0\.1:1: "):
            next(get_executor("ray", None, "127.0.0.1:1").run(len, ["x"]))
        with pytest.raises(InvalidValue, match="HOST:PORT of the Ray head is expected"):
            next(get_executor("ray", None, "head-without-port").run(len, ["x"]))
        import ray as ray_module

        assert not ray_module.is_initialized()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
def test_a_case_remembers_where_its_stages_run(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("executor").stdout.strip() == "executor: local"
    said = "executor: ray at 10.0.0.5:6379"
    assert cli("executor", "ray", "--address", "10.0.0.5:6379").stdout.strip() == said
    assert cli("executor").stdout.strip() == said
    refused = cli("reposts", "--address", "127.0.0.1:1")  # an address of the command's own wins
    assert refused.exit_code != 0 and "could not reach the Ray cluster at 127.0.0.1:1" in refused.output
    bad = cli("executor", "local", "--address", "10.0.0.5:6379")
    assert bad.exit_code != 0 and "--address is for the ray executor" in bad.output
    assert cli("executor", "local").stdout.strip() == "executor: local"
    monkeypatch.setenv("VERICOUNT_RAY_ADDRESS", "127.0.0.1:1")  # for scripts: as --address
    assert "could not reach the Ray cluster at 127.0.0.1:1" in cli("people").output
    assert cli("people", "--executor", "local").exit_code == 0
    log = json.loads(cli("log", "--action", "case.executor", "--json").stdout)
    assert [(e["detail"]["executor"], e["detail"]["address"]) for e in log] == [
        ("ray", "10.0.0.5:6379"), ("local", None)]
