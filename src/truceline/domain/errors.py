"""Errors the domain raises, each naming where in the posted body the problem is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

Loc = list[str | int]


class ErrorDetail(TypedDict):
    """One problem: ``loc`` is the path inside the posted body, ``msg`` what to fix."""

    loc: Loc
    msg: str


@dataclass
class Invalid(Exception):
    """The input breaks a rule of the contract: answered 422, nothing stored."""

    errors: list[ErrorDetail] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(body)'}: {error['msg']}"
            for error in self.errors
        )

    def prefixed(self, prefix: Sequence[str | int]) -> Invalid:
        """The same errors located under ``prefix`` (an index in a batch, say)."""
        return Invalid([{"loc": [*prefix, *e["loc"]], "msg": e["msg"]} for e in self.errors])


def invalid(loc: Sequence[str | int], msg: str) -> Invalid:
    """One-error shorthand."""
    return Invalid([{"loc": list(loc), "msg": msg}])
