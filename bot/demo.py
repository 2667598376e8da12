"""The local demo: the real bot against the Bot API emulator, with a prompt in the terminal.

Owns: starting the emulator and the bot (SQLite in the data directory), turning what you type
into the updates Telegram would send (a forwarded message, a photo, a button press), and
printing the bot's replies as a person would read them (buttons shown as numbered labels).
When standard input is not a terminal it reads one message per line, prints each reply and
exits at the end of input, so it can be scripted.
"""

from __future__ import annotations

import asyncio
import copy
import sys
from pathlib import Path
from typing import Any

from bot.emulator import BotApiEmulator
from bot.engine import Engine
from bot.settings import Settings
from bot.tg.app import build_application, polling

DEMO_TOKEN = "100000:LOCAL-DEMO-TOKEN"
REPLY_TIMEOUT = 30.0  # a screenshot takes about a second of OCR; leave room on a busy machine

HELP = """Type or paste a message as if you forwarded it to the bot, then press Enter.
  /fwd TEXT      forward TEXT; several /fwd lines in a row are checked as one conversation
  /photo PATH    send a picture (a screenshot, a QR code)
  /press N       press button N under the last reply
  /start /help /lang /privacy /mydata /forget /digest   the bot's own commands
  Ctrl-D         quit"""

LANG_CODES = {"zh": "zh-hans", "zh-hant": "zh-hant", "en": "en"}


def show(message: dict[str, Any], out: Any = sys.stdout) -> None:
    """A bot message as the person reads it: plain text (a picture's caption, with a note that
    there is a picture), then the buttons as labels."""
    if "photo" in message:
        print("[picture]", file=out)
    print(message.get("text") or message.get("caption") or "", file=out)
    print_buttons(message, out)
    print(file=out)


def print_buttons(message: dict[str, Any], out: Any = sys.stdout) -> None:
    labels = [
        b["text"]
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]
    if labels:
        print("  " + "  ".join(f"[{i}] {label}" for i, label in enumerate(labels, 1)), file=out)


def command_entities(text: str) -> list[dict[str, Any]] | None:
    if not text.startswith("/"):
        return None
    word = text.split()[0]
    return [{"type": "bot_command", "offset": 0, "length": len(word)}]


async def run_demo(settings: Settings, engine: Engine, lang: str, interactive: bool) -> int:
    emu = BotApiEmulator(token=DEMO_TOKEN, bot_username="sentinel_demo_bot")
    await emu.start()
    app = build_application(
        settings, engine, token=DEMO_TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url
    )
    user = emu.make_user(first_name="You", language_code=LANG_CODES.get(lang, "zh-hans"))
    chat = emu.private_chat(user)
    seen = 0
    waiting_forward = False
    watching: asyncio.Task[None] | None = None

    async def wait_and_show() -> None:
        nonlocal seen
        try:
            await emu.wait_for_messages(chat["id"], count=seen + 1, timeout=REPLY_TIMEOUT)
        except TimeoutError:
            print("(no reply)\n")
            return
        await asyncio.sleep(0.3)  # a command may answer with more than one message
        show_new()

    def show_new() -> None:
        """Print the bot's messages not shown yet."""
        nonlocal seen
        messages = emu.sent_messages(chat["id"])
        for message in messages[seen:]:
            show(message)
        seen = len(messages)

    try:
        async with polling(app):
            if interactive:
                print("Sentinel demo (local Telegram emulator; nothing leaves this machine).")
                print(HELP + "\n")
            while True:
                try:
                    line = await asyncio.to_thread(input, "> " if interactive else "")
                except EOFError:
                    break
                text = line.strip()
                if not text:
                    continue
                if waiting_forward and not text.startswith("/fwd "):
                    waiting_forward = False
                    await wait_and_show()
                if text.startswith("/fwd "):
                    emu.send_text(chat, user, text[5:].strip(), forwarded=True)
                    if interactive:
                        # At a terminal the answer shows as soon as the bot gives it (once
                        # the forwarded burst is over), not only after the next line.
                        if watching is None or watching.done():
                            watching = asyncio.create_task(wait_and_show())
                    else:
                        waiting_forward = True
                    continue
                if watching is not None:
                    await watching  # the answer to the forwarded lines comes first
                    watching = None
                if text.startswith("/photo"):
                    path = Path(text[6:].strip()).expanduser()
                    try:
                        data = path.read_bytes()
                    except OSError as exc:
                        print(f"cannot read {path}: {exc.strerror}\n")
                        continue
                    emu.send_photo(chat, user, data)
                elif text.startswith("/press"):
                    answered = len(emu.callback_answers)
                    pressed = await press(emu, chat, user, text)
                    if pressed is None:
                        continue
                    # A press answers with a message (a confirmation, a result) or a notice.
                    for _ in range(int(REPLY_TIMEOUT / 0.1)):
                        if len(emu.sent_messages(chat["id"])) > seen:
                            await asyncio.sleep(0.3)  # it may come with more than one message
                            break
                        if len(emu.callback_answers) > answered:
                            await asyncio.sleep(1.0)  # a notice may come before the message
                            break
                        await asyncio.sleep(0.1)
                    answers = emu.callback_answers
                    if len(answers) > answered and answers[-1].get("text"):
                        print(f"(notice) {answers[-1]['text']}\n")
                    show_new()
                    now = next(
                        (m for m in emu.sent_messages(chat["id"]) if m["message_id"] == pressed[0]),
                        None,
                    )
                    if now is not None and now.get("text") != pressed[2]:
                        # The press edited that reply in place ("Details" and back): show it.
                        print("(that reply now reads)")
                        show(now)
                    elif now is not None and now.get("reply_markup") != pressed[1]:
                        # The press changed the buttons in place (a confirmation): show them.
                        print("(the buttons under that reply are now)")
                        print_buttons(now)
                        print()
                    continue
                else:
                    emu.send_text(chat, user, text, entities=command_entities(text))
                await wait_and_show()
            if waiting_forward:
                await wait_and_show()
            if watching is not None:
                await watching
    finally:
        await emu.stop()
    return 0


async def press(
    emu: BotApiEmulator, chat: dict[str, Any], user: dict[str, Any], text: str
) -> tuple[int, Any, str | None] | None:
    """Press button N under the last reply that has buttons: that message's id, buttons and
    text as they were, or None (with a word why) when there is no such button."""
    messages = [m for m in emu.sent_messages(chat["id"]) if m.get("reply_markup")]
    parts = text.split()
    if not messages or len(parts) != 2 or not parts[1].isdigit():
        print("usage: /press N (a button under the last reply)\n")
        return None
    last = messages[-1]
    flat = [b for row in last["reply_markup"]["inline_keyboard"] for b in row]
    n = int(parts[1])
    if not 1 <= n <= len(flat):
        print(f"there are {len(flat)} buttons\n")
        return None
    emu.press_button(chat, user, last, flat[n - 1]["callback_data"])
    return last["message_id"], copy.deepcopy(last["reply_markup"]), last.get("text")
