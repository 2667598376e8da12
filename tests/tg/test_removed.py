"""The in-memory copies of removed group posts: bounded, expiring, taken once, never shown."""

from __future__ import annotations

from bot.tg.removed import RemovedPost, RemovedPosts


def post(text: str = "add me on WhatsApp +1 555 0100") -> RemovedPost:
    return RemovedPost(
        chat_id=-100123, html=text, length=len(text), media=None, poster="Tom", lang="en"
    )


def test_a_copy_is_taken_once_and_expires() -> None:
    now = [0.0]
    store = RemovedPosts(size=10, ttl=3600, clock=lambda: now[0])
    token = store.keep(post())
    kept = store.take(token)
    assert kept is not None and kept[1] == post()
    assert store.take(token) is None  # two admins pressing at once restore it once
    store.put_back(token, kept)  # the restore failed: it can be pressed for again
    now[0] = 3599.0
    assert store.take(token) is not None
    other = store.keep(post())
    now[0] = 3599.0 + 3600
    assert store.take(other) is None and len(store) == 0


def test_the_store_is_bounded_and_tokens_are_unguessable() -> None:
    store = RemovedPosts(size=3)
    tokens = [store.keep(post(str(i))) for i in range(5)]
    assert len(store) == 3
    assert store.take(tokens[0]) is None and store.take(tokens[4]) is not None
    assert len(set(tokens)) == 5 and all(len(t) >= 16 for t in tokens)
    # Within the 64 bytes Telegram allows a button's data, with its "rs:" prefix.
    assert all(len(f"rs:{t}".encode()) <= 64 for t in tokens)


def test_a_copy_never_shows_its_text_or_poster_in_a_log_line() -> None:
    shown = repr(post())
    assert "WhatsApp" not in shown and "Tom" not in shown
