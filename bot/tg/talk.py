"""Talking to the person in front of the bot: who is asking, and answering them.

Owns: ``Person`` (a pseudonym, the language and region to answer in) and ``person`` (read from
the update, the saved choice, or what the webhook claim prefetched), ``reply`` (an HTML
answer to a message, in its forum topic, retried safely, never with a link preview) and
``keyboard``. Handlers
and moderation both build on this module; neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode

from bot.storage.queries import get_preference
from bot.tg.deps import PREFETCHED, Deps
from bot.tg.i18n import LANGS, Lang, language_for, region_for
from bot.tg.pacing import within
from bot.tg.render import Button
from bot.tg.sending import with_retries

# Reads on the path to a warning wait at most this long; then defaults are used.
DB_READ_TIMEOUT = 0.5


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


async def reply(
    message: Message,
    text: str,
    buttons: tuple[tuple[Button, ...], ...] = (),
    *,
    quiet: bool = False,
) -> Message:
    # In a forum the answer goes to the message's topic, even when that message is gone by then
    # (allow_sending_without_reply would otherwise put the answer in the General topic).
    thread = message.message_thread_id if message.is_topic_message else None
    return await with_retries(
        lambda: message.get_bot().send_message(
            chat_id=message.chat_id,
            message_thread_id=thread,
            text=text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons),
            reply_parameters=ReplyParameters(
                message_id=message.message_id, allow_sending_without_reply=True
            ),
            disable_notification=quiet,
            # Never show a preview card of a scam site inside a warning.
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        "sendMessage",
    )


@dataclass(frozen=True)
class Person:
    pseudonym: str
    lang: Lang
    region: str


async def person(update: Update, deps: Deps) -> Person:
    """Who sent this update: their pseudonym and the language and region to answer in."""
    user = update.effective_user
    assert user is not None
    return await saved_person(deps, user.id, user.language_code)


async def saved_person(deps: Deps, user_id: int, lang_code: str | None) -> Person:
    """The person with this Telegram id: their saved language and region, else those of
    their Telegram language (``lang_code``)."""
    pseudonym = deps.pseudonym(user_id)
    regions = deps.settings.telegram.default_regions
    lang = language_for(lang_code, deps.settings.default_language)
    region = region_for(lang_code, lang, regions)
    pre = PREFETCHED.get()
    if pre is not None and pre.user == pseudonym:
        if pre.lang in LANGS:
            lang, region = pre.lang, region_for(None, pre.lang, regions)
        return Person(pseudonym, lang, pre.region or region)
    cached = deps.prefs.get(pseudonym) if deps.local_caches else None
    if cached is None:
        try:
            pref = await within(get_preference(deps.sessions, pseudonym), DB_READ_TIMEOUT)
        except Exception:  # noqa: BLE001 - a slow or absent database must not delay the answer
            # Answer in the Telegram language now; do not cache, so the saved choice is used
            # again as soon as the database is back.
            return Person(pseudonym, lang, region)
        if pref is not None and pref.lang in LANGS:
            lang = pref.lang
            region = region_for(None, lang, regions)
        if pref is not None and pref.region:
            region = pref.region  # chosen with /region, whatever the language
        cached = (lang, region)
        if deps.local_caches:
            deps.prefs.put(pseudonym, cached)
    return Person(pseudonym, cached[0], cached[1])  # type: ignore[arg-type]
