"""Real Update payloads from other Bot API libraries' tests, Telegram's documentation and the
API description (see fixtures/updates/MANIFEST.md), each delivered as given to one polling bot
and to one webhook worker. For each: the answer, warning or silence the manifest expects, an
ordinary message after it still answered, and no request the emulator refuses."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from telegram import Update

from bot.emulator import BotApiEmulator
from tests.tg.conftest import TOKEN, running_bot
from tests.tg.test_webhook import worker

JSON = dict[str, Any]
UPDATES = Path(__file__).parent / "fixtures" / "updates"
FOLLOW_UP = "/help"
# How a warning begins: a private verdict of high or medium risk, a group warning, or a
# business owner's warning.
RISK = ("高风险：", "中风险：", "高風險：", "中風險：", "High risk:", "Medium risk:", "🚨 提醒：")
RISK += ("🚨 Heads up:", "🚨 一位客户", "🚨 一位客戶", "🚨 A message a customer")
MESSAGE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)
# What the bot does wrong today with a fixture (file name -> what): strict xfail.
XFAIL: dict[str, str] = {}


def manifest() -> dict[str, str]:
    """File name -> expected outcome, from the manifest's table."""
    expected = {}
    for line in (UPDATES / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 7 and cells[1].startswith("`"):
            expected[cells[1].strip("`")] = cells[6]
    return expected


EXPECTED = manifest()
NAMES = sorted(p.name for p in UPDATES.glob("*.json"))


@dataclass
class Outcome:
    outcome: str = "silence"  # warning, answer or silence
    unreadable: bool = False  # python-telegram-bot cannot build an Update from it
    skipped: bool = False  # the bot logged it as skipped, unreadable
    follow_up: bool = False  # the /help sent after it was answered
    replies: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # requests the emulator refused
    errors: list[str] = field(default_factory=list)  # ERROR log lines, emulator failures
    in_channel: bool = False  # the bot wrote in a channel
    off_topic: list[str] = field(default_factory=list)  # answers outside the message's topic

    def summary(self) -> str:
        return self.outcome + (" (unreadable)" if self.unreadable else "")


# -- moving a payload into the emulator's world ----------------------------------------------------


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), "white").save(buf, format="PNG")
    return buf.getvalue()


def readable(update: JSON) -> bool:
    try:
        Update.de_json(copy.deepcopy(update), None)
    except Exception:  # noqa: BLE001 - whatever the library trips on
        return False
    return True


def walk(value: Any) -> Iterator[JSON]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


@dataclass
class Placed:
    update: JSON
    chat_id: int | None  # the fixture's chat in the emulator
    follow_chat: JSON  # where the follow-up goes (the fixture's chat, or the person's private one)
    user: JSON
    hello: int | None  # the bot's hello in a group it was added to for this fixture
    watch: tuple[int, ...] = ()  # more chats its answer may go to (a business owner's)
    thread: int | None = None  # the forum topic the update's message is in


async def place(emu: BotApiEmulator, update: JSON) -> Placed:
    """``update`` with its chat and person replaced by ones the emulator knows (created here),
    its files by files the emulator holds, its callback query answerable."""
    update = copy.deepcopy(update)
    kind = next(k for k in update if k != "update_id")
    body = update[kind] if isinstance(update[kind], dict) else {}
    if kind == "callback_query":
        chat = (body.get("message") or {}).get("chat")
    elif kind in (*MESSAGE_KINDS, "deleted_business_messages") or "chat" in body:
        chat = body.get("chat")
    else:
        chat = None
    person = body.get("from") or body.get("user")
    human = isinstance(person, dict) and person.get("is_bot") is not True and "id" in person
    language = person.get("language_code") if human else None
    user = emu.make_user(language_code=language if isinstance(language, str) else None)
    ids: dict[int, int] = {}
    if human and isinstance(person.get("id"), int):
        ids[person["id"]] = user["id"]
    chat_id = None
    hello = None
    threads: dict[int, int] = {}  # the update's forum topics -> the emulator's
    follow_chat = emu.private_chat(user)
    if isinstance(chat, dict) and isinstance(chat.get("id"), int):
        kind_of_chat = chat.get("type")
        if kind_of_chat in ("group", "supergroup"):
            forum = chat.get("is_forum") is True
            group = emu.group_chat(title=str(chat.get("title") or "Group"), forum=forum)
            emu.add_bot_to_group(group, by=user)
            [greeting] = await emu.wait_for_messages(group["id"], count=1, timeout=60)
            hello = greeting["message_id"]
            chat_id = ids[chat["id"]] = group["id"]
            follow_chat = group
            # The forum's topics the update is in, opened in the emulator's forum (their
            # forum_topic_created messages go to the bot first; it stays silent on them).
            for obj in walk(update) if forum else ():
                old = obj.get("message_thread_id")
                if isinstance(old, int) and old not in threads:
                    threads[old] = emu.create_topic(group, user, "Topic")["message_thread_id"]
        elif kind_of_chat == "channel":
            chat_id = ids[chat["id"]] = emu.channel_chat(str(chat.get("title") or "Channel"))["id"]
        else:  # private, or a chat without a type: the person's chat with the bot
            chat_id = ids[chat["id"]] = user["id"]
    watch: tuple[int, ...] = ()
    connection = body.get("business_connection_id")
    if isinstance(connection, str) and not emu.business_connection_of(connection):
        # The business account's owner has started the bot and connected it.
        owner = emu.make_user(language_code="zh-hans")
        watch = (emu.private_chat(owner)["id"],)
        emu.connect_business(owner, connection_id=connection)
    data = png()
    files: dict[str, str] = {}
    for obj in walk(update):
        for key in ("id", "user_chat_id"):
            if isinstance(obj.get(key), int) and obj[key] in ids and not obj.get("is_bot"):
                obj[key] = ids[obj[key]]
        if isinstance(obj.get("message_thread_id"), int) and obj["message_thread_id"] in threads:
            obj["message_thread_id"] = threads[obj["message_thread_id"]]
        if isinstance(obj.get("file_id"), str):
            if obj["file_id"] not in files:
                picture = "width" in obj or str(obj.get("mime_type", "")).startswith("image/")
                files[obj["file_id"]] = emu.store_file(data if picture else b"\0" * 16)
            obj["file_id"] = files[obj["file_id"]]
    if kind == "callback_query" and isinstance(body.get("id"), str):
        emu.expect_callback(body["id"])  # as if Telegram had just delivered the press
    thread = body.get("message_thread_id") if body.get("is_topic_message") else None
    return Placed(update, chat_id, follow_chat, user, hello, watch, thread)


# -- one bot, every fixture ----------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, f"{record.name}: {record.getMessage()}"))


async def answered(emu: BotApiEmulator, chat: JSON, message: JSON, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for sent in emu.sent_messages(chat["id"]):
            if sent.get("reply_to_message", {}).get("message_id") == message["message_id"]:
                return True
        await asyncio.sleep(0.01)
    return False


async def settled(emu: BotApiEmulator, records: Records, quiet: float = 0.1) -> None:
    """Until the bot has made no request and logged nothing for ``quiet`` seconds (at most 5 s):
    updates are handled concurrently, so the follow-up's answer may come first."""
    deadline = time.monotonic() + 5
    seen = (len(emu.requests), len(records.lines))
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        now = (len(emu.requests), len(records.lines))
        if now != seen:
            seen, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return


@dataclass
class Window:
    """Where a fixture's traces begin in the emulator's and the log's lists."""

    invalid: int
    logged: int
    internal: int


def window(emu: BotApiEmulator, records: Records) -> Window:
    return Window(len(emu.invalid_requests), len(records.lines), len(emu.internal_errors))


async def deliver_all(emu: BotApiEmulator) -> dict[str, Outcome]:
    """Every fixture in turn, each followed by /help; then what the bot did with each."""
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        placed: dict[str, Placed] = {}
        follow_ups: dict[str, int] = {}
        update_ids: dict[str, int] = {}
        windows: dict[str, Window] = {}
        outcomes: dict[str, Outcome] = {}
        for name in NAMES:
            p = placed[name] = await place(emu, json.loads((UPDATES / name).read_text("utf-8")))
            windows[name] = window(emu, records)
            outcomes[name] = Outcome(unreadable=not readable(p.update))
            update_ids[name] = emu.enqueue_unchecked(p.update)["update_id"]
            follow = emu.send_text(p.follow_chat, p.user, FOLLOW_UP)
            follow_ups[name] = follow["message_id"]
            outcomes[name].follow_up = await answered(emu, p.follow_chat, follow, timeout=30)
            await settled(emu, records)  # what it set off has finished: its window ends here
        await asyncio.sleep(1.5)  # forwarded messages are gathered for a moment before answers
        ends = [*list(windows.values())[1:], window(emu, records)]
        # A refused request naming a fixture's chat is that fixture's, whenever it came; any
        # other is the fixture's in whose window it came.
        chat_owner: dict[object, str] = {}
        for name, p in placed.items():
            for chat_id in (p.chat_id, p.follow_chat["id"]):
                if chat_id is not None:
                    chat_owner[chat_id] = chat_owner[str(chat_id)] = name
        for (name, begin), end in zip(windows.items(), ends, strict=True):
            o, p = outcomes[name], placed[name]
            for i, q in enumerate(emu.invalid_requests):
                in_window = begin.invalid <= i < end.invalid
                if chat_owner.get(q.params.get("chat_id"), name if in_window else None) == name:
                    o.invalid.append(f"{q.method}: {q.description}")
            lines = records.lines[begin.logged : end.logged]
            o.errors = [line for level, line in lines if level >= logging.ERROR]
            o.errors += emu.internal_errors[begin.internal : end.internal]
            skipped = f"update {update_ids[name]} skipped: it cannot be read"
            o.skipped = any(skipped in line for _, line in lines)
            chats = {p.follow_chat["id"], *p.watch} | (
                {p.chat_id} if p.chat_id is not None else set()
            )
            for chat_id in chats:
                for sent in emu.sent_messages(chat_id):
                    replied = sent.get("reply_to_message", {}).get("message_id")
                    if sent["message_id"] == p.hello or (
                        chat_id == p.follow_chat["id"] and replied == follow_ups[name]
                    ):
                        continue  # the hello in a new group, the answer to /help
                    o.replies.append(sent.get("text") or sent.get("caption") or "")
                    o.in_channel |= sent["chat"]["type"] == "channel"
                    if chat_id == p.chat_id and sent.get("message_thread_id") != p.thread:
                        o.off_topic.append(sent.get("text") or "")
            if any(word in text for text in o.replies for word in RISK):
                o.outcome = "warning"
            elif o.replies:
                o.outcome = "answer"
        return outcomes
    finally:
        logging.getLogger().removeHandler(records)


async def run_polling(tmp_path: Path) -> dict[str, Outcome]:
    # Refused requests are checked per fixture here, not all at once at the end.
    async with running_bot(tmp_path, strict=False) as r:
        return await deliver_all(r.emu)


async def run_webhook(tmp_path: Path) -> dict[str, Outcome]:
    emu = BotApiEmulator(token=TOKEN, bot_username="sentinel_test_bot")
    await emu.start()
    try:
        async with worker(tmp_path, emu):
            return await deliver_all(emu)
    finally:
        await emu.stop()


MODES = ("polling", "webhook")
_RESULTS: dict[str, dict[str, Outcome]] = {}


def outcomes_of(mode: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    if mode not in _RESULTS:
        run = run_polling if mode == "polling" else run_webhook
        started = time.monotonic()
        _RESULTS[mode] = asyncio.run(run(tmp_path_factory.mktemp(mode)))
        table = "\n".join(
            f"  {name:<48} {o.summary():<22} follow-up={'ok' if o.follow_up else 'NO'} "
            f"{[r[:40] for r in o.replies]} {o.invalid} {o.errors}"
            for name, o in _RESULTS[mode].items()
        )
        print(f"\n{mode}: {len(NAMES)} fixtures in {time.monotonic() - started:.1f} s\n{table}")
    return _RESULTS[mode]


def test_every_fixture_is_in_the_manifest() -> None:
    assert sorted(EXPECTED) == NAMES
    assert 60 <= len(NAMES) <= 99


@pytest.mark.parametrize(
    "mode",
    # All fixtures of one mode go through one bot: in one test worker (make test spreads the
    # suite over several), so that bot runs once.
    [pytest.param(m, marks=pytest.mark.xdist_group(f"real-updates-{m}")) for m in MODES],
)
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=XFAIL[n])) if n in XFAIL else n
        for n in NAMES
    ],
)
def test_real_update(name: str, mode: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    o = outcomes_of(mode, tmp_path_factory)[name]
    assert o.follow_up, "the /help after it was not answered"
    assert o.invalid == [], "requests the emulator refused"
    assert o.errors == [], "errors logged while it was handled"
    assert not o.in_channel, "the bot wrote in a channel"
    assert o.off_topic == [], "answers outside the forum topic of the message"
    assert o.skipped == o.unreadable, "an unreadable update must be skipped, and only that"
    assert o.summary() == EXPECTED[name], o.replies
