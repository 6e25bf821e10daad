"""Key secrets written out of log lines.

Standard library only, and outside ``truceline.api``: uvicorn imports the filter while it
configures logging in each worker, before the worker answers its supervisor's health
check, and ``truceline.api`` takes about 5 s to import on two busy cores, which got
workers killed as hung.
"""

from __future__ import annotations

import logging
import re

# ``tl.<key id>.<secret>`` (truceline.application.keys), its dots possibly
# percent-encoded, as a query string may carry them.
SECRET = re.compile(r"tl(?:\.|%2[Ee])[A-Za-z0-9_%-]+(?:\.|%2[Ee])[A-Za-z0-9_%-]+")


def redact(text: str) -> str:
    """``text`` with every ``tl.<key id>.<secret>`` written ``tl.***``."""
    return SECRET.sub("tl.***", text) if "tl" in text else text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments with :func:`redact`: a client that puts
    its key in a URL (``?key=tl....``) must not have it written to the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        color = record.__dict__.get("color_message")  # uvicorn's coloured copy of msg
        if isinstance(color, str):
            record.__dict__["color_message"] = redact(color)
        return True
