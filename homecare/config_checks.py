"""The configuration's checks across fields and meanings, each naming its key (homecare.config
builds the typed sections; these rules decide whether their values make sense together)."""

from __future__ import annotations

import re
from datetime import time
from typing import TYPE_CHECKING, Any

from homecare.config_clinics import WEEKDAYS as WEEKDAYS
from homecare.config_clinics import check_clinics, check_satusehat_clinics
from homecare.config_telegram import check_telegram
from homecare.errors import ConfigError

if TYPE_CHECKING:
    from homecare.config import Config


class Bad(Exception):
    """A value problem; the loader adds file and key."""


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _HHMM.match(value):
        raise Bad(f'"{value}" is not a time of day "HH:MM"')
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


def _check(cond: bool, key: str, problem: str) -> None:
    if not cond:
        raise ConfigError(key, problem)


_TILE_HOST = re.compile(r"^(\{s\}\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def tile_url_ok(url: str) -> bool:
    """Empty, or http(s) with {z}/{x}/{y} and a plain host (it goes into the CSP header)."""
    if not url:
        return True
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return (
        scheme in ("https", "http")
        and all(k in rest for k in ("{z}", "{x}", "{y}"))
        and bool(_TILE_HOST.match(host))
        and not any(c in url for c in " ;'\"")
    )


def validate(cfg: Config, complete: bool = True) -> None:
    """Cross-field and semantic checks, each naming the key. `complete=False`: secrets may
    still come from the environment, so their absence is not an error yet."""
    check_clinics(cfg)
    web = cfg.web
    _check(0 <= web.port <= 65535, "[web] port", "must be 0..65535")
    _check(
        not web.public_url or web.public_url.startswith(("http://", "https://")),
        "[web] public_url",
        'must start with "https://" (or "http://" on a test machine)',
    )
    _check(
        tile_url_ok(web.tile_url),
        "[web] tile_url",
        'must be empty or an "https://" address with {z}, {x} and {y}',
    )
    _check(1 <= web.login_link_min <= 60, "[web] login_link_min", "must be 1..60 minutes")
    _check(web.session_idle_min >= 1, "[web] session_idle_min", "must be at least 1")
    sat = cfg.satusehat
    if sat.enabled and len(cfg.clinics) == 1:
        # The client secret may come from the environment after this check: asked for at use.
        view = cfg.for_clinic(cfg.clinic.code).satusehat  # the clinic's own ids, else these
        for key in ("base_url", "client_id", "organization_id", "location_id"):
            _check(bool(getattr(view, key)), f"[satusehat] {key}", "is needed when enabled")
    check_satusehat_clinics(cfg)
    _check(1 <= sat.max_attempts <= 10, "[satusehat] max_attempts", "must be 1..10")
    _check(
        not sat.submit_at or bool(_HHMM.match(sat.submit_at)),
        "[satusehat] submit_at",
        'must be "HH:MM" or empty',
    )
    _check(1 <= sat.lookback_days <= 366, "[satusehat] lookback_days", "must be 1..366")
    _check(web.session_max_hours >= 1, "[web] session_max_hours", "must be at least 1")
    _check(
        cfg.privacy.raw_retention_hours >= 1,
        "[privacy] raw_retention_hours",
        "must be at least 1 (updates must be handled before their content is erased)",
    )
    check_telegram(cfg.telegram, cfg.web, complete=complete)
    _check(
        cfg.telegram.base_url.startswith(("http://", "https://")),
        "[telegram] base_url",
        f'"{cfg.telegram.base_url}" is not an http(s) URL',
    )
    _check(
        not cfg.telegram.token or re.fullmatch(r"\d+:[\w-]{20,}", cfg.telegram.token) is not None,
        "[telegram] token",
        "does not look like a BotFather token (digits:letters)",
    )
    _check(
        cfg.database.url.split(":", 1)[0] in ("sqlite+aiosqlite", "postgresql+asyncpg"),
        "[database] url",
        "must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
    )
    s = cfg.schedule
    _check(len(s.windows) > 0, "[schedule] windows", "must list at least one window")
    for w in s.windows:
        m = re.fullmatch(r"(\d\d:\d\d)-(\d\d:\d\d)", w)
        _check(m is not None, "[schedule] windows", f'"{w}" is not "HH:MM-HH:MM"')
        assert m is not None
        try:
            a, b = parse_time(m.group(1)), parse_time(m.group(2))
        except Bad as exc:
            raise ConfigError("[schedule] windows", str(exc)) from None
        _check(a < b, "[schedule] windows", f'"{w}" ends before it starts')
    _check(1 <= s.horizon_days <= 60, "[schedule] horizon_days", "must be between 1 and 60")
    _check(s.cancel_cutoff_hours >= 0, "[schedule] cancel_cutoff_hours", "must not be negative")
    _check(s.conversation_idle_min >= 1, "[schedule] conversation_idle_min", "must be at least 1")
    for d in s.closures:
        _check(
            re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) is not None,
            "[schedule] closures",
            f'"{d}" is not a date "YYYY-MM-DD"',
        )
    p = cfg.planner
    _check(p.time_limit_s > 0, "[planner] time_limit_s", "must be positive")
    _check(p.speed_kmh > 0, "[planner] speed_kmh", "must be positive")
    _check(p.road_factor >= 1.0, "[planner] road_factor", "must be at least 1.0")
    _check(0 <= p.travel_allowance < 1, "[planner] travel_allowance", "must be in [0, 1)")
    codes = [sv.code for sv in cfg.services]
    _check(len(codes) == len(set(codes)), "[[services]] code", "codes must be unique")
    for sv in cfg.services:
        _check(sv.duration_min > 0, f"[[services]] {sv.code}.duration_min", "must be positive")
    dv = cfg.delivery
    _check(0 < dv.global_rate_per_s <= 30, "[delivery] global_rate_per_s", "must be in (0, 30]")
    _check(dv.global_burst >= 1, "[delivery] global_burst", "must be at least 1")
    _check(dv.per_chat_interval_s > 0, "[delivery] per_chat_interval_s", "must be positive")
    _check(dv.per_chat_burst >= 1, "[delivery] per_chat_burst", "must be at least 1")
    _check(1 <= dv.concurrency <= 14, "[delivery] concurrency", "must be between 1 and 14")
    _check(dv.max_attempts >= 1, "[delivery] max_attempts", "must be at least 1")
    _check(dv.backoff_cap_s >= 1, "[delivery] backoff_cap_s", "must be at least 1")
    _check(
        5 <= dv.digest_every_min <= 24 * 60,
        "[delivery] digest_every_min",
        "must be between 5 and 1440",
    )
    _check(
        all(m > 0 for m in dv.nurse_before_visit_min)
        and len(set(dv.nurse_before_visit_min)) == len(dv.nurse_before_visit_min),
        "[delivery] nurse_before_visit_min",
        "must be distinct positive minutes",
    )
    _check(
        cfg.logging.level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
        "[logging] level",
        f'"{cfg.logging.level}" is not DEBUG, INFO, WARNING or ERROR',
    )
