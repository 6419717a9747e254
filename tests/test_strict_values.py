"""Numbers that are not numbers: a place's precision, latitude and longitude are checked where they are
given, and no JSON the tool writes (output, exports, the database's JSON columns) holds NaN or Infinity."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import StatementError

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.store.schema import Item
from vericount.values import strict_json, strict_loads

from . import mediagen as mg
from .conftest import Cli


@pytest.fixture
def item_id(cli: Cli, tmp_path: Path) -> str:
    result = cli("add", str(mg.make_image(tmp_path / "photo.jpg")), "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["added"][0])


@pytest.mark.parametrize(("args", "message"), [
    (["50", "30", "--precision", "inf"], "precision inf m: give a number of metres above 0"),
    (["50", "30", "--precision", "-inf"], "precision -inf m"),
    (["50", "30", "--precision", "nan"], "precision nan m"),
    (["50", "30", "--precision", "1e999"], "precision inf m"),
    (["50", "30", "--precision", "0"], "precision 0.0 m"),
    (["50", "30", "--precision", "-5"], "precision -5.0 m"),
    (["50", "30", "--precision", "1e300"], "precision 1e+300 m: give a number of metres above 0 and at most "
                                          "20,037,509 (half the Earth's circumference)"),
    (["nan", "30"], "latitude nan is not a number of degrees"),
    (["91", "30"], "latitude 91.0 is outside -90..90"),
    (["50", "inf"], "longitude inf is not a number of degrees"),
    (["50", "-180.5"], "longitude -180.5 is outside -180..180"),
])  # fmt: skip
def test_locate_refuses_what_is_no_place(cli: Cli, item_id: str, args: list[str], message: str) -> None:
    result = cli("locate", item_id[:12], *args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {message}")
    assert result.stderr.count("\n") == 1
    shown = json.loads(cli("show", item_id[:12], "--json").stdout)
    assert shown["geolocation"] is None
    ok = cli("locate", item_id[:12], "-90", "180", "--precision", "20037509")
    assert ok.exit_code == 0, ok.output


def test_a_non_finite_number_already_in_a_case_never_comes_out_as_json(
        cli: Cli, case: Case, item_id: str, tmp_path: Path) -> None:
    with case.session() as s:  # as an older version let it in
        s.execute(update(Item).where(Item.id == item_id).values(lat=50.0, lon=30.0,
                                                                geo_precision_m=math.inf))
    for args in (["show", item_id[:12], "--json"], ["items", "--json"]):
        result = cli(*args)
        assert result.exit_code == 1
        assert "Infinity" not in result.stdout
        assert result.stderr.count("\n") == 1
        assert "precision_m is inf, not a finite number: JSON cannot hold NaN or infinity" in result.stderr
    out = tmp_path / "export"
    exported = cli("export", "--out", str(out), "--format", "json")
    assert exported.exit_code == 1
    assert "geo_precision_m is inf, not a finite number" in exported.stderr
    assert all("Infinity" not in f.read_text() for f in out.glob("*.json"))


def test_json_columns_refuse_nan(case: Case, item_id: str) -> None:
    with pytest.raises((InvalidValue, StatementError), match="fps is nan, not a finite number"), \
            case.session() as s:
        item = s.scalars(select(Item).where(Item.id == item_id)).one()
        item.media_meta = {"video": {"fps": math.nan}}
    with case.session() as s:
        assert s.scalars(select(Item.media_meta).where(Item.id == item_id)).one() != {
            "video": {"fps": math.nan}}


def test_import_refuses_nan_in_the_files(cli: Cli, item_id: str, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert cli("export", "--out", str(out), "--format", "json").exit_code == 0
    manifest = out / "export.json"
    manifest.write_text(manifest.read_text().replace("{", '{"weight": NaN, ', 1))
    target = tmp_path / "target"
    Case.create(target).close()
    result = Cli(target)("import", str(out))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "export.json: holds NaN, which is not standard JSON" in result.stderr


def test_strict_json_names_the_place_of_the_bad_number() -> None:
    assert strict_json({"a": [1.5, {"b": 2}]}) == '{"a": [1.5, {"b": 2}]}'
    with pytest.raises(InvalidValue, match=r"^a\.1\.b is -inf, not a finite number"):
        strict_json({"a": [1.5, {"b": -math.inf}]})
    with pytest.raises(InvalidValue, match="holds Infinity"):
        strict_loads('{"x": Infinity}')
