"""Typed configuration: `config.toml` → frozen dataclasses, one section per concern.

Every value has a default (the demo clinic), so a missing file is a valid configuration. A bad value
raises `ConfigError` whose message is one line naming the file, the key and what is wrong, e.g.
``config.toml: [clinic] timezone "Asia/Makasar" is not a known time zone``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

# WEEKDAYS and tile_url_ok are imported from here too (where they were first).
from homecare.config_checks import WEEKDAYS as WEEKDAYS
from homecare.config_checks import Bad, parse_time, validate
from homecare.config_checks import tile_url_ok as tile_url_ok
from homecare.config_clinics import (
    clinic_by_code,
    clinic_secrets_from,
    clinics_from_tables,
    for_clinic,
    normalise_clinics,
    split_sections,
)
from homecare.config_telegram import DEFAULT_ALLOWED_UPDATES
from homecare.errors import ConfigError

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
LANGUAGES = ("id", "en")


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True)
class TelegramConfig:
    # Empty token: `homecare run` starts the demo (sandbox + bot + demo clinic).
    token: str = ""
    base_url: str = TELEGRAM_BASE_URL
    # "polling" (getUpdates) or "webhook" (Telegram posts to `webhook_url`, served by [web]).
    mode: str = "polling"
    webhook_url: str = ""
    # Telegram sends it in every webhook request; anything without it is refused.
    secret_token: str = ""
    allowed_updates: tuple[str, ...] = DEFAULT_ALLOWED_UPDATES
    poll_timeout_s: int = 25
    # Seconds a bot-initiated message may wait before a send is tried again.
    request_timeout_s: float = 20.0


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///data/homecare.db"
    echo: bool = False


@dataclass(frozen=True)
class ClinicConfig:
    code: str = "kassi-kassi"
    name: str = "Puskesmas Kassi-Kassi"
    programme: str = "Home Care Dottoro'ta"
    timezone: str = "Asia/Makassar"
    location: Location = Location(lat=-5.1587, lon=119.4465)
    # A home pin farther than this from `location` is confirmed with the family before it is kept.
    service_radius_km: float = 5.0
    address: str = "Jl. Tamalate I, Kassi-Kassi, Rappocini, Makassar"
    phone: str = "+62411000000"
    emergency_numbers: tuple[str, ...] = ("112", "119")
    service_area: tuple[str, ...] = (
        "Kassi-Kassi",
        "Karunrung",
        "Mappala",
        "Tidung",
        "Banta-Bantaeng",
        "Buakana",
    )
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat")
    working_hours: tuple[time, time] = (time(8, 0), time(14, 0))
    # Days this clinic is closed ("YYYY-MM-DD"), besides [schedule] closures (all clinics).
    closures: tuple[str, ...] = ()
    # Its SATUSEHAT registration (each puskesmas has its own Organization and credentials);
    # empty: [satusehat]'s (one clinic only). Secret: HOMECARE_SATUSEHAT_CLIENT_SECRET_<CODE>.
    satusehat_organization_id: str = ""
    satusehat_location_id: str = ""
    satusehat_location_name: str = ""
    satusehat_client_id: str = ""
    satusehat_client_secret: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class ScheduleConfig:
    # Visit windows offered to patients ("HH:MM-HH:MM"); the window bounds the start of service.
    windows: tuple[str, ...] = ("08:00-10:00", "10:00-12:00", "12:00-14:00")
    horizon_days: int = 7
    cancel_cutoff_hours: int = 12
    plan_at: time = time(18, 0)
    routes_at: time = time(6, 30)
    reminder_evening_at: time = time(17, 0)
    reminder_before_arrival_min: int = 60
    confirm_deadline: time = time(20, 0)
    weekly_report_at: time = time(7, 0)
    conversation_idle_min: int = 30
    closures: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannerWeights:
    travel: float = 1.0
    balance: float = 1.0
    continuity: float = 1.0


@dataclass(frozen=True)
class PlannerConfig:
    time_limit_s: float = 5.0
    speed_kmh: float = 20.0
    road_factor: float = 1.3
    osrm_url: str = ""
    # Share of each nurse's shift reserved for travel when counting a day's booking capacity.
    travel_allowance: float = 0.25
    weights: PlannerWeights = PlannerWeights()


@dataclass(frozen=True)
class PrivacyConfig:
    consent_version: str = "2026-11"
    # Visit logistics are kept for the clinic's medical-record duty after a deletion request.
    retention_years: int = 5
    privacy_contact: str = "kassikassi.puskesmas@makassarkota.go.id"
    # Raw Telegram updates and sent messages hold names, addresses, complaints: their content is
    # erased this long after they were handled/sent (the ids stay, for deduplication).
    raw_retention_hours: int = 24


@dataclass(frozen=True)
class DeliveryConfig:
    # Telegram allows about 30 messages/s overall: 29 uses 97% of it and leaves one per second
    # for network jitter (requests sent evenly may arrive bunched), so no 429 is provoked.
    global_rate_per_s: float = 29.0
    global_burst: int = 10
    # About one message per second in one chat, with a short burst (a reply and its follow-up).
    per_chat_interval_s: float = 1.0
    per_chat_burst: int = 2
    # Requests in flight at once (chats are served concurrently, each chat in order).
    concurrency: int = 8
    # Failed attempts (5xx, network) before a message is given up and the heads are told.
    max_attempts: int = 20
    backoff_cap_s: float = 300.0
    # How often the heads' digest of open tasks goes out during working hours.
    digest_every_min: int = 30
    # Reminders to the assigned nurse this many minutes before each visit (none by default: the
    # morning route message covers the day).
    nurse_before_visit_min: tuple[int, ...] = ()


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 8081


@dataclass(frozen=True)
class WebConfig:
    """The web console, served by the bot's own process (bot/web)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8090  # 0: any free port (tests)
    # The address people open, e.g. "https://homecare.puskesmas.example" behind a reverse proxy
    # with HTTPS; login links use it. Empty: http://host:port.
    public_url: str = ""
    session_idle_min: int = 30
    session_max_hours: int = 12
    login_link_min: int = 10
    # GET /metrics answers only with "Authorization: Bearer <metrics_token>" when set (it holds
    # no personal data, but says how busy the clinic is). HOMECARE_METRICS_TOKEN overrides it.
    metrics_token: str = ""
    # Map tiles for the route maps ({z}/{x}/{y}, optional {s}); its host is allowed in the pages'
    # CSP. Empty: routes are drawn on a plain background (tests, the demo, no internet).
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    )


@dataclass(frozen=True)
class SatusehatConfig:
    """Submitting finished visits to SATUSEHAT (Kemenkes' FHIR R4 platform); off by default.

    The ids come from the SATUSEHAT platform's registration of the puskesmas. The client
    secret belongs in HOMECARE_SATUSEHAT_CLIENT_SECRET, not in the file.
    """

    enabled: bool = False
    # Production: https://api-satusehat.kemkes.go.id; staging: https://api-satusehat-stg.dto.kemkes.go.id
    base_url: str = "https://api-satusehat-stg.dto.kemkes.go.id"
    client_id: str = ""
    client_secret: str = ""
    organization_id: str = ""  # the puskesmas' Organization id in SATUSEHAT
    location_id: str = ""  # its Location (home visits are recorded against the puskesmas)
    location_name: str = ""
    timeout_s: float = 20.0
    max_attempts: int = 4  # per request, on no answer, 429 or 5xx
    backoff_s: float = 2.0  # doubled after each failed attempt
    # "HH:MM" clinic time: each day, finished visits not yet accepted are sent; "" = by hand only.
    submit_at: str = ""
    lookback_days: int = 30  # how far back the daily run looks for visits still to send


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class ServiceType:
    code: str
    duration_min: int
    skills: tuple[str, ...]
    name_id: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_id


@dataclass(frozen=True)
class DangerSign:
    code: str
    question_id: str
    question_en: str
    # False for a sign a person cannot report about themself ("unconscious"): asked of
    # caregivers only.
    ask_self: bool = True

    def question(self, language: str) -> str:
        return self.question_en if language == "en" else self.question_id


DEFAULT_SERVICES: tuple[ServiceType, ...] = (
    ServiceType("wound_care", 45, ("wound",), "Perawatan luka", "Wound care"),
    ServiceType(
        "chronic_check", 30, ("chronic",), "Cek hipertensi/diabetes", "Hypertension/diabetes check"
    ),
    ServiceType("elderly_care", 40, ("elderly",), "Perawatan lansia", "Elderly care"),
    ServiceType(
        "mother_newborn", 45, ("maternal",), "Ibu nifas dan bayi baru lahir", "Mother and newborn"
    ),
    ServiceType("injection", 20, ("injection",), "Suntik/obat", "Injection/medication"),
    ServiceType("lab_sample", 20, ("lab",), "Ambil sampel lab", "Lab sample"),
    ServiceType("palliative", 60, ("palliative",), "Perawatan paliatif", "Palliative care"),
    ServiceType("other", 30, (), "Lainnya", "Other"),
)

DEFAULT_DANGER_SIGNS: tuple[DangerSign, ...] = (
    DangerSign(
        "breathless",
        "Sesak napas berat?",
        "Severe shortness of breath?",
    ),
    DangerSign("chest_pain", "Nyeri dada?", "Chest pain?"),
    DangerSign(
        "unconscious",
        "Tidak sadar atau sulit dibangunkan?",
        "Unconscious or hard to wake?",
        ask_self=False,
    ),
    DangerSign("bleeding", "Perdarahan hebat?", "Heavy bleeding?"),
    DangerSign("seizure", "Kejang?", "Seizure?"),
)


@dataclass(frozen=True)
class Config:
    telegram: TelegramConfig = TelegramConfig()
    database: DatabaseConfig = DatabaseConfig()
    clinic: ClinicConfig = ClinicConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    planner: PlannerConfig = PlannerConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    sandbox: SandboxConfig = SandboxConfig()
    web: WebConfig = WebConfig()
    satusehat: SatusehatConfig = SatusehatConfig()
    logging: LoggingConfig = LoggingConfig()
    services: tuple[ServiceType, ...] = DEFAULT_SERVICES
    danger_signs: tuple[DangerSign, ...] = DEFAULT_DANGER_SIGNS
    # Every puskesmas of the install (`[[clinics]]`); just `clinic` for a `[clinic]` file.
    clinics: tuple[ClinicConfig, ...] = ()
    # Where the file came from, for messages; not a setting.
    source: str = field(default="<defaults>", compare=False)

    def __post_init__(self) -> None:
        normalise_clinics(self)

    @property
    def demo(self) -> bool:
        return not self.telegram.token

    def clinic_by_code(self, code: str) -> ClinicConfig | None:
        return clinic_by_code(self, code)

    def for_clinic(self, code: str) -> Config:
        """This configuration as clinic `code` sees it (homecare.config_clinics)."""
        return for_clinic(self, code)

    def service(self, code: str) -> ServiceType | None:
        return next((s for s in self.services if s.code == code), None)

    def replace(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


# --- loading -------------------------------------------------------------------------------------


def _convert(value: Any, hint: Any) -> Any:
    origin = get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise Bad(f"{value!r} is not true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Bad(f"{value!r} is not a whole number")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Bad(f"{value!r} is not a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise Bad(f"{value!r} is not text")
        return value
    if hint is time:
        return parse_time(value)
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, list):
            raise Bad(f"{value!r} is not a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0]) for v in value)
        if len(value) != len(args):
            raise Bad(f"needs exactly {len(args)} values")
        return tuple(_convert(v, a) for v, a in zip(value, args, strict=True))
    if origin in (types.UnionType,):
        raise Bad("unsupported")
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise Bad(f"{value!r} is not a table")
        return _build(hint, value, prefix="")
    raise Bad(f"unsupported setting type {hint}")


def _build(cls: Any, data: Mapping[str, Any], prefix: str) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"{prefix}{key}", "is not a known setting")
        try:
            kwargs[key] = _convert(value, hints[key])
        except Bad as exc:
            raise ConfigError(f"{prefix}{key}", str(exc)) from None
        except ConfigError as exc:
            raise ConfigError(f"{prefix}{key}.{exc.key}", exc.problem) from None
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        missing = re.findall(r"'(\w+)'", str(exc))
        raise ConfigError(f"{prefix}{missing[0] if missing else '?'}", "is required") from None


_SECTIONS: dict[str, type] = {
    "telegram": TelegramConfig,
    "database": DatabaseConfig,
    "clinic": ClinicConfig,
    "schedule": ScheduleConfig,
    "planner": PlannerConfig,
    "privacy": PrivacyConfig,
    "delivery": DeliveryConfig,
    "sandbox": SandboxConfig,
    "web": WebConfig,
    "satusehat": SatusehatConfig,
    "logging": LoggingConfig,
}

_LIST_SECTIONS: dict[str, tuple[type, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "services": (
        ServiceType,
        lambda t: {
            "code": t.get("code"),
            "duration_min": t.get("duration_min"),
            "skills": t.get("skills", []),
            "name_id": t.get("name", {}).get("id"),
            "name_en": t.get("name", {}).get("en"),
        },
    ),
    "danger_signs": (
        DangerSign,
        lambda t: {
            "code": t.get("code"),
            "question_id": t.get("question", {}).get("id"),
            "question_en": t.get("question", {}).get("en"),
            "ask_self": t.get("ask_self", True),
        },
    ),
}


def config_from_mapping(
    data: Mapping[str, Any], source: str = "<mapping>", *, complete: bool = True
) -> Config:
    """Build a Config from parsed TOML (or a dict in tests); raises ConfigError with the source.
    `complete=False` when the environment is still to be applied (see `config_checks.validate`)."""
    try:
        kwargs: dict[str, Any] = {}
        split_sections(data)
        for key, value in data.items():
            if key == "clinics":
                kwargs["clinics"] = clinics_from_tables(value, ClinicConfig, _build)
                kwargs["clinic"] = kwargs["clinics"][0]
            elif key in _SECTIONS:
                if not isinstance(value, dict):
                    raise ConfigError(f"[{key}]", "must be a table")
                kwargs[key] = _build(_SECTIONS[key], value, prefix=f"[{key}] ")
            elif key in _LIST_SECTIONS:
                cls, flatten = _LIST_SECTIONS[key]
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    raise ConfigError(f"[[{key}]]", "must be an array of tables")
                items = []
                for i, table in enumerate(value):
                    flat = {k: v for k, v in flatten(table).items() if v is not None}
                    items.append(_build(cls, flat, prefix=f"[[{key}]] #{i + 1} "))
                kwargs[key] = tuple(items)
            else:
                raise ConfigError(f"[{key}]", "is not a known section")
        cfg = Config(**kwargs, source=source)
        validate(cfg, complete)
    except ConfigError as exc:
        raise exc.with_source(source) from None
    return cfg


def apply_environment(cfg: Config, environ: Mapping[str, str]) -> Config:
    """HOMECARE_TELEGRAM_TOKEN, HOMECARE_TELEGRAM_SECRET_TOKEN, HOMECARE_DATABASE_URL,
    HOMECARE_METRICS_TOKEN and HOMECARE_SATUSEHAT_CLIENT_SECRET override the file (keeps secrets
    out)."""
    if token := environ.get("HOMECARE_TELEGRAM_TOKEN"):
        cfg = cfg.replace(telegram=dataclasses.replace(cfg.telegram, token=token))
    if secret := environ.get("HOMECARE_TELEGRAM_SECRET_TOKEN"):
        cfg = cfg.replace(telegram=dataclasses.replace(cfg.telegram, secret_token=secret))
    if url := environ.get("HOMECARE_DATABASE_URL"):
        cfg = cfg.replace(database=dataclasses.replace(cfg.database, url=url))
    if secret := environ.get("HOMECARE_SATUSEHAT_CLIENT_SECRET"):
        cfg = cfg.replace(satusehat=dataclasses.replace(cfg.satusehat, client_secret=secret))
    cfg = clinic_secrets_from(cfg, environ)
    if metrics_token := environ.get("HOMECARE_METRICS_TOKEN"):
        cfg = cfg.replace(web=dataclasses.replace(cfg.web, metrics_token=metrics_token))
    from_env = {
        key
        for key, name in _ENV_KEYS.items()
        if environ.get(name)  # a problem with a value the environment gave is its problem
    }
    try:
        validate(cfg)
    except ConfigError as exc:
        raise exc.with_source("environment" if exc.key in from_env else cfg.source) from None
    return cfg


_ENV_KEYS = {
    "[telegram] token": "HOMECARE_TELEGRAM_TOKEN",
    "[telegram] secret_token": "HOMECARE_TELEGRAM_SECRET_TOKEN",
    "[database] url": "HOMECARE_DATABASE_URL",
    "[web] metrics_token": "HOMECARE_METRICS_TOKEN",
    "[satusehat] client_secret": "HOMECARE_SATUSEHAT_CLIENT_SECRET",
}


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Load `path` (or defaults when None), then environment overrides."""
    environ = os.environ if environ is None else environ
    if path is None:
        cfg = Config()
    else:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("", "file not found").with_source(str(p)) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"is not valid TOML ({exc})").with_source(p.name) from None
        cfg = config_from_mapping(data, source=p.name, complete=False)
    return apply_environment(cfg, environ)


def default_config_path() -> Path | None:
    """`config.toml` in the working directory when present, else built-in defaults."""
    p = Path("config.toml")
    return p if p.exists() else None
