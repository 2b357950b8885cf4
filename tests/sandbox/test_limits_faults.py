"""Flood limits (429 + retry_after) and fault injection, seen through PTB's exceptions."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from sandbox.client import SandboxClient, SandboxError
from sandbox.policy import Fault, RateLimits
from sandbox.server import SandboxServer
from tests.sandbox.helpers import FakeClock, make_bot

# PTB's RetryAfter warns about its own int/timedelta transition whenever it is raised.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


def seconds(error: RetryAfter) -> float:
    value = error._retry_after  # the timedelta behind PTB's deprecated int/timedelta property
    assert isinstance(value, dtm.timedelta)
    return value.total_seconds()


async def test_per_chat_flood_limit(
    bot: Bot, api: SandboxClient, clock: FakeClock, server: SandboxServer
) -> None:
    a = await api.user("a", started=True)
    b = await api.user("b", started=True)
    await api.set_limits(per_chat_rate=1.0, per_chat_burst=2)
    await bot.send_message(a.id, "1")
    await bot.send_message(a.id, "2")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(a.id, "3")
    assert seconds(caught.value) == 1
    await bot.send_message(b.id, "other chat has its own bucket")
    await bot.send_chat_action(a.id, "typing")  # not a sending method
    clock.advance(1.0)
    await bot.send_message(a.id, "3 again")
    assert [m.plain_text for m in await a.messages()] == ["1", "2", "3 again"]
    stats = await api.stats()
    assert stats["methods"]["sendMessage"] == {"ok": 4, "rate_limited": 1}
    await api.clear_limits()
    for i in range(10):
        await bot.send_message(a.id, f"burst {i}")


async def test_global_flood_limit_from_constructor() -> None:
    clock = FakeClock()
    limits = RateLimits(enabled=True, per_chat_burst=5, global_rate=2.0, global_burst=3)
    async with SandboxServer(limits=limits, clock=clock) as server:
        client = SandboxClient(server.url)
        users = [await client.user(f"u{i}", started=True) for i in range(4)]
        async with make_bot(server) as bot:
            for user in users[:3]:
                await bot.send_message(user.id, "hi")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_document(users[3].id, b"x", filename="x.txt")
            assert seconds(caught.value) == 1
            clock.advance(0.5)
            await bot.send_document(users[3].id, b"x", filename="x.txt")
        await client.close()


async def test_retry_after_and_server_error_faults(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    await api.set_faults(
        [
            {"kind": "retry_after", "methods": ["sendMessage"], "times": 1, "retry_after": 7},
            {"kind": "server_error", "methods": ["sendMessage"], "times": 1},
            {"kind": "bad_gateway", "methods": ["sendMessage"], "times": 1},
        ]
    )
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(u.id, "1")
    assert seconds(caught.value) == 7
    with pytest.raises(NetworkError, match="Internal Server Error") as server_error:
        await bot.send_message(u.id, "2")
    assert not isinstance(server_error.value, BadRequest)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(u.id, "3")
    await bot.send_message(u.id, "4")
    assert [m.plain_text for m in await u.messages()] == ["4"]  # failed calls delivered nothing
    stats = await api.stats()
    assert stats["methods"]["sendMessage"] == {
        "fault_retry_after": 1,
        "fault_server_error": 1,
        "fault_bad_gateway": 1,
        "ok": 1,
    }
    faults = await api.request("GET", "/control/faults")
    assert [rule["injected"] for rule in faults["rules"]] == [1, 1, 1]


async def test_connection_reset_is_a_network_error(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    await api.set_faults([{"kind": "reset", "methods": ["sendMessage", "getUpdates"], "times": 2}])
    with pytest.raises(NetworkError, match="RemoteProtocolError"):
        await bot.send_message(u.id, "lost")
    with pytest.raises(NetworkError):
        await bot.get_updates()
    await bot.send_message(u.id, "ok")
    assert [m.plain_text for m in await u.messages()] == ["ok"]


async def test_stall_makes_ptb_time_out(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    await api.set_faults([{"kind": "stall", "methods": ["sendMessage"], "stall_seconds": 60}])
    with pytest.raises(TimedOut):
        await bot.send_message(u.id, "stuck", read_timeout=0.2)
    await api.clear_faults()
    await bot.send_message(u.id, "next")
    # The stalled call was abandoned by the client before it was processed.
    assert [m.plain_text for m in await u.messages()] == ["next"]


async def test_short_stall_then_answer_delivers(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    await api.set_faults([{"kind": "stall", "methods": ["sendMessage"], "stall_seconds": 0.05}])
    sent = await bot.send_message(u.id, "slow but fine")
    [message] = await u.wait_messages(1)
    assert message.message_id == sent.message_id


async def test_delivered_then_failed_simulates_timeout_after_sending(
    bot: Bot, api: SandboxClient
) -> None:
    u = await api.user("u", started=True)
    await api.set_faults(
        [
            {"kind": "reset", "methods": ["sendMessage"], "times": 1, "after_delivery": True},
            {
                "kind": "stall",
                "methods": ["sendMessage"],
                "times": 1,
                "after_delivery": True,
                "stall_seconds": 60,
            },
            {
                "kind": "server_error",
                "methods": ["sendMessage"],
                "times": 1,
                "after_delivery": True,
            },
        ]
    )
    with pytest.raises(NetworkError):
        await bot.send_message(u.id, "pengingat 1")
    with pytest.raises(TimedOut):
        await bot.send_message(u.id, "pengingat 2", read_timeout=0.2)
    with pytest.raises(NetworkError):
        await bot.send_message(u.id, "pengingat 3")
    # Each message reached the user although the bot saw an error: an at-least-once sender
    # that retries will duplicate it, which is what tests of idempotent delivery need.
    delivered = await u.wait_messages(3)
    assert [m.plain_text for m in delivered] == ["pengingat 1", "pengingat 2", "pengingat 3"]
    stats = (await api.stats())["methods"]["sendMessage"]
    assert stats == {
        "fault_reset_after_delivery": 1,
        "fault_stall_after_delivery": 1,
        "fault_server_error_after_delivery": 1,
    }


async def test_seeded_probability_is_repeatable_across_servers() -> None:
    async def outcomes(seed: int) -> list[str]:
        rule = Fault("server_error", methods=frozenset({"sendMessage"}), probability=0.4)
        async with SandboxServer(faults=[rule], seed=seed) as server:
            client = SandboxClient(server.url)
            user = await client.user("u", started=True)
            results = []
            async with make_bot(server) as bot:
                for i in range(20):
                    try:
                        await bot.send_message(user.id, str(i))
                        results.append("ok")
                    except NetworkError:
                        results.append("fail")
            await client.close()
            return results

    first = await outcomes(7)
    assert first == await outcomes(7)
    assert "ok" in first and "fail" in first


async def test_reset_restores_constructor_faults_and_clears_state() -> None:
    rule = Fault("retry_after", methods=frozenset({"sendMessage"}), times=1, retry_after=3)
    async with SandboxServer(faults=[rule]) as server:
        client = SandboxClient(server.url)
        async with make_bot(server) as bot:
            u = await client.user("u", started=True)
            with pytest.raises(RetryAfter):
                await bot.send_message(u.id, "x")
            await bot.send_message(u.id, "y")
            before = (await client.pending_updates(), await client.users())
            await u.send("halo")
            last_id = (await bot.get_updates())[-1].update_id
            await client.reset()
            assert await client.users() == [] and await client.stats() == {
                "methods": {},
                "totals": {},
                "calls": 0,
                "updates": {"pending": 0, "dropped_by_allowed_updates": 0},
            }
            u = await client.user("u", started=True)
            with pytest.raises(RetryAfter):  # the constructor's rule is armed again
                await bot.send_message(u.id, "x")
            await u.send("again")
            [update] = await bot.get_updates()
            assert update.update_id > last_id  # update ids never restart
        assert before[0] == [] and len(before[1]) == 1
        await client.close()


async def test_fault_configuration_errors(api: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="unknown fault kind"):
        await api.set_faults([{"kind": "explode"}])
    with pytest.raises(SandboxError, match="unknown rate limit fields"):
        await api.set_limits(speed=3)
    config = await api.set_faults([{"kind": "reset", "methods": "*", "probability": 0.5}], seed=3)
    assert config["seed"] == 3 and config["rules"][0]["methods"] == ["*"]
    await api.clear_faults()
    assert (await api.request("GET", "/control/faults"))["rules"] == []
