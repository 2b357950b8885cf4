"""Mini App initData checked as Telegram documents it: a table of good and bad inputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from bot.web.initdata import WebAppUser, sign, validate

TOKEN = "123456:TEST-token"
NOW = datetime(2027, 4, 13, 1, 0, tzinfo=UTC)


def init_data(token: str = TOKEN, at: datetime = NOW, user_id: int = 42, **change: str) -> str:
    fields = {
        "auth_date": str(int(at.timestamp())),
        "query_id": "AAH",
        "user": json.dumps({"id": user_id, "first_name": "Budi"}),
    }
    fields["hash"] = sign(fields, token)
    fields.update(change)
    return urlencode(fields)


def test_the_signed_data_names_its_user() -> None:
    assert validate(init_data(), TOKEN, NOW) == WebAppUser(42, NOW)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (init_data(token="999:other"), "hash"),  # signed for another bot
        (init_data(hash="0" * 64), "hash"),
        (init_data(user=json.dumps({"id": 7})), "hash"),  # user swapped after signing
        (init_data(at=NOW - timedelta(hours=2)), "stale"),
        (init_data(at=NOW + timedelta(hours=1)), "stale"),
        ("", "malformed"),
        ("x" * 5000, "malformed"),
        (init_data() + "&user=%7B%22id%22%3A7%7D", "malformed"),  # a key twice
        (urlencode({"auth_date": "1", "user": "{}"}), "hash"),  # no hash at all
    ],
)
def test_refused(raw: str, why: str) -> None:
    assert validate(raw, TOKEN, NOW) == why


def test_a_signed_but_broken_user_field_is_malformed() -> None:
    fields = {"auth_date": str(int(NOW.timestamp())), "user": "not json"}
    fields["hash"] = sign(fields, TOKEN)
    assert validate(urlencode(fields), TOKEN, NOW) == "malformed"
