"""Log levels: our INFO stays, library chatter (APScheduler's job lines, httpx URLs) does not."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from homecare.logs import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    names = ("apscheduler", "httpx", "httpcore")
    levels = {n: logging.getLogger(n).level for n in names}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_info_keeps_ours_and_drops_apscheduler_and_httpx() -> None:
    out = io.StringIO()
    setup_logging("INFO", stream=out)
    logging.getLogger("homecare").info("bot started")
    logging.getLogger("apscheduler.scheduler").info('Added job "digest" to job store "default"')
    logging.getLogger("apscheduler.executors.default").info('Running job "digest"')
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot1/getMe")
    logging.getLogger("apscheduler.scheduler").warning("job missed")
    text = out.getvalue()
    assert "bot started" in text
    assert "job missed" in text
    assert "Added job" not in text and "Running job" not in text
    assert "HTTP Request" not in text


@pytest.mark.usefixtures("restore_logging")
def test_debug_shows_apscheduler_but_never_httpx() -> None:
    out = io.StringIO()
    setup_logging("DEBUG", stream=out)
    logging.getLogger("apscheduler.scheduler").info('Added job "digest"')
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot1/getMe")
    assert "Added job" in out.getvalue()
    assert "HTTP Request" not in out.getvalue()
