"""`[satusehat]` pointed at a running stand-in (tests/head, tests/web)."""

from __future__ import annotations

import dataclasses
from typing import Any

from homecare.config import SatusehatConfig
from sandbox.satusehat import SatusehatStandIn

LOCATION = "b017aa54-f1df-4ec2-9d84-8823815d7228"


def stand_in_settings(
    server: SatusehatStandIn, base: SatusehatConfig | None = None, **changes: Any
) -> SatusehatConfig:
    """Enabled, with the stand-in's address, client and organisation; quick retries."""
    values: dict[str, Any] = {
        "enabled": True,
        "base_url": server.url,
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "organization_id": server.organization_id,
        "location_id": LOCATION,
        "location_name": "Puskesmas Kassi-Kassi",
        "backoff_s": 0.01,
    }
    return dataclasses.replace(base or SatusehatConfig(), **(values | changes))
