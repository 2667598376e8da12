"""The privacy promise end to end: messages full of personal data go through the whole path
(check, hit records, review report, feedback, preferences, subscription), then every row of
every table is dumped and searched for that data and for the raw user ids."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot.engine import Engine
from bot.privacy import Pseudonymizer, Sealer
from bot.storage import HitWriter, hits_from_verdict
from bot.storage.db import database
from bot.storage.models import Base, Subscription
from bot.storage.queries import add_feedback, add_report, set_preference

USERS = [7391046285, 5820113947]
MESSAGES = [
    "王建国先生您好，我是京东客服，您的快递丢失了，我们三倍理赔。请加微信 wangjg_1988 联系李秀英经理，"
    "电话 13812345678，身份证 110101199003074514，退款到卡 6222021234567894。",
    "Hi Margaret Thompson, this is Royal Mail. Your parcel is held. Pay £1.99 at "
    "royalmail-redeliver-uk.com/pay?ref=MT-44812 or call +44 7700 900123. Send to 221B Baker Street.",
    "陈小姐，您的验证码是 482913，请立即告诉我，您的账户涉嫌洗钱，请将资金转入安全账户。邮箱 chen.xy@example.com",
]
SECRETS = [
    "王建国",
    "李秀英",
    "wangjg_1988",
    "13812345678",
    "110101199003074514",
    "6222021234567894",
    "Margaret",
    "Thompson",
    "MT-44812",
    "7700 900123",
    "Baker Street",
    "482913",
    "chen.xy@example.com",
    "陈",
] + [str(u) for u in USERS]


async def dump_everything(url: str) -> str:
    async with database(url) as sessions, sessions() as s:
        chunks = []
        for table in Base.metadata.sorted_tables:
            for row in (await s.execute(select(table))).all():
                chunks.append(repr(tuple(row)))
        return "\n".join(chunks)


def test_no_personal_data_or_raw_id_is_stored_anywhere(db_url: str, engine: Engine) -> None:
    pseudonym = Pseudonymizer(b"test-key-0123456789abcdef")
    sealer = Sealer(b"test-key-0123456789abcdef")

    async def go() -> str:
        async with database(db_url) as sessions:
            writer = HitWriter(sessions)
            for uid in USERS:
                p = pseudonym(uid)
                for text in MESSAGES:
                    verdict = engine.check(text)
                    assert verdict.risk != "none"
                    records = hits_from_verdict(
                        verdict, user_pseudonym=p, lang="zh", chat_type="private", input_kind="text"
                    )
                    writer.record(records)
                    await add_report(
                        sessions,
                        pseudonym=p,
                        text=text,
                        rule_id=verdict.rule.id if verdict.rule else None,
                        risk=verdict.risk,
                        lang="zh",
                    )
                    await add_feedback(
                        sessions,
                        pseudonym=p,
                        hit_event_id=records[0].event_id,
                        rule_id=records[0].rule_id,
                        rule_version=records[0].rule_version,
                        vote="helpful",
                    )
                await set_preference(sessions, p, lang="zh-hans", region="CN")
                async with sessions() as s, s.begin():
                    s.add(
                        Subscription(
                            chat_pseudonym=p,
                            chat_sealed=sealer.seal(uid),
                            chat_type="private",
                            lang="zh-hans",
                            timezone="Asia/Shanghai",
                            active=True,
                            created_at=dt.datetime.now(dt.UTC),
                        )
                    )
            assert await writer.flush()
        return await dump_everything(db_url)

    dump = asyncio.run(go())
    assert "royalmail-redeliver-uk.com" in dump  # scam infrastructure is kept
    leaked = [s for s in SECRETS if s in dump]
    assert leaked == []
