"""`homecare satusehat submit --from D --to D [--clinic CODE]`: send a period's finished visits.

Off unless `[satusehat] enabled`; the client secret comes from HOMECARE_SATUSEHAT_CLIENT_SECRET
(several puskesmas: each sends as itself, `--clinic` names which, its secret from
HOMECARE_SATUSEHAT_CLIENT_SECRET_<CODE>).
Visits SATUSEHAT already accepted are not sent again (the daily `[satusehat] submit_at` run
shares this). Prints what was sent and what was left out; exit 1 with SATUSEHAT's reason when
it refused or did not answer (the attempt is in the audit chain either way).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from homecare.config import Config
from homecare.errors import SatusehatError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


async def _submit(config: Config, start: date, end: date, clinic: str | None = None) -> int:
    from db.services import satusehat
    from db.session import Database
    from homecare.satusehat import SatusehatClient

    if not config.satusehat.enabled:
        print("homecare satusehat: [satusehat] enabled is false in the config", file=sys.stderr)
        return EXIT_USAGE
    if end < start:
        print("homecare satusehat: --to is before --from", file=sys.stderr)
        return EXIT_USAGE
    codes = [c.code for c in config.clinics]
    if (clinic is None and len(codes) > 1) or (clinic is not None and clinic not in codes):
        print(f"homecare satusehat: --clinic must be one of {', '.join(codes)}", file=sys.stderr)
        return EXIT_USAGE
    config = config.for_clinic(clinic or codes[0])
    db = Database(config.database.url)
    try:
        async with SatusehatClient(config.satusehat) as client:
            sent = await satusehat.submit_period(db, config, client, start, end)
    except SatusehatError as exc:
        print(f"homecare satusehat: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await db.dispose()
    print(
        f"{sent.encounters} visit(s) sent ({sent.observations} observations, {sent.accepted} "
        f"entries accepted); left out: {sent.no_nik} without NIK, {sent.unknown_patients} "
        f"not known to SATUSEHAT, {sent.no_practitioner} whose nurse has no IHS number; "
        f"{sent.already_sent} already accepted before"
    )
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    from homecare.cli_staff import _load

    return asyncio.run(_submit(_load(args), args.start, args.end, args.clinic))


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from homecare.cli_staff import _day

    p = sub.add_parser("satusehat", help="send finished visits to SATUSEHAT ([satusehat])")
    p.add_argument("action", choices=["submit"])
    p.add_argument("--from", dest="start", type=_day, required=True, help="first day YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=_day, required=True, help="last day YYYY-MM-DD")
    p.add_argument("--clinic", default=None, help="the puskesmas' code (several clinics)")
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_submit)
