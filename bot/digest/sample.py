"""Eight weeks of generated hits, so an operator can see a digest before there is traffic.

Owns: a deterministic, clearly synthetic traffic model (a shopping festival lifts fake customer
service, order brushing returns after it). Only for previews and tests; never mixed with real
data (``digest preview --sample`` writes to a throwaway database).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digest.stats import previous_week, week_bounds
from bot.storage.hits import HitRecord, insert_hits

BASE = {
    "order_brushing": 30,
    "fake_customer_service": 22,
    "investment": 14,
    "shopping": 10,
    "impersonate_officials": 8,
    "loan_credit": 8,
    "impersonate_acquaintance": 6,
    "romance": 4,
    "game_trading": 3,
}
RULE_OF = {
    "order_brushing": "order-brushing-tasks",
    "fake_customer_service": "fake-courier-cs",
    "investment": "investment",
    "shopping": "shopping-scam",
    "impersonate_officials": "impersonate-officials",
    "loan_credit": "loan-credit",
    "impersonate_acquaintance": "impersonate-acquaintance",
    "romance": "romance-pig-butchering",
    "game_trading": "game-trading",
}


async def fill_sample(
    sessions: async_sessionmaker[AsyncSession], week: str, tz: ZoneInfo, seed: int = 7
) -> int:
    """Write eight weeks of synthetic hits ending with ``week``; returns how many."""
    rnd = random.Random(seed)
    total = 0
    for back in range(7, -1, -1):
        w = previous_week(week, tz, back) if back else week
        start, _ = week_bounds(w, tz)
        weights = dict(BASE)
        if back in (1, 2):  # the festival weeks: parcels everywhere
            weights["fake_customer_service"] *= 2
            weights["shopping"] *= 2
        if back == 0:  # after it: brushing jobs return
            weights["order_brushing"] = int(weights["order_brushing"] * 1.4)
        records = []
        for fam, n in weights.items():
            for _ in range(n * 5 + rnd.randint(0, 10)):
                records.append(
                    HitRecord(
                        created_at=start + dt.timedelta(seconds=rnd.randint(0, 7 * 86400 - 1)),
                        rule_id=RULE_OF[fam],
                        rule_version=1,
                        family=fam,
                        stages=("pretext",),
                        furthest_stage="pretext",
                        risk=rnd.choice(["high", "medium", "low"]),
                        lang="zh",
                        chat_type="private",
                        input_kind="text",
                        user_pseudonym=f"{rnd.getrandbits(256):064x}",
                        domains=(),
                        event_id=str(uuid.UUID(int=rnd.getrandbits(128))),
                    )
                )
        for _ in range(len(records) // 2):  # checks that matched nothing
            records.append(
                HitRecord(
                    created_at=start + dt.timedelta(seconds=rnd.randint(0, 7 * 86400 - 1)),
                    rule_id=None,
                    rule_version=None,
                    family=None,
                    stages=(),
                    furthest_stage=None,
                    risk="none",
                    lang="zh",
                    chat_type="private",
                    input_kind="text",
                    user_pseudonym=f"{rnd.getrandbits(256):064x}",
                    domains=(),
                    event_id=str(uuid.UUID(int=rnd.getrandbits(128))),
                )
            )
        async with sessions() as s, s.begin():
            await insert_hits(s, records)
        total += len(records)
    return total
