"""Structured logs: JSON lines carry request, conversation and channel ids."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from hub.logs import configure, request_id_var


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_context(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure("json", "INFO")
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("hub.test").info("ingested message", extra={"conversation_id": 7, "channel": "sms"})
    finally:
        request_id_var.reset(token)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["msg"] == "ingested message" and line["level"] == "INFO"
    assert (line["request_id"], line["conversation_id"], line["channel"]) == ("req-42", 7, "sms")


def test_plain_lines_append_context(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure("plain", "INFO")
    logging.getLogger("hub.test").warning("send failed", extra={"channel": "telegram"})
    assert capsys.readouterr().err.strip().endswith("send failed [channel=telegram]")
