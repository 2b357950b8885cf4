"""Addresses of the web console (pure)."""

from __future__ import annotations

from urllib.parse import quote

from homecare.config import WebConfig


def base_url(web: WebConfig) -> str:
    """What people open: `public_url` when set, else the address the server listens on."""
    if web.public_url:
        return web.public_url.rstrip("/")
    host = "127.0.0.1" if web.host in ("0.0.0.0", "") else web.host
    return f"http://{host}:{web.port}"


def login_url(web: WebConfig, secret: str) -> str:
    return f"{base_url(web)}/masuk?t={quote(secret)}"


def secure_cookies(web: WebConfig) -> bool:
    return base_url(web).startswith("https://")


def tile_origin(tile_url: str) -> str | None:
    """The CSP source that lets pages load the configured map tiles ({s} → any subdomain)."""
    if not tile_url:
        return None
    scheme, _, rest = tile_url.partition("://")
    host = rest.split("/", 1)[0].replace("{s}.", "*.")
    return f"{scheme}://{host}"
