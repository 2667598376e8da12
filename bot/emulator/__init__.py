"""A local emulator of the Telegram Bot API for end-to-end tests and the offline demo.

Owns a fake of Telegram's server that the real python-telegram-bot talks to over HTTP on
127.0.0.1, checked against the bundled API description (api.json). Must import nothing from
other `bot.*` packages nor `telegram`: it stands in for Telegram, not for the bot.
"""

from bot.emulator.server import BotApiEmulator, RequestRecord, WebhookDelivery
from bot.emulator.spec import UploadedFile

__all__ = ["BotApiEmulator", "RequestRecord", "UploadedFile", "WebhookDelivery"]
