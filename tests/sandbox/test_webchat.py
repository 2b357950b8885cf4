"""The browser chat without a browser: the demo names its people and prints the chat's address,
the feed long-polls, and only loopback clients are served."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from bot.app import HomecareApp
from homecare import demo
from homecare.config import Config
from sandbox.server import SandboxServer
from sandbox.webchat import _loopback


async def test_the_demo_offers_its_people_and_prints_both_addresses(
    app: HomecareApp, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    await demo.seed(app, sandbox)
    people = {p.name: p for p in sandbox.webchat.people}
    assert {"ani", "maya", "kepala", "siti", "andi", "rahma"} <= set(people)
    assert people["maya"].language == "en"
    assert "head" in people["kepala"].label and "nurse" in people["siti"].label

    config = app.config.replace(web=dataclasses.replace(app.config.web, enabled=True, port=8090))
    demo.print_instructions(config, sandbox)
    out = capsys.readouterr().out
    assert f"Web chat: {sandbox.url}/chat" in out
    assert "Web console: http://127.0.0.1:8090" in out
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        listed = (await http.get("/chat/api/people")).json()["people"]
    assert [p["name"] for p in listed][:2] == ["ani", "maya"]


def test_without_the_console_only_the_chat_is_printed(
    make_config: Any, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config: Config = make_config(sandbox)
    demo.print_instructions(config, sandbox)
    out = capsys.readouterr().out
    assert f"Web chat: {sandbox.chat_url}" in out and "Web console" not in out


async def test_the_feed_waits_for_the_chat_to_change(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        await http.post("/control/users", json={"name": "ani"})
        first = (await http.get("/chat/api/feed/ani")).json()
        assert first["messages"] == [] and first["last_seq"] == 0
        idle = (await http.get("/chat/api/feed/ani?after=0&timeout=0.2")).json()
        assert idle["last_seq"] == 0
        await http.post("/control/users/ani/messages", json={"text": "halo <b>"})
        fresh = (await http.get("/chat/api/feed/ani?after=0&timeout=5")).json()
        assert fresh["last_seq"] > 0
        [mine] = fresh["messages"]
        assert mine["html"] == "halo &lt;b&gt;" and not mine["from_bot"]


@pytest.mark.parametrize(
    ("remote", "served"),
    [("127.0.0.1", True), ("::1", True), ("192.168.1.20", False), (None, False), ("x", False)],
)
def test_only_loopback_clients_are_served(remote: str | None, served: bool) -> None:
    assert _loopback(SimpleNamespace(remote=remote)) is served  # type: ignore[arg-type]
