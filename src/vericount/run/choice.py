"""Which executor a command uses: the one it is given, else the case's setting (``vericount executor``), else
``local``. The setting lives in the case's database, so everyone working on the case shares it."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from sqlalchemy import select

from vericount.errors import InvalidValue
from vericount.run.executors import EXECUTORS, Executor, get_executor
from vericount.store.schema import CaseInfo

if TYPE_CHECKING:
    from vericount.case import Case

KEY = "executor"
ENV_ADDRESS = "VERICOUNT_RAY_ADDRESS"
DEFAULT = "local"


def case_executor(case: Case) -> tuple[str, str | None]:
    """The case's executor and, for ray, its cluster's address (None: a Ray instance on this machine)."""
    with case.reading() as s:
        raw = s.scalar(select(CaseInfo.value).where(CaseInfo.key == KEY))
    if raw is None:
        return DEFAULT, None
    value = json.loads(raw)
    return str(value["name"]), value.get("address")


def set_case_executor(case: Case, name: str, address: str | None = None) -> None:
    if name not in EXECUTORS:
        raise InvalidValue(f"executor {name!r} is unknown; known: {', '.join(EXECUTORS)}")
    if address is not None and name != "ray":
        raise InvalidValue(f"--address is for the ray executor, not {name!r}")
    value = json.dumps({"name": name, "address": address})
    with case.session() as s:
        row = s.get(CaseInfo, KEY)
        if row is None:
            s.add(CaseInfo(key=KEY, value=value))
        else:
            row.value = value
        case.record(s, "case.executor", None, executor=name, address=address)


def choose(case: Case, name: str | None, jobs: int | None, address: str | None) -> Executor:
    """The executor for one command: ``--executor`` (``--address``, or $VERICOUNT_RAY_ADDRESS, alone means
    ray), else the case's."""
    if address is None and name in (None, "ray"):
        address = os.environ.get(ENV_ADDRESS) or None
    if name is None:
        if address is not None:
            name = "ray"
        else:
            name, address = case_executor(case)
    executor = get_executor(name, jobs, address)
    executor.check()  # ray: installed, and its head answers
    return executor
