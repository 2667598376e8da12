"""Every Telegram handler, and ``register``: the one place they are attached, in order.

Owns: what happens for each kind of update — commands, private messages (text, captions,
hidden links, photos, image documents, forwarded batches), group messages, button presses,
bad input — and the promise that a person always gets an answer. Business logic lives below
(engine, storage); rendering in ``render``; strings in ``i18n``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import re
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from html import escape
from typing import Any, Literal

from telegram import (
    Bot,
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberOwner,
    Document,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    PhotoSize,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BusinessConnectionHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.digest.build import build_digest
from bot.engine import Carried, Verdict
from bot.engine.victim import ACTS, SelfReport, read_self_report
from bot.metrics import CHECK_SECONDS, CHECKS
from bot.privacy import redact
from bot.storage import hits_from_verdict
from bot.storage.hits import ChatType as ChatKind
from bot.storage.hits import HitRecord, InputKind
from bot.storage.moderation import Answered, add_answered_report, answered_by_hit
from bot.storage.queries import (
    add_feedback,
    forget,
    get_chat_mode,
    get_preference,
    my_data,
    set_chat_mode,
    set_preference,
    subscribe,
    unsubscribe,
)
from bot.tg import moderation as mod
from bot.tg.deps import PREFETCHED, Deps, deps_of
from bot.tg.i18n import (
    LANG_LABELS,
    LANGS,
    WEEKDAYS,
    Lang,
    language_for,
    language_of_text,
    region_for,
    region_name,
    t,
)
from bot.tg.media import ImageError, TooManyPixels, cap
from bot.tg.pacing import FloodKind, within
from bot.tg.removed import RemovedPost
from bot.tg.render import (
    Button,
    Reply,
    confirm_buttons,
    feedback_buttons,
    render_business_warning,
    render_family_card,
    render_group_warning,
    render_removed_notice,
    render_verdict,
    verdict_buttons,
)
from bot.tg.sending import HANDLER_FAILED, HIT_SINK, send_digest, with_retries
from bot.tg.talk import DB_READ_TIMEOUT, Person, keyboard, person, reply, saved_person

log = logging.getLogger(__name__)
Ctx = ContextTypes.DEFAULT_TYPE

DB_WRITE_TIMEOUT = 2.0
# A group message warned about is not warned about again for two days (edits included).
WARNED_SECONDS = 2 * 24 * 3600
# A group in "delete" mode where the bot may not delete is told so once in this long (and
# again once it could delete and then could not, or an admin chooses the mode again).
NODELETE_SECONDS = 30 * 24 * 3600
# What /sentinel can be set to (see ``cmd_sentinel``).
GROUP_MODES = ("on", "quiet", "delete", "off")
# Telegram's @GroupAnonymousBot: the sender of what a group's anonymous admin does there.
ANONYMOUS_ADMIN_ID = 1087968824


# --- sending, reliably -----------------------------------------------------------------------


def store_hits(deps: Deps, records: list[HitRecord]) -> None:
    """Queue hits for writing; a webhook worker writes them with the update's answered mark."""
    sink = HIT_SINK.get()
    if sink is not None:
        sink.extend(records)
    else:
        deps.writer.record(records)


async def run_check_continuing(
    deps: Deps, text: str | list[str], links: tuple[str, ...], carried: Carried | None
) -> tuple[Verdict, Carried]:
    """The next message of a conversation checked with what its earlier messages showed."""
    (verdict, carry), seconds = await deps.checks.run(
        deps.engine().check_continuing, text, links, carried
    )
    observe_check(verdict, seconds)
    return verdict, carry


def observe_check(verdict: Verdict, seconds: float) -> None:
    CHECK_SECONDS.observe(seconds)
    CHECKS.labels(verdict.risk, verdict.rule.family if verdict.rule else "none").inc()


async def run_check(deps: Deps, texts: str | list[str], links: tuple[str, ...]) -> Verdict:
    """The engine's check, in the checking thread: the event loop answers others meanwhile."""
    verdict, seconds = await deps.checks.run(deps.engine().check, texts, links)
    observe_check(verdict, seconds)
    return verdict


async def check_and_store(
    deps: Deps,
    text: str,
    links: tuple[str, ...],
    *,
    user_key: str,
    lang: str,
    chat_type: ChatKind,
) -> tuple[Verdict, list[HitRecord]]:
    """Check one message (not a private conversation) and queue the facts of its hit."""
    verdict = await run_check(deps, text, links)
    records = hits_from_verdict(
        verdict,
        user_pseudonym=user_key,
        lang=lang,
        chat_type=chat_type,
        input_kind=kind_of(text, links),
    )
    store_hits(deps, records)
    return verdict, records


# After JSON decoding, a surrogate left in a string has no partner (pairs become one character):
# no encoding can carry it, so a reply quoting it could not be sent.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as the engine and the reply may use it: lone surrogates dropped."""
    return text if text.isascii() else _LONE_SURROGATE.sub("", text)


def user_text(message: Message) -> str:
    """The text or caption of a message as the engine and the reply may use it."""
    return clean_text(message.text or message.caption or "")


# --- who is asking ---------------------------------------------------------------------------


def hotline(deps: Deps, region: str) -> str | None:
    return deps.settings.hotlines.get(region) or deps.settings.hotlines.get("CN")


# --- pre-filter: flood control ---------------------------------------------------------------


def poster_id(update: Update) -> int:
    """Who posted: the signing chat of a post signed by one (every anonymous admin of every
    group shares one "from" account, so that account would lump them all together), else
    the user."""
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id
    assert update.effective_user is not None
    return update.effective_user.id


async def flood_guard(update: Update, context: Ctx) -> None:
    """Runs before every other handler (group -1). Slows a person who floods the bot: messages,
    forwarded messages, button presses and edits in groups, each with its own allowance, counted
    across all workers (see ``SharedPacing``)."""
    deps = deps_of(context)
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    kind: FloodKind
    if update.callback_query is not None:
        kind = "button"
    elif chat.type != ChatType.PRIVATE:
        if update.edited_message is not None:
            kind = "edit"  # "post, then edit in the scam link", a thousand times over
        elif update.message is not None and asks_in_group(update.message):
            kind = "message"  # our commands and "@bot" get an answer each: counted as messages
        else:
            return  # a group's own messages: Telegram limits how fast people post
    elif update.message is None:
        return
    elif update.message.media_group_id is not None and not await deps.pacing.once(
        "album_counted",
        deps.pseudonym(user.id),
        zlib.crc32(update.message.media_group_id.encode()),
        ALBUM_SECONDS,
    ):
        # An album (up to 10 pictures) is one request: its first item counts as a message,
        # the others as shares, so a whole album is always read.
        kind = "forward"
    elif update.message.forward_origin is not None and not (
        update.message.photo or update.message.document
    ):
        # Forwarded text is checked a conversation at a time (at most
        # conversation_max_messages each), so a forwarded message costs a share of one.
        # Forwarded pictures count fully: each one costs a second of OCR.
        kind = "forward"
    else:
        kind = "message"
    verdict = await deps.pacing.flood(kind, deps.pseudonym(poster_id(update)))
    if verdict == "ok":
        return
    if verdict == "warn":
        p = await person(update, deps)
        if update.callback_query is not None:
            await update.callback_query.answer(t("flood", p.lang))
        elif update.message is not None:
            await reply(update.message, t("flood", p.lang))
    raise ApplicationHandlerStop


# --- commands --------------------------------------------------------------------------------


def lang_buttons() -> tuple[tuple[Button, ...], ...]:
    return (tuple(Button(LANG_LABELS[code], f"lang:{code}") for code in LANGS),)


async def cmd_start(update: Update, context: Ctx) -> None:
    deps = deps_of(context)
    p = await person(update, deps)
    assert update.message is not None
    text = t("start", p.lang)
    number = hotline(deps, p.region)
    if number:
        # The region is offered from the Telegram language; /region changes it.
        name = region_name(p.region, p.lang)
        text += "\n\n" + t("start_region", p.lang, region=name, number=escape(number))
    await reply(update.message, text, lang_buttons())


async def cmd_start_group(update: Update, context: Ctx) -> None:
    """/start in a group: what the bot does there and how admins set it."""
    p = await person(update, deps_of(context))
    assert update.message is not None
    await reply(update.message, t("group_added", p.lang))


async def cmd_sentinel_private(update: Update, context: Ctx) -> None:
    """/sentinel in a private chat: it is a group setting; say where it works."""
    p = await person(update, deps_of(context))
    assert update.message is not None
    await reply(update.message, t("sentinel_in_private", p.lang))


async def cmd_help(update: Update, context: Ctx) -> None:
    deps = deps_of(context)
    p = await person(update, deps)
    assert update.message is not None and update.effective_user is not None
    text = t("help", p.lang)
    if update.message.chat.type == ChatType.PRIVATE:
        try:
            moderator = await within(
                mod.is_mod(deps, update.effective_user.id, p.pseudonym), DB_READ_TIMEOUT
            )
        except Exception:  # noqa: BLE001 - without the database, the ordinary help
            moderator = False
        if moderator:
            text += "\n\n" + mod.moderator_help(p.lang)
    await reply(update.message, text)


async def cmd_privacy(update: Update, context: Ctx) -> None:
    p = await person(update, deps_of(context))
    assert update.message is not None
    await reply(update.message, t("privacy", p.lang))


async def cmd_lang(update: Update, context: Ctx) -> None:
    p = await person(update, deps_of(context))
    assert update.message is not None
    await reply(update.message, t("lang_prompt", p.lang), lang_buttons())


def region_buttons(deps: Deps, lang: Lang) -> tuple[tuple[Button, ...], ...]:
    """One button per region with a hotline in the settings, two to a row."""
    codes = list(deps.settings.hotlines)
    buttons = [Button(region_name(code, lang), f"rg:{code}") for code in codes]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


async def saved_region(deps: Deps, p: Person) -> str | None:
    """The region this person chose with /region, if any (None also when the database is
    away: the language's region is the fallback)."""
    try:
        pref = await within(get_preference(deps.sessions, p.pseudonym), DB_READ_TIMEOUT)
    except Exception:  # noqa: BLE001 - a choice of language must not wait for it
        return None
    return pref.region if pref is not None and pref.region in deps.settings.hotlines else None


async def cmd_region(update: Update, context: Ctx) -> None:
    """/region: choose the region whose anti-fraud line and police advice to give."""
    deps = deps_of(context)
    p = await person(update, deps)
    assert update.message is not None
    now = region_name(p.region, p.lang)
    await reply(
        update.message, t("region_prompt", p.lang, region=now), region_buttons(deps, p.lang)
    )


async def cmd_mydata(update: Update, context: Ctx) -> None:
    deps = deps_of(context)
    p = await person(update, deps)
    assert update.message is not None
    await deps.writer.flush()  # hits still waiting count as stored
    data = await my_data(deps.sessions, p.pseudonym)
    counts = data["counts"]
    language = (
        LANG_LABELS.get(data["language"], t("none_set", p.lang))
        if data["language"]
        else t("none_set", p.lang)
    )
    await reply(
        update.message,
        t(
            "mydata",
            p.lang,
            hits=counts["hits"],
            feedback=counts["feedback"],
            reports=counts["reports"],
            audit=counts["audit_log"],
            language=language,
        ),
    )


async def cmd_forget(update: Update, context: Ctx) -> None:
    """Ask first: deleting cannot be undone."""
    p = await person(update, deps_of(context))
    assert update.message is not None
    buttons = (
        (Button(t("btn_forget", p.lang), "fg:yes"), Button(t("btn_cancel", p.lang), "fg:no")),
    )
    await reply(update.message, t("forget_confirm", p.lang), buttons)


async def forget_person(deps: Deps, p: Person, message: Message | None) -> int | None:
    """Delete everything kept about ``p`` (confirmed with the button of /forget) and say so in
    reply to ``message``; returns how many records went, or None when it failed."""
    deps.gather.drop(p.pseudonym)
    for key in [key for key in deps.albums if key[0] == p.pseudonym]:
        deps.albums.pop(key).dropped = True  # an album being collected: no answer, no text
    deps.pacing.forget(p.pseudonym)
    waiting = await deps.writer.discard(p.pseudonym)
    try:
        deleted = await forget(deps.sessions, p.pseudonym)
    except Exception as exc:  # noqa: BLE001 - say it did not happen, so they can try again
        log.warning("forget failed: %s", type(exc).__name__)
        if message is not None:
            await reply(message, t("report_failed", p.lang))
        return None
    deps.prefs.drop(p.pseudonym)
    total = sum(deleted.values()) + waiting
    if message is not None:
        await reply(message, t("forget_done", p.lang, total=total))
    return total


async def cmd_digest(update: Update, context: Ctx) -> None:
    """This week's digest now: the chart with the text (or the text, then the chart)."""
    deps = deps_of(context)
    p = await person(update, deps)
    message = update.message
    assert message is not None
    await deps.writer.flush()
    digest = await build_digest(deps.sessions, deps.settings.digest, p.lang, deps.engine())
    await send_digest(message.get_bot(), message.chat_id, digest)


async def is_group_admin(message: Message, user_id: int) -> bool:
    """Whether ``user_id`` is an admin of the message's group. A message signed by the group
    itself was sent by one of its anonymous admins (only they can post so)."""
    if message.sender_chat is not None and message.sender_chat.id == message.chat_id:
        return True
    member = await with_retries(
        lambda: message.get_bot().get_chat_member(message.chat_id, user_id), "getChatMember"
    )
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def cmd_subscribe(update: Update, context: Ctx) -> None:
    await subscription(update, context, on=True)


async def cmd_unsubscribe(update: Update, context: Ctx) -> None:
    await subscription(update, context, on=False)


async def subscription(update: Update, context: Ctx, *, on: bool) -> None:
    """Weekly digest for this chat; in groups only admins may subscribe or unsubscribe."""
    deps = deps_of(context)
    p = await person(update, deps)
    message = update.message
    assert message is not None and update.effective_user is not None
    if message.chat.type != ChatType.PRIVATE and not await is_group_admin(
        message, update.effective_user.id
    ):
        await reply(message, t("admins_only", p.lang))
        return
    chat_key = deps.pseudonym(message.chat_id)
    try:
        if not on:
            await unsubscribe(deps.sessions, chat_key)
            await reply(message, t("unsubscribed", p.lang))
            return
        await subscribe(
            deps.sessions,
            chat_pseudonym=chat_key,
            chat_sealed=deps.sealer.seal(message.chat_id),
            chat_type=message.chat.type,
            lang=p.lang,
            timezone=deps.settings.digest.timezone,
        )
    except Exception as exc:  # noqa: BLE001 - tell them it did not take effect
        log.warning("subscription not stored: %s", type(exc).__name__)
        await reply(message, t("report_failed", p.lang))
        return
    await reply(
        message,
        t(
            "subscribed",
            p.lang,
            day=WEEKDAYS[p.lang][deps.settings.digest.weekday - 1],
            time=deps.settings.digest.time,
            zone=deps.settings.digest.timezone,
        ),
    )


async def cmd_sentinel(update: Update, context: Ctx) -> None:
    """Group admins: /sentinel on | quiet | delete | off; /sentinel alone explains them."""
    deps = deps_of(context)
    p = await person(update, deps)
    message = update.message
    assert message is not None and update.effective_user is not None
    args = [a.lower() for a in context.args or []]
    chat_key = deps.pseudonym(message.chat_id)
    if len(args) != 1 or args[0] not in GROUP_MODES:
        modes = "\n".join(f"• <b>{m}</b> — {t(f'mode_{m}', p.lang)}" for m in GROUP_MODES)
        now = await group_mode(deps, chat_key)
        await reply(message, t("sentinel_modes", p.lang, modes=modes, mode=now))
        return
    choice = args[0]
    if not await is_group_admin(message, update.effective_user.id):
        await reply(message, t("admins_only", p.lang))
        return
    try:
        await set_chat_mode(deps.sessions, chat_key, choice)
    except Exception as exc:  # noqa: BLE001 - tell the admin it did not take effect
        log.warning("group mode not stored: %s", type(exc).__name__)
        await reply(message, t("report_failed", p.lang))
        return
    deps.group_modes.put(chat_key, choice)
    text = t("group_mode", p.lang, mode=choice, what=t(f"mode_{choice}", p.lang))
    if choice == "delete":
        # Said here, now, rather than on the first scam post: a post then only replies.
        await deps.pacing.release("nodelete", chat_key, 0)
        if not await bot_may_delete(message.get_bot(), message):
            text += "\n\n" + t("cannot_delete_yet", p.lang)
            await deps.pacing.once("nodelete", chat_key, 0, NODELETE_SECONDS)
    await reply(message, text)


async def group_mode(deps: Deps, chat_key: str) -> str:
    """The group's mode: what the webhook claim prefetched, the cache, or the database (the
    default when nothing is saved or the database is slow)."""
    default = deps.settings.telegram.group_default_mode
    pre = PREFETCHED.get()
    if pre is not None and pre.chat == chat_key:
        return pre.mode or default
    mode = deps.group_modes.get(chat_key) if deps.local_caches else None
    if mode is not None:
        return mode
    try:
        stored = await within(get_chat_mode(deps.sessions, chat_key), DB_READ_TIMEOUT)
    except Exception:  # noqa: BLE001 - without the database, use the default (uncached)
        return default
    mode = stored or default
    if deps.local_caches:
        deps.group_modes.put(chat_key, mode)
    return mode


# --- private messages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One message of a (possibly forwarded) batch, ready to check."""

    message: Message
    text: str
    links: tuple[str, ...]
    kind: InputKind
    person: Person  # who sent it, with the language to answer in
    pointed: bool = False  # the text is of the message this one replied to or quoted


def hidden_links(message: Message) -> tuple[str, ...]:
    entities = list(message.entities or ()) + list(message.caption_entities or ())
    return tuple(e.url for e in entities if e.type == MessageEntity.TEXT_LINK and e.url)


def kind_of(text: str, links: tuple[str, ...]) -> InputKind:
    stripped = text.strip()
    if links or (stripped and " " not in stripped and "." in stripped and len(stripped) < 300):
        return "link"
    return "text"


# "Is this a scam?" and its kin, written in reply to a suspicious message: short, a question.
_ASKS_RE = re.compile(
    r"诈骗|詐騙|骗子|騙子|骗局|騙局|是骗|是騙|被骗|被騙|真的吗|真的嗎|真假|可信|靠谱|靠譜|可靠吗|可靠嗎|"
    r"正规|正規|安全吗|安全嗎|能信|\bscam|\bfraud|\blegit|\bfake\b|\bphishing|\bgenuine\b|"
    r"\bsafe\?|\breal\?|\btrust",
    re.IGNORECASE,
)
MAX_ASK_CHARS = 80


def mentions_bot(text: str, bot_username: str | None) -> bool:
    """Whether ``text`` mentions the bot (@its_username)."""
    if not bot_username:
        return False
    return f"@{bot_username.lower()}" in text.lower()


def asks_to_check(text: str, bot_username: str | None) -> bool:
    """Whether a reply asks the bot about the message it replies to: /check, a mention of
    the bot, or a short question such as "这是诈骗吗？" / "is this a scam?"."""
    s = text.strip().lower()
    if s.startswith("/check") or mentions_bot(s, bot_username):
        return True
    return 0 < len(s) <= MAX_ASK_CHARS and _ASKS_RE.search(s) is not None


# The commands the bot answers in groups (see ``register``).
GROUP_COMMANDS = frozenset(
    {"check", "help", "start", "digest", "sentinel", "subscribe", "unsubscribe"}
)


def our_command(message: Message) -> str | None:
    """The command of a message, when it is one of ours ("/check" or "/check@thisbot", not a
    command for another bot in the group)."""
    text = user_text(message)
    if not text.startswith("/"):
        return None
    name, _, addressee = text.split(maxsplit=1)[0][1:].partition("@")
    username = message.get_bot().username or ""
    if addressee and addressee.lower() != username.lower():
        return None
    return name.lower()


def asks_in_group(message: Message) -> bool:
    """A group message that asks the bot for an answer: one of its commands, or a mention."""
    return our_command(message) in GROUP_COMMANDS or mentions_bot(
        user_text(message), message.get_bot().username
    )


def pointed_at(message: Message, bot_id: int) -> tuple[str, tuple[str, ...]]:
    """The text (and hidden links) of what ``message`` points at: the part it quotes, else
    the message it replies to, unless that is the bot's own. Empty when it points at nothing
    readable (a reply to a message in another chat carries only its quoted part)."""
    if message.quote is not None and message.quote.text:
        return clean_text(message.quote.text), ()
    target = message.reply_to_message
    if target is None or (target.from_user is not None and target.from_user.id == bot_id):
        return "", ()
    return user_text(target), hidden_links(target)


async def on_private_message(update: Update, context: Ctx) -> None:
    deps = deps_of(context)
    message = update.message
    if message is None or update.effective_user is None:
        return
    # An album comes as one message per picture: its items are gathered like a forwarded
    # conversation, so the album gets one check and one reply.
    if message.forward_origin is None and message.media_group_id is None:
        pointed = await pointed_piece(deps, update, message)
        piece = pointed or await read_message(deps, update, message)
        if piece is not None:
            await check_and_answer(deps, piece.person, [piece])
        return
    if deps.pacing.shared and message.media_group_id is not None:
        await album_item(deps, update, message)  # webhook mode, an album: one answer for all
        return
    if deps.pacing.shared:
        # Webhook mode: Telegram sends this chat's next update only after this one is
        # answered, so waiting to gather a burst would gather nothing. Answer now; the next
        # message of the same burst continues from what this one showed.
        piece = await read_message(deps, update, message)
        if piece is not None:
            await answer_continuing(deps, piece)
        return
    # Forwarded messages usually come in a burst: check them together. The place in the
    # conversation is taken before anything is awaited, so a message whose preparation is
    # slow (a screenshot under OCR, a slow database read) keeps its turn.
    slot = deps.gather.reserve(deps.pseudonym(update.effective_user.id))
    piece = None
    try:
        piece = await read_message(deps, update, message)
    finally:
        deps.gather.fill(slot, piece)
    # The update counts as handled once its conversation has been answered (see webhook).
    await deps.gather.answered(slot)


async def pointed_piece(deps: Deps, update: Update, message: Message) -> Piece | None:
    """A reply or quote that asks "is this a scam?" about what it points at: that is what to
    check (None when the message is not such a question, or points at nothing readable)."""
    if not asks_to_check(user_text(message), message.get_bot().username):
        return None
    text, links = pointed_at(message, message.get_bot().id)
    if not text.strip() and not links:
        return None
    p = await person(update, deps)
    text = cap(text, deps.settings.engine.max_text_chars)
    return Piece(message, text, links, kind_of(text, links), p, pointed=True)


async def cmd_check(update: Update, context: Ctx) -> None:
    """/check, sent in reply to a message (private chats and groups): check that message."""
    deps = deps_of(context)
    message = update.message
    if message is None or update.effective_user is None:
        return
    piece = await pointed_piece(deps, update, message)
    if piece is None:
        p = await person(update, deps)
        await reply(message, t("check_usage", p.lang))
        return
    if message.chat.type == ChatType.PRIVATE:
        await check_and_answer(deps, piece.person, [piece])
        return
    # In a group the answer is for everyone there: only the Details button, which anyone may
    # press (it shows the rule's explanation of a post the group already sees); feedback,
    # report and the family card answer one person's own check.
    p = piece.person
    verdict, carry = await run_check_continuing(deps, piece.text, piece.links, None)
    records = hits_from_verdict(
        verdict,
        user_pseudonym=p.pseudonym,
        lang=p.lang,
        chat_type="group",
        input_kind=kind_of(piece.text, piece.links),
    )
    store_hits(deps, records)
    ref = records[0].event_id
    rendered = render_verdict(
        verdict,
        p.lang,
        p.region,
        hotline(deps, p.region),
        ref,
        checked=t("checked_reply", p.lang),
        group=True,
    )
    await keep_view(deps, ref, verdict, carry, p, checked=True)
    await reply(message, rendered.html, rendered.buttons)


# Telegram sends an album's items within a second or two; a refusal covers them this long.
ALBUM_SECONDS = 600.0


def _is_image(message: Message) -> bool:
    return message.document is not None and (message.document.mime_type or "").startswith("image/")


async def read_message(deps: Deps, update: Update, message: Message) -> Piece | None:
    """What to check in one private message, or None after a specific answer about why it
    cannot be checked (a sticker, a voice note, a file that is not an image, too long...)."""
    p = await person(update, deps)
    limit = deps.settings.engine.max_text_chars
    if message.media_group_id is not None and not (message.photo or _is_image(message)):
        # An album of files that cannot be checked (audio, PDFs): one refusal for the album.
        album = zlib.crc32(message.media_group_id.encode())
        if not await deps.pacing.once("album_refused", p.pseudonym, album, ALBUM_SECONDS):
            return None
    if message.sticker is not None:
        await reply(message, t("sticker", p.lang))
        return None
    if message.voice or message.audio or message.video_note or message.video:
        await reply(message, t("voice", p.lang))
        return None
    text = user_text(message)
    links = hidden_links(message)
    image_file: PhotoSize | Document | None = None
    if message.photo:
        image_file = message.photo[-1]
    elif message.document is not None:
        if not _is_image(message):
            await reply(message, t("not_image", p.lang))
            return None
        image_file = message.document
    elif not message.text and not message.caption:
        await reply(message, t("unsupported", p.lang))
        return None
    if len(text) > limit:
        await reply(message, t("too_long", p.lang, limit=limit))
        return None
    return await prepare(deps, p, message, text, links, image_file)


async def prepare(
    deps: Deps,
    p: Person,
    message: Message,
    text: str,
    links: tuple[str, ...],
    image_file: PhotoSize | Document | None,
) -> Piece | None:
    """The text to check for one message (OCR and QR for images), or None after telling the
    person what was wrong with it."""
    if image_file is None:
        if not text.strip() or not any(ch.isalnum() for ch in text):
            await reply(message, t("empty", p.lang))
            return None
        return Piece(message, text, links, kind_of(text, links), p)
    max_bytes = deps.settings.telegram.max_image_mb * 1024 * 1024
    too_large = t("image_too_large", p.lang, mb=deps.settings.telegram.max_image_mb)
    if (image_file.file_size or 0) > max_bytes:
        await reply(message, too_large)
        return None
    try:
        file = await with_retries(lambda: image_file.get_file(), "getFile")
        data = bytes(await file.download_as_bytearray())
        if len(data) > max_bytes:
            await reply(message, too_large)
            return None
        read = await deps.images.read(data)
    except TooManyPixels:
        mp = deps.settings.telegram.max_image_megapixels
        await reply(message, t("image_too_many_pixels", p.lang, mp=f"{mp:g}"))
        return None
    except ImageError:
        await reply(message, t("bad_image", p.lang))
        return None
    image_text = cap(
        "\n".join(x for x in (text, read.text, *read.qr) if x), deps.settings.engine.max_text_chars
    )
    if not image_text.strip():
        await reply(message, t("no_text_in_image", p.lang))
        return None
    return Piece(message, image_text, links + read.links, "qr" if read.qr else "photo", p)


async def check_and_answer(deps: Deps, p: Person, pieces: list[Piece]) -> None:
    """Check one message or a forwarded batch together, store the facts, answer once."""
    pieces = pieces[-deps.settings.engine.conversation_max_messages :]
    # A conversation is checked as a whole up to the length of one message: the latest pieces.
    room = deps.settings.engine.max_text_chars
    kept = 0
    while kept < len(pieces) and (kept == 0 or len(pieces[-kept - 1].text) <= room):
        room -= len(pieces[-kept - 1].text)
        kept += 1
    pieces = pieces[-kept:]
    links = tuple(link for piece in pieces for link in piece.links)
    last = pieces[-1]
    # Only a person's own words say what they did: a forwarded scammer writes "I have paid".
    own_words = (
        len(pieces) == 1
        and not last.pointed
        and last.kind == "text"
        and last.message.forward_origin is None
    )
    report = read_self_report(last.text) if own_words else None
    asks = report is not None and (report.victim or report.follow_up)
    earlier, earlier_rule = await recall_last_check(deps, p)
    (verdict, carry, continued), seconds = await deps.checks.run(
        functools.partial(deps.engine().check_follow_on, asks=asks),
        [piece.text for piece in pieces],
        links,
        earlier,
        earlier_rule,
    )
    observe_check(verdict, seconds)
    await keep_last_check(deps, p, verdict, carry)
    kind: InputKind = "qr" if any(pc.kind == "qr" for pc in pieces) else last.kind
    checked = t("checked_reply", p.lang) if last.pointed else None
    await answer_verdict(
        deps,
        p,
        last.message,
        verdict,
        kind,
        carry,
        checked=checked,
        report=report,
        continued=continued,
    )


def carried_state(carry: Carried) -> dict[str, Any]:
    """What a check carried, as JSON for shared state (rule ids and clue names, no text)."""
    return {
        "signals": sorted(carry.signals),
        "langs": sorted(carry.langs),
        "messages": carry.messages,
    }


def carried_of(held: dict[str, Any]) -> Carried:
    """The ``Carried`` kept by ``carried_state``, read back."""
    return Carried(
        frozenset((str(r), str(n)) for r, n in held.get("signals", ())),
        frozenset(str(x) for x in held.get("langs", ())),
        int(held.get("messages", 0)),
    )


async def recall_last_check(deps: Deps, p: Person) -> tuple[Carried | None, str | None]:
    """What the person's previous check found (rule id and clue names), if recent enough."""
    if deps.settings.telegram.follow_up_seconds <= 0:
        return None, None
    held = await deps.pacing.recall("last_check", p.pseudonym)
    if not isinstance(held, dict) or not isinstance(held.get("rule"), str):
        return None, None
    return carried_of(held), held["rule"]


async def keep_last_check(deps: Deps, p: Person, verdict: Verdict, carry: Carried) -> None:
    """Remember, for a few minutes, which rule a check pointed at and the clues it found (no
    text), so a follow-up question or the next screenshot can continue it. A check that
    matched nothing leaves the previous one in place."""
    ttl = deps.settings.telegram.follow_up_seconds
    if ttl <= 0 or verdict.rule is None or verdict.risk == "none":
        return
    state = {"rule": verdict.rule.id, **carried_state(carry)}
    await deps.pacing.keep("last_check", p.pseudonym, state, ttl)


# The views of a reply (short, details, family card) can be asked for this long after it.
VIEW_SECONDS = 24 * 3600.0


async def keep_view(
    deps: Deps,
    ref: str,
    verdict: Verdict,
    carry: Carried,
    p: Person,
    *,
    checked: bool = False,
    report: SelfReport | None = None,
    continued: bool = False,
) -> None:
    """Keep, under the reply's reference, what its other views are derived from: the rule id,
    the risk, that rule's clue names, the reply's language and region and how it began. No
    text and no person: a button under the reply re-derives the view (see ``view_verdict``),
    and anyone in a group may press it."""
    if verdict.rule is None or verdict.risk == "none":
        return
    rule_id = verdict.rule.id
    state = {
        "rule": rule_id,
        "risk": verdict.risk,
        **carried_state(
            Carried(frozenset(s for s in carry.signals if s[0] == rule_id), carry.langs, 1)
        ),
        "lang": p.lang,
        "region": p.region,
        "checked": checked,
        "acts": list(report.acts) if report is not None else [],
        "continued": continued,
    }
    await deps.pacing.keep("view", ref, state, VIEW_SECONDS)


async def view_verdict(
    deps: Deps, state: dict[str, Any], original: Message | None
) -> Verdict | None:
    """The verdict a reply showed, re-derived from what ``keep_view`` kept. The words are
    quoted from ``original``, the message the reply answers, when Telegram shows it with the
    button press (the bot keeps none); without it the clues' own descriptions stand in. None
    when the rule no longer gives that verdict (disabled or changed since)."""
    carried = carried_of(state)
    engine = deps.engine()
    tries: list[tuple[str, tuple[str, ...]]] = [("", ())]
    if original is not None and not state.get("checked"):
        words = (user_text(original), hidden_links(original))
        if words[0].strip() or words[1]:  # a picture's words were read from it, not kept
            tries.insert(0, words)
    for text, links in tries:
        (verdict, _), _ = await deps.checks.run(engine.check_continuing, text, links, carried)
        if verdict.rule is not None and verdict.rule.id == state.get("rule"):
            return replace(verdict, risk=state.get("risk", verdict.risk))
    return None


def shown_view(message: Message) -> bool | None:
    """Which view a reply shows, read from its buttons: True for the details, False for the
    short view, None for a reply without the toggle (nothing matched)."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for b in row:
            data = b.callback_data if isinstance(b.callback_data, str) else ""
            if data.startswith("dt:"):
                return data.startswith("dt:s:")
    return None


def report_done(message: Message) -> bool:
    markup = message.reply_markup
    return not any(
        isinstance(b.callback_data, str) and b.callback_data.startswith("rp:")
        for row in (markup.inline_keyboard if markup is not None else ())
        for b in row
    )


async def on_view_button(
    deps: Deps, query: CallbackQuery, p: Person, message: Message | None
) -> None:
    """ "Details", back to the short view (both edit the reply in place) and the family card
    (a separate short message to forward). A press on a reply whose state expired, or whose
    rule changed since, gets a polite answer."""
    kind, _, ref = (query.data or "").partition(":")
    view = None
    if kind == "dt":
        view, _, ref = ref.partition(":")
    state = await deps.pacing.recall("view", ref)
    original = message.reply_to_message if message is not None else None
    verdict = (
        await view_verdict(deps, state, original)
        if isinstance(state, dict) and message is not None
        else None
    )
    if verdict is None or message is None or not isinstance(state, dict):
        await query.answer(t("view_expired", p.lang)[:200])
        return
    private = message.chat.type == ChatType.PRIVATE
    if kind == "fm":
        if not private:
            await query.answer(t("view_expired", p.lang)[:200])
            return
        card = render_family_card(verdict, p.lang, p.region, hotline(deps, p.region))
        # Not a reply: forwarded, it carries nothing of the message checked.
        await with_retries(
            lambda: message.get_bot().send_message(
                chat_id=message.chat_id,
                text=card,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
            "sendMessage",
        )
        await query.answer(t("family_sent", p.lang)[:200])
        return
    lang: Lang = state["lang"] if state.get("lang") in LANGS else p.lang
    region = str(state.get("region") or p.region)
    acts = tuple(a for a in state.get("acts", ()) if a in ACTS)
    details = view == "d"
    rendered = render_verdict(
        verdict,
        lang,
        region,
        hotline(deps, region),
        ref,
        checked=t("checked_reply", lang) if state.get("checked") else None,
        report=SelfReport(acts, False) if acts else None,
        continued=bool(state.get("continued")),
        details=details,
        group=not private,
    )
    buttons = verdict_buttons(
        lang,
        ref,
        details=details,
        report="done" if report_done(message) else "ask",
        group=not private,
    )
    await query.answer()
    try:
        await with_retries(
            lambda: message.edit_text(
                rendered.html,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
            "editMessageText",
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():  # pressed twice: it shows that view already
            raise


async def answer_verdict(
    deps: Deps,
    p: Person,
    message: Message,
    verdict: Verdict,
    kind: InputKind,
    carry: Carried,
    *,
    checked: str | None = None,
    report: SelfReport | None = None,
    continued: bool = False,
) -> Message:
    """Store the facts of a private check and send its answer as a reply to ``message``."""
    records = hits_from_verdict(
        verdict,
        user_pseudonym=p.pseudonym,
        lang=p.lang,
        chat_type="private",
        input_kind=kind,
    )
    store_hits(deps, records)
    ref = records[0].event_id
    rendered: Reply = render_verdict(
        verdict,
        p.lang,
        p.region,
        hotline(deps, p.region),
        ref,
        checked=checked,
        report=report,
        continued=continued,
    )
    await keep_view(
        deps,
        ref,
        verdict,
        carry,
        p,
        checked=checked is not None,
        report=report,
        continued=continued,
    )
    return await reply(message, rendered.html, rendered.buttons)


# A forwarded conversation's state is kept this long after its last message (webhook mode).
CONVERSATION_SECONDS = 60.0


def _answer_of(verdict: Verdict) -> list[Any]:
    """What a reply concludes: the rule, the risk and the furthest stage."""
    stage = verdict.furthest_stage.index if verdict.furthest_stage is not None else -1
    return [verdict.rule.id if verdict.rule else None, verdict.risk, stage]


async def answer_continuing(deps: Deps, piece: Piece) -> None:
    """Answer one forwarded message as part of its conversation (webhook mode).

    Messages forwarded together carry the same send date (to the second). What was concluded
    from the earlier ones (signal names, languages, the reply's id; never text) is kept in
    state shared by all workers. The first message is answered at once; a later one is answered
    only when the conclusion changes (another rule, risk or a further stage): then a new reply
    goes out and the earlier reply points to it. Otherwise the reply given stands."""
    p = piece.person
    date = piece.message.date.timestamp()
    window = deps.settings.telegram.conversation_window_seconds
    held = await deps.pacing.conversation(p.pseudonym)
    carried = None
    if (
        isinstance(held, dict)
        and abs(date - float(held.get("date", 0))) <= max(window, 1.0)
        and int(held.get("messages", 0)) < deps.settings.engine.conversation_max_messages
    ):
        carried = carried_of(held)
    else:
        held = None
    verdict, carry = await run_check_continuing(deps, piece.text, piece.links, carried)
    answer = _answer_of(verdict)
    state: dict[str, Any] = {
        **carried_state(carry),
        "date": date,
        "reply": held.get("reply") if held else None,
        "answer": held.get("answer") if held else None,
    }
    changed = held is None or held.get("answer") != answer
    earlier = state["reply"]
    if changed:
        sent = await answer_verdict(deps, p, piece.message, verdict, piece.kind, carry)
        state["reply"], state["answer"] = sent.message_id, answer
    await deps.pacing.keep_conversation(p.pseudonym, state, CONVERSATION_SECONDS)
    await keep_last_check(deps, p, verdict, carry)
    if changed and earlier is not None:
        try:
            await with_retries(
                lambda: piece.message.get_bot().edit_message_text(
                    t("conversation_moved", p.lang),
                    chat_id=piece.message.chat_id,
                    message_id=int(earlier),
                    parse_mode=ParseMode.HTML,
                ),
                "editMessageText",
            )
        except Exception as exc:  # noqa: BLE001 - the new answer went out; this is tidying
            log.warning("earlier reply not updated: %s", type(exc).__name__)


async def gathered(deps: Deps, pseudonym: str, pieces: list[Piece]) -> None:
    """Called by the gatherer when a forwarded burst is complete."""
    last = pieces[-1]
    try:
        await check_and_answer(deps, last.person, pieces)
    except Exception:
        log.exception("checking a forwarded batch failed")
        await reply(last.message, t("error", last.person.lang))


# --- albums in webhook mode ------------------------------------------------------------------
#
# Telegram sends an album's items one update each, and in webhook mode the next item of a chat
# only after the previous one was acknowledged, to any worker. So the worker that sees an
# album first claims it (a shared mark) and collects it: it acknowledges each item it gets at
# once and keeps the item's text in its own memory, and once the album has been quiet for the
# conversation window it checks the album and sends the one reply. An item that reaches
# another worker is read there (OCR) and checked alone; what it showed (rule ids and clue
# names, never text) is added to the album's shared state, and the collector's check counts
# it as if it were there, without its text (so without quotes from it). Known limit: the
# collector acknowledges before it answers, so a collector killed in those few seconds loses
# the album's reply (polling mode has the same window).

# A collector stops waiting for items that other workers are still reading after this long.
ALBUM_WAIT_SECONDS = 30.0


@dataclass
class AlbumBatch:
    """An album this worker collects: its items' pieces, in this process's memory only."""

    person: Person
    first: Message  # the reply goes to the album's first item seen
    pieces: list[Piece | None]
    reading: int = 0  # items of it this worker is still reading
    dropped: bool = False  # the person asked to /forget meanwhile


_ALBUM_TASKS: set[asyncio.Task[None]] = set()


async def album_item(deps: Deps, update: Update, message: Message) -> None:
    """One item of an album in webhook mode (see above)."""
    assert message.media_group_id is not None and update.effective_user is not None
    pseudonym = deps.pseudonym(update.effective_user.id)
    album = zlib.crc32(message.media_group_id.encode())
    batch = deps.albums.get((pseudonym, album))
    if batch is None and await deps.pacing.once("album_collect", pseudonym, album, ALBUM_SECONDS):
        batch = deps.albums[pseudonym, album] = AlbumBatch(await person(update, deps), message, [])
        # A context of its own: the answer is no part of this update's (already acknowledged).
        task = asyncio.create_task(
            collect_album(deps, pseudonym, album, batch), context=contextvars.Context()
        )
        _ALBUM_TASKS.add(task)
        task.add_done_callback(_ALBUM_TASKS.discard)
    if batch is not None:
        batch.reading += 1
        try:
            piece = await read_message(deps, update, message)
        finally:
            batch.reading -= 1
        if not batch.dropped:
            batch.pieces.append(piece)
        return
    # Another worker collects this album: add what this item shows to the shared state.
    state = await album_state(deps, pseudonym, album)
    state["reading"] += 1
    await deps.pacing.keep("album", pseudonym, state, ALBUM_SECONDS)
    try:
        piece = await read_message(deps, update, message)
        if piece is not None:
            earlier = carried_of(state) if state["messages"] else None
            _, carry = await run_check_continuing(deps, piece.text, piece.links, earlier)
            state |= carried_state(carry)
            state["kinds"] = sorted({*state["kinds"], piece.kind})
    finally:
        state["reading"] -= 1
        state["seen"] += 1
        await deps.pacing.keep("album", pseudonym, state, ALBUM_SECONDS)


async def album_state(deps: Deps, pseudonym: str, album: int) -> dict[str, Any]:
    """What other workers added to this album so far (clue names and counts, no text)."""
    held = await deps.pacing.recall("album", pseudonym)
    if isinstance(held, dict) and held.get("album") == album:
        return held
    fresh: dict[str, Any] = {"album": album, "reading": 0, "seen": 0, "kinds": []}
    return fresh | carried_state(Carried(frozenset(), frozenset(), 0))


async def collect_album(deps: Deps, pseudonym: str, album: int, batch: AlbumBatch) -> None:
    """Wait until the album is complete (quiet for the conversation window, nobody reading
    an item of it), then check it as one and reply once."""
    window = deps.settings.telegram.conversation_window_seconds
    deadline = asyncio.get_running_loop().time() + ALBUM_WAIT_SECONDS
    before: tuple[int, ...] = ()
    try:
        while True:
            await asyncio.sleep(window)
            state = await album_state(deps, pseudonym, album)
            now = (len(batch.pieces), batch.reading, int(state["seen"]), int(state["reading"]))
            done = now == before and not batch.reading and not state["reading"]
            if done or asyncio.get_running_loop().time() > deadline:
                break
            before = now
        deps.albums.pop((pseudonym, album), None)
        # /forget on any worker deletes the person's shared rows, the claim among them: a
        # claim that can be taken again means the album was forgotten meanwhile.
        if await deps.pacing.once("album_collect", pseudonym, album, ALBUM_SECONDS):
            batch.dropped = True
        await answer_album(deps, batch, state)
    except Exception:
        log.exception("checking an album failed")
        with contextlib.suppress(Exception):
            await reply(batch.first, t("error", batch.person.lang))
    finally:
        deps.albums.pop((pseudonym, album), None)


async def answer_album(deps: Deps, batch: AlbumBatch, state: dict[str, Any]) -> None:
    """The album's one check and one reply: its items read here, with what the others showed."""
    if batch.dropped:
        return  # the person asked to /forget meanwhile
    pieces = [piece for piece in batch.pieces if piece is not None]
    others = carried_of(state) if state["messages"] else None
    if others is None:
        if pieces:
            await check_and_answer(deps, batch.person, pieces)
        return  # every item got its own answer already (a refusal, no text in the image)
    p = batch.person
    links = tuple(link for piece in pieces for link in piece.links)
    verdict, carry = await run_check_continuing(deps, [pc.text for pc in pieces], links, others)
    await keep_last_check(deps, p, verdict, carry)
    kinds = {*state["kinds"], *(pc.kind for pc in pieces)}
    kind: InputKind = "qr" if "qr" in kinds else "photo"
    target = pieces[-1].message if pieces else batch.first
    await answer_verdict(deps, p, target, verdict, kind, carry)


# --- groups ----------------------------------------------------------------------------------


async def on_group_message(update: Update, context: Ctx) -> None:
    """Watch group chat; speak only on high risk, as a reply, once per message."""
    deps = deps_of(context)
    # Edits count too: "post something harmless, then edit in the scam link" is a known trick.
    message = update.message or update.edited_message
    if message is None or update.effective_user is None:
        return
    # A post signed by a chat (an anonymous admin, a channel posting in its discussion group)
    # comes "from" a bot account of Telegram's; scammers post this way too. Other bots' own
    # posts are left alone.
    if update.effective_user.is_bot and message.sender_chat is None:
        return
    if (
        update.message is not None
        and asks_in_group(message)
        and pointed_at(message, message.get_bot().id)[0].strip()
    ):
        await cmd_check(update, context)  # "@bot" in reply to a post: check that post
        return
    chat_key = deps.pseudonym(message.chat_id)
    mode = await group_mode(deps, chat_key)
    if mode == "off":
        return
    text = user_text(message)
    if not text.strip() or len(text) > deps.settings.engine.max_text_chars:
        return
    lang = language_for(update.effective_user.language_code, deps.settings.default_language)
    verdict, _ = await check_and_store(
        deps,
        text,
        hidden_links(message),
        user_key=deps.pseudonym(poster_id(update)),
        lang=lang,
        chat_type="group",
    )
    if verdict.risk != "high":
        return
    # Once per message, across edits and workers: the mark lasts as long as Telegram lets a
    # message be edited.
    if not await deps.pacing.once("warned", chat_key, message.message_id, WARNED_SECONDS):
        return
    # The warning is for the group, in the language of the post itself: the poster's own
    # Telegram language may be the scammer's.
    group_lang = language_of_text(text, lang)
    region = region_for(None, group_lang, deps.settings.telegram.default_regions)
    try:
        removed = (
            await remove_post(deps, message, verdict, group_lang, region)
            if mode == "delete"
            else "kept"
        )
        if removed in ("removed", "gone"):
            return
        text = render_group_warning(verdict, group_lang, region, hotline(deps, region))
        if removed == "cannot" and await deps.pacing.once(
            "nodelete", chat_key, 0, NODELETE_SECONDS
        ):
            text += "\n\n" + t("cannot_delete", group_lang)
        await reply(message, text, quiet=mode == "quiet")
    except Exception:
        # Not warned: a redelivery of this update may try again.
        await deps.pacing.release("warned", chat_key, message.message_id)
        raise


async def bot_may_delete(bot: Bot, message: Message) -> bool:
    """Whether the bot may delete others' messages in this group (its getChatMember): an
    owner, or an admin with can_delete_messages (any admin of a basic group, per the Bot API)."""
    member = await with_retries(
        lambda: bot.get_chat_member(message.chat_id, bot.id), "getChatMember"
    )
    if isinstance(member, ChatMemberOwner):
        return True
    return isinstance(member, ChatMemberAdministrator) and (
        member.can_delete_messages or message.chat.type == ChatType.GROUP
    )


def removed_copy(message: Message, lang: Lang) -> RemovedPost:
    """What it takes to post ``message`` again, for this process's memory only."""
    text = message.text if message.text is not None else message.caption or ""
    media: tuple[str, str] | None = None
    if message.photo:
        media = ("photo", message.photo[-1].file_id)
    else:
        # An animation comes with its document too: the animation first.
        for kind in ("video", "animation", "document", "audio", "voice"):
            attachment = getattr(message, kind)
            if attachment is not None:
                media = (kind, attachment.file_id)
                break
    if message.sender_chat is not None:
        poster = message.sender_chat.title or ""
    else:
        poster = message.from_user.first_name if message.from_user else ""
    return RemovedPost(
        chat_id=message.chat_id,
        html=message.text_html if message.text is not None else message.caption_html or "",
        length=len(text.encode("utf-16-le")) // 2,
        media=media,
        poster=poster,
        lang=lang,
        thread=message.message_thread_id if message.is_topic_message else None,
    )


async def remove_post(
    deps: Deps, message: Message, verdict: Verdict, lang: Lang, region: str
) -> Literal["removed", "gone", "kept", "cannot"]:
    """In "delete" mode: delete a high-risk post and tell the admins, with a Restore button
    (the copy for it kept in memory only). "kept": an admin's post (only warned about);
    "cannot": the bot may not delete here; "gone": someone deleted it first."""
    bot = message.get_bot()
    if (message.sender_chat is None or message.sender_chat.id == message.chat_id) and (
        await is_group_admin(message, message.from_user.id if message.from_user else 0)
    ):
        return "kept"  # an admin's post (quoting a scam to warn, say) stays
    if not await bot_may_delete(bot, message):
        return "cannot"
    copy = removed_copy(message, lang)
    try:
        await with_retries(
            lambda: bot.delete_message(message.chat_id, message.message_id), "delete"
        )
    except BadRequest as exc:
        if "not found" in exc.message.lower():
            return "gone"
        log.warning("post not deleted: %s", type(exc).__name__)
        return "cannot"  # the right was taken away a moment ago, or the post is too old
    # Allowed again: should the right be taken away later, the admins are told once again.
    await deps.pacing.release("nodelete", deps.pseudonym(message.chat_id), 0)
    token = deps.removed.keep(copy)
    restore = ((Button(t("restore_button", lang), f"rs:{token}"),),)
    await with_retries(
        lambda: bot.send_message(
            message.chat_id,
            render_removed_notice(verdict, lang, region),
            message_thread_id=copy.thread,  # in the post's forum topic
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(restore),
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        "sendMessage",
    )
    return "removed"


# A customer's scam is reported to the business owner at most once per this long.
BUSINESS_WARNED_SECONDS = 600.0


async def on_business_message(update: Update, context: Ctx) -> None:
    """A message in a chat of a Telegram Business account the bot is connected to, new or
    edited: checked, and when it looks like a scam the owner is warned in their own chat with
    the bot. The bot never writes in the business chat: it would speak for the owner.

    An edit is checked like a new message ("write something harmless, then edit in the
    link"); the owner hears about a customer at most once per ``BUSINESS_WARNED_SECONDS``,
    unless the risk got worse since (a medium-risk warning, then a high-risk message or edit)."""
    deps = deps_of(context)
    message = update.business_message or update.edited_business_message
    if message is None or message.business_connection_id is None or message.from_user is None:
        return
    cid = message.business_connection_id
    conn = deps.business.get(cid)
    if conn is None:
        try:
            found = await with_retries(
                lambda: context.bot.get_business_connection(cid), "getBusinessConnection"
            )
        except Exception as exc:  # noqa: BLE001 - nobody to warn: leave it
            log.warning("business connection not read: %s", type(exc).__name__)
            return
        if not found.is_enabled:
            return
        conn = (found.user.id, found.user_chat_id, found.user.language_code)
        deps.business.put(cid, conn)
    owner_id, owner_chat, owner_lang = conn
    if message.from_user.id == owner_id:
        return  # the owner's own words
    text = user_text(message)
    if not text.strip() or len(text) > deps.settings.engine.max_text_chars:
        return
    customer_key = deps.pseudonym(message.from_user.id)
    # A customer who floods the chat costs checks, not warnings: over the limit, unchecked.
    if await deps.pacing.flood("message", customer_key) != "ok":
        return
    links = hidden_links(message)
    verdict = await run_check(deps, text, links)
    if verdict.risk not in ("medium", "high") or verdict.rule is None:
        return  # nothing stored: the owner did not ask for these checks
    owner = await saved_person(deps, owner_id, owner_lang)
    store_hits(
        deps,
        hits_from_verdict(
            verdict,
            user_pseudonym=owner.pseudonym,
            lang=owner.lang,
            chat_type="private",
            input_kind=kind_of(text, links),
        ),
    )
    customer = zlib.crc32(customer_key.encode())
    # One mark for any warning about this customer, one more for a high-risk one: a high risk
    # after a medium one is worse news, told again; anything else within the time is not.
    marks = ("business_warned", "business_warned_high")[: 2 if verdict.risk == "high" else 1]
    claimed = [
        mark
        for mark in marks
        if await deps.pacing.once(mark, owner.pseudonym, customer, BUSINESS_WARNED_SECONDS)
    ]
    if marks[-1] not in claimed:
        for mark in claimed:
            await deps.pacing.release(mark, owner.pseudonym, customer)
        return
    try:
        await with_retries(
            lambda: context.bot.send_message(
                owner_chat,
                render_business_warning(verdict, owner.lang, owner.region),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
            "sendMessage",
        )
    except Exception:
        # Not warned: a redelivery of this update may try again.
        for mark in claimed:
            await deps.pacing.release(mark, owner.pseudonym, customer)
        raise


async def on_business_connection(update: Update, context: Ctx) -> None:
    """A connection changed (ended, paused): read it again when next needed."""
    if update.business_connection is not None:
        deps_of(context).business.drop(update.business_connection.id)


async def on_my_chat_member(update: Update, context: Ctx) -> None:
    """Say hello once when added to a group."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return
    was = change.old_chat_member.status
    now = change.new_chat_member.status
    joined = now in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR) and was in (
        ChatMemberStatus.LEFT,
        ChatMemberStatus.BANNED,
    )
    if not joined:
        return
    deps = deps_of(context)
    lang = language_for(change.from_user.language_code, deps.settings.default_language)
    await with_retries(
        lambda: context.bot.send_message(
            change.chat.id, t("group_added", lang), parse_mode=ParseMode.HTML
        ),
        "sendMessage",
    )


# --- buttons ---------------------------------------------------------------------------------


async def answered_hit(deps: Deps, p: Person, ref: str) -> Answered | None:
    """The verdict a reply's buttons answer (its hit, this person's). A hit still waiting in
    this process's writer is written first; None if it cannot be found."""
    for attempt in range(2):
        try:
            found = await answered_by_hit(deps.sessions, ref, p.pseudonym)
        except Exception as exc:  # noqa: BLE001 - the vote or report still counts without it
            log.warning("verdict of a reply not found: %s", type(exc).__name__)
            return None
        if found is not None or attempt or not deps.writer.pending:
            return found
        await deps.writer.flush()
    return None


async def on_button(update: Update, context: Ctx) -> None:
    deps = deps_of(context)
    query = update.callback_query
    if query is None or query.data is None:
        return
    p = await person(update, deps)
    data = query.data
    # A message Telegram no longer gives the bot (too old) comes with date 0, and
    # python-telegram-bot builds a Message of it all the same: it cannot be edited or replied to.
    raw = query.message
    message = raw if isinstance(raw, Message) and raw.is_accessible else None

    if data.startswith("lang:") or data.startswith("rg:"):
        code = data.split(":", 1)[1]
        if data.startswith("lang:") and code in LANGS:
            lang, region, chosen = code, None, t("lang_set", code)
            # The region stays as chosen with /region; otherwise it follows the language.
            shown = await saved_region(deps, p) or region_for(
                None, code, deps.settings.telegram.default_regions
            )
        elif data.startswith("rg:") and code in deps.settings.hotlines:
            lang, region, shown = None, code, code
            number = escape(deps.settings.hotlines[code])
            chosen = t("region_set", p.lang, region=region_name(code, p.lang), number=number)
        else:
            return
        # Stored before the answer, so every worker uses it from the next message on.
        try:
            await asyncio.wait_for(
                set_preference(deps.sessions, p.pseudonym, lang=lang, region=region),
                DB_WRITE_TIMEOUT,
            )
            stored = True
        except Exception as exc:  # noqa: BLE001 - say so where other workers would not know
            log.warning("language or region choice not stored: %s", type(exc).__name__)
            stored = False
        if not stored and not deps.local_caches:
            await query.answer(t("report_failed", p.lang))
            if message is not None:
                await reply(message, t("report_failed", p.lang))
            return
        # A single process remembers the choice even while the database is away.
        deps.prefs.put(p.pseudonym, (lang or p.lang, shown))
        await query.answer(chosen[:200])
        if message is not None:
            await reply(message, chosen)
        return

    if data in ("fg:yes", "fg:no"):
        if message is None:
            # Under a message too old to edit or reply to: the answer comes as an alert.
            if data == "fg:yes":
                total = await forget_person(deps, p, None)
                text = (
                    t("report_failed", p.lang)
                    if total is None
                    else t("forget_done", p.lang, total=total)
                )
            else:
                text = t("forget_cancelled", p.lang)
            await query.answer(text, show_alert=True)
            return
        await query.answer()
        # One answer per question: its buttons go, so neither can be pressed again after it.
        with contextlib.suppress(Exception):
            await with_retries(lambda: message.edit_reply_markup(None), "edit")
        if data == "fg:no":
            await reply(message, t("forget_cancelled", p.lang))
            return
        await forget_person(deps, p, message)
        return

    if data.startswith("dt:") or data.startswith("fm:"):
        await on_view_button(deps, query, p, message)
        return

    if data.startswith("fb:"):
        _, vote, ref = data.split(":", 2)
        await query.answer(t("thanks", p.lang))
        try:
            answered = await answered_hit(deps, p, ref)
            await add_feedback(
                deps.sessions,
                pseudonym=p.pseudonym,
                hit_event_id=ref,
                rule_id=answered.rule_id if answered else None,
                rule_version=answered.rule_version if answered else None,
                vote="helpful" if vote == "h" else "wrong",
            )
        except Exception as exc:  # noqa: BLE001 - feedback is best effort
            log.warning("feedback not stored: %s", type(exc).__name__)
        return

    if data.startswith("rp:") and message is not None:
        _, step, ref = data.split(":", 2)
        # A matched verdict keeps its view toggle and family card while the report is asked.
        view = shown_view(message)
        if step == "ask":
            await query.answer(t("report_consent", p.lang), show_alert=True)
            asking = (
                confirm_buttons(p.lang, ref)
                if view is None
                else verdict_buttons(p.lang, ref, details=view, report="confirm")
            )
            await with_retries(lambda: message.edit_reply_markup(keyboard(asking)), "edit")
        elif step == "no":
            await query.answer()
            again = (
                feedback_buttons(p.lang, ref)
                if view is None
                else verdict_buttons(p.lang, ref, details=view)
            )
            await with_retries(lambda: message.edit_reply_markup(keyboard(again)), "edit")
        elif step == "yes":
            original = message.reply_to_message
            text = user_text(original) if original is not None else ""
            if not text.strip():
                await query.answer(t("report_gone", p.lang), show_alert=True)
                return
            try:
                # Redaction runs many patterns over the whole text: in a worker thread.
                redacted = await asyncio.to_thread(
                    redact, cap(text, deps.settings.engine.max_text_chars)
                )
                await add_answered_report(
                    deps.sessions,
                    pseudonym=p.pseudonym,
                    text=redacted,
                    redacted=True,
                    answered=await answered_hit(deps, p, ref),
                    hit_event_id=ref,
                    lang=p.lang,
                )
            except Exception as exc:  # noqa: BLE001 - say so; the person can try again
                log.warning("report not stored: %s", type(exc).__name__)
                await query.answer(t("report_failed", p.lang), show_alert=True)
                return
            await query.answer(t("report_sent", p.lang))
            done = (
                feedback_buttons(p.lang, ref, with_report=False)
                if view is None
                else verdict_buttons(p.lang, ref, details=view, report="done")
            )
            await with_retries(lambda: message.edit_reply_markup(keyboard(done)), "edit")
        return
    await query.answer()


async def on_restore(update: Update, context: Ctx) -> None:
    """Restore, under the notice of a deleted post: a group admin (or its anonymous admin)
    gets the post back, posted by the bot with who wrote it; anyone else is told no."""
    deps = deps_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    p = await person(update, deps)
    raw = query.message
    notice = raw if isinstance(raw, Message) and raw.is_accessible else None
    if notice is None or notice.chat.type == ChatType.PRIVATE:
        await query.answer(t("restore_gone", p.lang), show_alert=True)
        return
    if query.from_user.id != ANONYMOUS_ADMIN_ID and not await is_group_admin(
        notice, query.from_user.id
    ):
        await query.answer(t("restore_admins_only", p.lang), show_alert=True)
        return
    token = query.data.split(":", 1)[1]
    kept = deps.removed.take(token)
    if kept is None or kept[1].chat_id != notice.chat_id:
        # Expired, this process restarted, or another webhook worker removed it.
        if kept is not None:
            deps.removed.put_back(token, kept)
        await query.answer(t("restore_gone", p.lang), show_alert=True)
        return
    post = kept[1]
    try:
        await repost(notice.get_bot(), post)
    except Exception:
        deps.removed.put_back(token, kept)
        await query.answer(t("restore_failed", p.lang), show_alert=True)
        raise
    await query.answer(t("restored", p.lang))
    done = (notice.text_html or "") + "\n\n" + t("restored_note", post.lang)
    try:
        await with_retries(
            lambda: notice.edit_text(done, parse_mode=ParseMode.HTML, reply_markup=None),
            "editMessageText",
        )
    except Exception as exc:  # noqa: BLE001 - the post is back; this is tidying
        log.warning("removal notice not updated: %s", type(exc).__name__)


# Telegram's limits on a message's text and on a caption (after entities are parsed).
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024


async def repost(bot: Bot, post: RemovedPost) -> None:
    """Post a removed post again, as the bot, under a line saying who wrote it; when the two
    do not fit in one message, the line goes first and the post in reply to it."""
    header = t("restored_header", post.lang, name=escape(post.poster))
    plain_header = t("restored_header", post.lang, name=post.poster)
    limit = CAPTION_LIMIT if post.media else TEXT_LIMIT
    together = len(plain_header.encode("utf-16-le")) // 2 + 2 + post.length <= limit
    body = f"<b>{header}</b>\n\n{post.html}" if together else post.html
    answer_to: ReplyParameters | None = None
    if not together:
        first = await with_retries(
            lambda: bot.send_message(
                post.chat_id,
                f"<b>{header}</b>",
                message_thread_id=post.thread,
                parse_mode=ParseMode.HTML,
            ),
            "sendMessage",
        )
        answer_to = ReplyParameters(message_id=first.message_id, allow_sending_without_reply=True)
    if post.media is None:
        await with_retries(
            lambda: bot.send_message(
                post.chat_id,
                body,
                message_thread_id=post.thread,
                parse_mode=ParseMode.HTML,
                reply_parameters=answer_to,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
            "sendMessage",
        )
        return
    kind, file_id = post.media
    senders: dict[str, Callable[..., Awaitable[Message]]] = {
        "photo": bot.send_photo,
        "video": bot.send_video,
        "animation": bot.send_animation,
        "document": bot.send_document,
        "audio": bot.send_audio,
        "voice": bot.send_voice,
    }
    send = senders[kind]
    await with_retries(
        lambda: send(
            post.chat_id,
            file_id,
            caption=body,
            message_thread_id=post.thread,
            parse_mode=ParseMode.HTML,
            reply_parameters=answer_to,
        ),
        f"send {kind}",
    )


# --- errors ----------------------------------------------------------------------------------


async def on_error(update: object, context: Ctx) -> None:
    """Log without personal data; make sure the person still gets an answer."""
    err = context.error
    kind = type(err).__name__
    if isinstance(err, Forbidden):
        log.info("cannot write to a chat (blocked or removed): %s", kind)
        return
    log.error(
        "handler failed: %s", kind, exc_info=(type(err), err, err.__traceback__) if err else None
    )
    failed = HANDLER_FAILED.get()
    if failed is not None:
        failed.append(kind)  # a webhook worker then does not acknowledge a silent failure
    if (
        isinstance(update, Update)
        and update.effective_message is not None
        and update.effective_chat is not None
    ):
        if update.effective_chat.type != ChatType.PRIVATE or (
            update.business_message or update.edited_business_message
        ):
            return  # a group gets no error message, nor a customer of a business chat
        lang = language_for(
            update.effective_user.language_code if update.effective_user else None,
            deps_of(context).settings.default_language,
        )
        try:
            await reply(update.effective_message, t("error", lang))
        except Exception:  # noqa: BLE001 - nothing more we can do; already logged
            log.error("could not tell the person about the failure")


# --- registration ----------------------------------------------------------------------------


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach every handler, in order. The only place handlers are registered."""
    # A Business chat is private too, but it is the owner's chat with a customer: the bot
    # never answers there (see on_business_message).
    private = filters.ChatType.PRIVATE & ~filters.UpdateType.BUSINESS_MESSAGES
    groups = filters.ChatType.GROUPS
    app.add_handler(TypeHandler(Update, flood_guard), group=-1)

    for name, fn in (
        ("start", cmd_start),
        ("help", cmd_help),
        ("privacy", cmd_privacy),
        ("lang", cmd_lang),
        ("region", cmd_region),
        ("mydata", cmd_mydata),
        ("forget", cmd_forget),
        ("digest", cmd_digest),
    ):
        app.add_handler(CommandHandler(name, fn, filters=private))
    app.add_handler(CommandHandler("check", cmd_check))
    app.add_handler(CommandHandler("help", cmd_help, filters=groups))
    app.add_handler(CommandHandler("start", cmd_start_group, filters=groups))
    app.add_handler(CommandHandler("digest", cmd_digest, filters=groups))
    app.add_handler(CommandHandler("sentinel", cmd_sentinel_private, filters=private))
    app.add_handler(CommandHandler("subscribe", cmd_subscribe))
    app.add_handler(CommandHandler("unsubscribe", cmd_unsubscribe))
    app.add_handler(CommandHandler("sentinel", cmd_sentinel, filters=groups))
    moderator_commands: tuple[tuple[str, Callable[[Update, Ctx], Coroutine[Any, Any, None]]], ...]
    moderator_commands = (
        ("rules", mod.cmd_rules),
        ("rule", mod.cmd_rule),
        ("history", mod.cmd_history),
        ("rollback", mod.cmd_rollback),
        ("addphrase", mod.cmd_addphrase),
        ("addexample", mod.cmd_addexample),
        ("disable", mod.cmd_disable),
        ("enable", mod.cmd_enable),
        ("status", mod.cmd_status),
        ("reviews", mod.cmd_reviews),
        ("mod", mod.cmd_mod),
    )
    for name, handler in moderator_commands:
        app.add_handler(CommandHandler(name, handler, filters=private))
    app.add_handler(
        MessageHandler(
            private
            & (filters.Document.FileExtension("yaml") | filters.Document.FileExtension("yml")),
            mod.on_rule_file,
        )
    )
    app.add_handler(CallbackQueryHandler(mod.on_moderation_button, pattern=r"^(mc|mx|rv):"))
    app.add_handler(CallbackQueryHandler(on_restore, pattern=r"^rs:"))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.UpdateType.BUSINESS_MESSAGES, on_business_message))
    app.add_handler(BusinessConnectionHandler(on_business_connection))
    app.add_handler(
        MessageHandler(private & ~filters.COMMAND & ~filters.UpdateType.EDITED, on_private_message)
    )
    app.add_handler(
        MessageHandler(
            groups
            & (filters.TEXT | filters.CAPTION)
            & ~filters.COMMAND
            & (filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE),
            on_group_message,
        )
    )
    app.add_error_handler(on_error)
