"""Local Telegram Bot API sandbox: the bot talks to it through PTB's ``base_url``.

* :class:`sandbox.server.SandboxServer` — the HTTP server (Bot API + control API);
* :class:`sandbox.client.SandboxClient` — act as users, read back what the bot sent;
* :func:`sandbox.chat.run_chat` — chat with the bot from a terminal.

See ``sandbox/README.md``. Submodules are imported lazily by users of this package so that
importing :mod:`sandbox` stays cheap.
"""

__version__ = "0.1.0"
