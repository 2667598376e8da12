"""The Telegram layer: python-telegram-bot handlers, reply rendering, i18n, flow control.

Imports the engine, privacy and storage; nothing below imports this package.
"""
