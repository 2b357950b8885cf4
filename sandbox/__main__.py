"""Run the sandbox as a process: ``python -m sandbox --port 8081``.

Prints the URLs, serves until SIGINT/SIGTERM, then stops gracefully (long polls are woken).
Point a bot at it with ``base_url=http://127.0.0.1:8081/bot`` and chat with
``python -m sandbox.chat --url http://127.0.0.1:8081 --as siti``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from sandbox.policy import RateLimits
from sandbox.server import SandboxServer


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Local Telegram Bot API sandbox (loopback only)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (keep it loopback)")
    parser.add_argument("--port", type=int, default=8081, help="port (0 picks a free one)")
    parser.add_argument(
        "--token",
        action="append",
        dest="tokens",
        help="accept only this bot token (repeatable); default: any well-formed token",
    )
    parser.add_argument("--bot-username", default="homecare_sandbox_bot")
    parser.add_argument("--rate-limits", action="store_true", help="enable Telegram flood limits")
    parser.add_argument("--seed", type=int, default=0, help="seed of fault injection")
    parser.add_argument(
        "--webhook-backoff",
        type=float,
        default=1.0,
        help="seconds before a failed webhook delivery is retried (doubles up to 60)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    server = SandboxServer(
        host=args.host,
        port=args.port,
        tokens=args.tokens,
        limits=RateLimits(enabled=True) if args.rate_limits else None,
        seed=args.seed,
        bot_username=args.bot_username,
        webhook_backoff_s=args.webhook_backoff,
    )
    await server.start()
    print(f"Telegram sandbox listening on {server.url}", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "  WARNING: the control API has no authentication; keep the sandbox on loopback.",
            file=sys.stderr,
            flush=True,
        )
    print(f"  bot API base_url:  {server.bot_api_base_url}", flush=True)
    print(f"  file base_url:     {server.bot_api_file_url}", flush=True)
    print(f"  control API:       {server.url}/control/  (see sandbox/README.md)", flush=True)
    print(f"  browser chat:      {server.chat_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        print("Telegram sandbox stopped.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(serve(args))
    except OSError as error:
        print(f"Cannot start the sandbox: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
