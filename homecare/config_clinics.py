"""Several puskesmas in one install: `[[clinics]]` (or the single `[clinic]`), their checks, and
the per-clinic view of the configuration that services and handlers are given.

A one-clinic file keeps `[clinic]`; a city-wide one lists `[[clinics]]` instead (both → error).
`Config.clinics` is always a tuple (one item for `[clinic]`); `Config.clinic` is the first, used
only where no clinic can be known yet (a stranger's first message). `config.for_clinic(code)` is
the same configuration seen from one clinic: its `clinic` is that clinic, and its `[schedule]
closures` include the clinic's own, so every service reading `config.clinic` works per clinic.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from homecare.errors import ConfigError

if TYPE_CHECKING:
    from homecare.config import ClinicConfig, Config

# A clinic's own SATUSEHAT settings (ClinicConfig.satusehat_<key>) → [satusehat] <key>.
SATUSEHAT_KEYS = ("organization_id", "location_id", "location_name", "client_id", "client_secret")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def kelurahan_key(name: str) -> str:
    """ "Banta-Bantaeng", "banta bantaeng" and " BANTA-BANTAENG " are one kelurahan (the same
    squashing as scheduler.address, which this layer cannot import)."""
    return re.sub(r"[^\w]+", "", name.casefold())


def clinics_from_tables(value: Any, cls: type, build: Any) -> tuple[ClinicConfig, ...]:
    """`[[clinics]]` → ClinicConfig tuple; `build(cls, table, prefix)` is the loader's builder."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError("[[clinics]]", "must be an array of tables")
    if not value:
        raise ConfigError("[[clinics]]", "must list at least one clinic")
    items = []
    for i, table in enumerate(value):
        code = table.get("code")
        label = f'"{code}"' if isinstance(code, str) else f"#{i + 1}"
        if "code" not in table:
            raise ConfigError(f"[[clinics]] {label} code", "is required")
        items.append(build(cls, table, f"[[clinics]] {label} "))
    return tuple(items)


def clinic_label(cfg: Config, clinic: ClinicConfig) -> str:
    """How messages name the clinic's section: "[clinic]" or '[[clinics]] "code"'."""
    return "[clinic]" if len(cfg.clinics) == 1 else f'[[clinics]] "{clinic.code}"'


def _check(cond: bool, key: str, problem: str) -> None:
    if not cond:
        raise ConfigError(key, problem)


def check_clinic(label: str, c: ClinicConfig) -> None:
    try:
        ZoneInfo(c.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{label} timezone", f'"{c.timezone}" is not a known time zone') from None
    _check(bool(c.code.strip()), f"{label} code", "must not be empty")
    _check(-90 <= c.location.lat <= 90, f"{label} location.lat", "must be between -90 and 90")
    _check(-180 <= c.location.lon <= 180, f"{label} location.lon", "must be between -180 and 180")
    _check(c.service_radius_km > 0, f"{label} service_radius_km", "must be above 0")
    _check(len(c.service_area) > 0, f"{label} service_area", "must list at least one kelurahan")
    for d in c.working_days:
        _check(d in WEEKDAYS, f"{label} working_days", f'"{d}" is not one of {", ".join(WEEKDAYS)}')
    _check(
        c.working_hours[0] < c.working_hours[1], f"{label} working_hours", "end must be after start"
    )
    for d in c.closures:
        _check(
            _DATE.fullmatch(d) is not None, f"{label} closures", f'"{d}" is not a date "YYYY-MM-DD"'
        )


def check_clinics(cfg: Config) -> None:
    """Each clinic's values; codes unique; no kelurahan served by two clinics (a family must
    be routed to exactly one puskesmas)."""
    seen_codes: set[str] = set()
    owner: dict[str, tuple[str, str]] = {}  # kelurahan key → (clinic code, name as written)
    for c in cfg.clinics:
        label = clinic_label(cfg, c)
        check_clinic(label, c)
        _check(c.code not in seen_codes, "[[clinics]] code", f'"{c.code}" is used twice')
        seen_codes.add(c.code)
        for kel in c.service_area:
            key = kelurahan_key(kel)
            if key in owner and owner[key][0] != c.code:
                other, written = owner[key]
                raise ConfigError(
                    f"{label} service_area",
                    f'kelurahan "{kel}" is also in [[clinics]] "{other}" ("{written}"); '
                    "a kelurahan belongs to one puskesmas",
                )
            owner[key] = (c.code, kel)


def normalise_clinics(cfg: Config) -> None:
    """Config.__post_init__: `clinics` always holds at least `clinic`. A one-clinic config whose
    `clinic` was replaced (tests, the demo) follows it."""
    if not cfg.clinics or (len(cfg.clinics) == 1 and cfg.clinics[0] != cfg.clinic):
        object.__setattr__(cfg, "clinics", (cfg.clinic,))


def clinic_by_code(cfg: Config, code: str) -> ClinicConfig | None:
    return next((c for c in cfg.clinics if c.code == code), None)


def for_clinic(cfg: Config, code: str) -> Config:
    """The configuration as one clinic sees it (its `clinic`, its closures added, its SATUSEHAT
    registration as `[satusehat]`)."""
    clinic = clinic_by_code(cfg, code)
    if clinic is None:
        raise KeyError(code)
    own = {k: getattr(clinic, f"satusehat_{k}") for k in SATUSEHAT_KEYS}
    own = {k: v for k, v in own.items() if v}
    if clinic is cfg.clinic and not clinic.closures and not own:
        return cfg
    closures = tuple(dict.fromkeys((*cfg.schedule.closures, *clinic.closures)))
    schedule = dataclasses.replace(cfg.schedule, closures=closures)
    satusehat = dataclasses.replace(cfg.satusehat, **own)
    return dataclasses.replace(cfg, clinic=clinic, schedule=schedule, satusehat=satusehat)


def secret_variable(code: str) -> str:
    """HOMECARE_SATUSEHAT_CLIENT_SECRET_<CODE>: "bara-baraya" → ..._BARA_BARAYA."""
    return "HOMECARE_SATUSEHAT_CLIENT_SECRET_" + re.sub(r"[^A-Z0-9]+", "_", code.upper())


def clinic_secrets_from(cfg: Config, environ: Mapping[str, str]) -> Config:
    """Each clinic's SATUSEHAT client secret from its own environment variable."""
    clinics = tuple(
        dataclasses.replace(c, satusehat_client_secret=secret)
        if (secret := environ.get(secret_variable(c.code)))
        else c
        for c in cfg.clinics
    )
    if clinics == cfg.clinics:
        return cfg
    first = clinics[0] if cfg.clinics[0] == cfg.clinic else cfg.clinic
    return dataclasses.replace(cfg, clinics=clinics, clinic=first)


def check_satusehat_clinics(cfg: Config) -> None:
    """With several puskesmas each submits as itself: its own Organization, Location and client
    (SATUSEHAT issues credentials per health facility), never another's."""
    if not cfg.satusehat.enabled or len(cfg.clinics) == 1:
        return
    _check(bool(cfg.satusehat.base_url), "[satusehat] base_url", "is needed when enabled")
    seen: dict[str, str] = {}
    for c in cfg.clinics:
        label = clinic_label(cfg, c)
        for key in ("organization_id", "location_id", "client_id"):
            _check(
                bool(getattr(c, f"satusehat_{key}")),
                f"{label} satusehat_{key}",
                "is needed for every puskesmas when [satusehat] is enabled",
            )
        org = c.satusehat_organization_id
        _check(
            org not in seen,
            f"{label} satusehat_organization_id",
            f'"{org}" is also [[clinics]] "{seen.get(org)}"\'s: each puskesmas has its own',
        )
        seen[org] = c.code


def clinic_of_kelurahan(cfg: Config, kelurahan: str) -> ClinicConfig | None:
    key = kelurahan_key(kelurahan)
    return next(
        (c for c in cfg.clinics if any(kelurahan_key(k) == key for k in c.service_area)), None
    )


def all_service_areas(cfg: Config) -> tuple[str, ...]:
    """Every clinic's kelurahan, in clinic order (registration offers them all)."""
    return tuple(k for c in cfg.clinics for k in c.service_area)


def split_sections(data: Mapping[str, Any]) -> None:
    if "clinic" in data and "clinics" in data:
        raise ConfigError(
            "[clinic]",
            "and [[clinics]] cannot both be given: list every puskesmas under [[clinics]]",
        )
