"""Trusted timestamps (RFC 3161) from a local TSA on 127.0.0.1 (scripts/local_servers.py: a throwaway CA,
`openssl ts -reply` behind a small HTTP handler)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.mediagen import make_image
from vericount.timestamps import climb, merkle

ROOT = Path(__file__).resolve().parent.parent

def _local_tsa() -> Any:
    spec = importlib.util.spec_from_file_location("local_servers", ROOT / "scripts" / "local_servers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    local = _local_tsa()
    folder = tmp_path / "tsa"
    local.make(folder)
    server = local.server(folder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_merkle_paths_lead_to_the_root_and_nothing_else_does() -> None:
    for n in range(1, 9):
        leaves = [hashlib.sha256(bytes([i])).hexdigest() for i in range(n)]
        root, paths = merkle(leaves)
        assert set(paths) == set(leaves)
        assert all(climb(leaf, paths[leaf]) == root for leaf in leaves)
        other = hashlib.sha256(b"not stamped").hexdigest()
        assert climb(other, paths[leaves[0]]) != root
    assert merkle(leaves[:3])[0] != merkle(leaves[:4])[0]


def test_stamp_then_verify_offline_and_name_what_changed(cli: Cli, tsa: tuple[str, Path],
                                                         tmp_path: Path) -> None:
    url, folder = tsa
    for k in range(3):
        make_image(tmp_path / f"p{k}.png", size=(32 + k, 24))
        assert cli("add", str(tmp_path / f"p{k}.png")).exit_code == 0
    result = cli("timestamp", "--tsa", url, "--tsa-ca", str(folder / "ca.pem"))
    assert result.exit_code == 0, result.output
    assert "stamped 3 original(s)" in result.stdout
    case_dir = cli.case_dir
    [manifest_path] = (case_dir / "timestamps").glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    root, token = manifest["root"], case_dir / "timestamps" / f"{manifest['root']}.tsr"
    assert all(climb(item, path) == root for item, path in manifest["items"].items())
    assert manifest["signed_at"].endswith("+00:00")  # the TSA's time, as ISO 8601 UTC
    # anyone can check the token with openssl alone
    subprocess.run(["openssl", "ts", "-verify", "-digest", root, "-in", str(token), "-CAfile",
                    str(case_dir / "timestamps" / manifest["ca"])], check=True, capture_output=True)
    checked = cli("verify")
    assert checked.exit_code == 0 and "trusted timestamps checked offline: 1 token(s)" in checked.stdout
    assert "nothing to stamp" in cli("timestamp", "--tsa", url, "--tsa-ca", str(folder / "ca.pem")).stdout
    make_image(tmp_path / "late.png", size=(40, 30))
    cli("add", str(tmp_path / "late.png"))
    late = cli("timestamp", "--tsa", url, "--tsa-ca", str(folder / "ca.pem"))
    assert "stamped 1 original(s)" in late.stdout

    # a token changed by one byte, and a path in a manifest changed: each named
    original = token.read_bytes()
    token.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    item = next(iter(manifest["items"]))
    manifest["items"][item][0][1] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    broken = cli("verify")
    assert broken.exit_code == 1
    lines = broken.stderr.splitlines()
    assert any(f"{root[:12]}...tsr: not the token the custody log recorded" in line for line in lines)
    assert any(f"{root[:12]}...tsr: the token does not verify" in line for line in lines)
    assert any(line.startswith(f"error: {item}: timestamp: its path") for line in lines)


def test_a_tsa_that_fails_or_a_wrong_ca_is_one_line(cli: Cli, tsa: tuple[str, Path],
                                                   tmp_path: Path) -> None:
    url, folder = tsa
    make_image(tmp_path / "p.png")
    cli("add", str(tmp_path / "p.png"))
    cases = [(f"{url}/broken", folder / "ca.pem", "the TSA answered HTTP 500"),
             ("http://127.0.0.1:9/", folder / "ca.pem", "cannot reach the TSA"),
             (url, folder / "other-ca.pem", "does not verify against other-ca.pem"),
             (url, folder / "tsa.key", "not a PEM certificate"),
             ("ftp://127.0.0.1/", folder / "ca.pem", "reached over http or https")]
    for tsa_url, ca, message in cases:
        result = cli("timestamp", "--tsa", tsa_url, "--tsa-ca", str(ca), "--timeout", "2")
        assert result.exit_code != 0, (tsa_url, result.output)
        assert message in result.stderr, (message, result.stderr)
        assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert not list((cli.case_dir / "timestamps").glob("*.json"))  # nothing half-kept
    assert cli("verify").exit_code == 0


def test_the_case_names_several_tsas_and_one_that_fails_does_not_stop_the_others(
        cli: Cli, tsa: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = tsa
    ca = str(folder / "ca.pem")
    broken = f"{url}/broken"  # answers HTTP 500, as an authority that is down
    assert cli("timestamp", "--list").stdout == ""
    none = cli("timestamp")
    assert none.exit_code == 1 and "names no TSA" in none.stderr
    make_image(tmp_path / "offline.png", size=(30, 20))
    assert cli("add", str(tmp_path / "offline.png")).exit_code == 0
    down = cli("timestamp", "--tsa", broken, "--tsa-ca", ca, "--remember")
    assert down.exit_code == 1 and "HTTP 500" in down.stderr  # remembered all the same
    time.sleep(2)  # the original waits for an authority that answers
    up = cli("timestamp", "--tsa", url, "--tsa-ca", ca, "--remember")
    assert up.exit_code == 0 and "stamped 1 original(s)" in up.stdout and "was added" in up.stdout
    listed = cli("timestamp", "--list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == [broken, url]
    [event] = json.loads(cli("log", "--json", "--action", "timestamp").stdout)[-1:]
    assert event["detail"]["gap_s"] >= 1  # the delay between adding and stamping, recorded
    manifest = json.loads((cli.case_dir / "timestamps" / f"{event['detail']['root']}.json").read_text())
    assert manifest["gap_s"] == event["detail"]["gap_s"] and manifest["oldest_added_at"]

    # add --timestamp: each named TSA in turn; the one that is down is a warning, the add still succeeds
    make_image(tmp_path / "new.png", size=(34, 20))
    added = cli("add", str(tmp_path / "new.png"), "--timestamp", "--json")
    assert added.exit_code == 0, added.output
    stamps = {s["tsa"]: s for s in json.loads(added.stdout)["timestamps"]}
    assert stamps[url]["error"] is None and stamps[url]["items"] == 1
    assert "HTTP 500" in stamps[broken]["error"]
    assert len(json.loads(cli("log", "--json", "--action", "timestamp.failed").stdout)) == 1
    checked = cli("verify")
    assert checked.exit_code == 0 and "trusted timestamps checked offline: 2 token(s)" in checked.stdout

    assert cli("timestamp", "--forget", broken).exit_code == 0
    assert cli("timestamp", "--forget", broken).exit_code == 2  # no longer named
    again = cli("timestamp")
    assert again.exit_code == 0 and "nothing to stamp" in again.stdout
    changes = [e["detail"]["change"] for e in json.loads(cli("log", "--json", "--action",
                                                              "timestamp.authority").stdout)]
    assert changes == ["remembered", "remembered", "forgotten"]


def test_attachments_are_stamped_with_the_originals(cli: Cli, tsa: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = tsa
    make_image(tmp_path / "post.png", size=(36, 24))
    sidecar = tmp_path / "post.info.json"
    sidecar.write_text(json.dumps({"extractor": "generic", "webpage_url": "https://example.org/p/1",
                                   "id": "1"}))
    assert cli("add", str(tmp_path / "post.png")).exit_code == 0  # its sidecar kept beside it
    done = cli("timestamp", "--tsa", url, "--tsa-ca", str(folder / "ca.pem"))
    assert done.exit_code == 0 and "stamped 1 original(s) and 1 attachment(s)" in done.stdout
    [manifest] = [json.loads(p.read_text()) for p in (cli.case_dir / "timestamps").glob("*.json")]
    assert hashlib.sha256(sidecar.read_bytes()).hexdigest() in manifest["items"]
    assert cli("verify").exit_code == 0
