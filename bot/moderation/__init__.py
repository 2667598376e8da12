"""Rule moderation: the live rule set (bundled files overlaid with moderators' revisions), the
validation every change goes through, and the small edits moderators make from their phones.

Knows nothing of Telegram: the bot, the command line and the tests drive it alike.
"""
