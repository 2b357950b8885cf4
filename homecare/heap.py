"""The garbage collector's share of a pause: settle the heap once the bot has started.

A full (oldest-generation) collection scans every tracked object: after start-up that is the
whole of SQLAlchemy's, PTB's, PyVRP's and the config's objects, ~0.1–0.15 s on the small
machines this runs on, and it holds the GIL — every task waits, a person's /help too, and if it
falls inside the plan's write transaction, every writer behind it (bench/plan_loop.py traced
such passes). `settle()` collects once and moves what is alive to the permanent generation
(`gc.freeze`): later full collections scan only what came after.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once, after start-up (`homecare run` does, after the app has started)."""
    gc.collect()
    gc.freeze()
