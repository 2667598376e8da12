"""The emulator over plain HTTP: it answers and refuses the way Telegram's server does."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from bot.emulator import BotApiEmulator

from .conftest import Runner, call

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    + (320).to_bytes(4, "big")
    + (240).to_bytes(4, "big")
    + b"\x08\x02\x00\x00\x00\r\n\x00binary\r\ntail"
)


def _description(response: httpx.Response) -> str:
    body = response.json()
    assert body["ok"] is False
    assert body["error_code"] == response.status_code
    return str(body["description"])


def test_unknown_method_and_wrong_token(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        missing = await call(client, "sendTelepathy", chat_id=1)
        assert missing.status_code == 404
        assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        wrong = await client.post(f"{emu.base_url}999:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        assert [r.status for r in emu.invalid_requests] == [404, 401]

    emulated(scenario)


def test_method_names_are_case_insensitive_and_get_me_answers(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        response = await client.get("GETME")
        assert response.status_code == 200
        me = response.json()["result"]
        assert me["id"] == 123456 and me["is_bot"] is True
        assert me["username"] == "sentinel_demo_bot"
        assert emu.requests[-1].method == "getMe"

    emulated(scenario)


def test_missing_required_fields(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        no_chat = await call(client, "sendMessage", text="hi")
        assert no_chat.status_code == 400
        assert _description(no_chat) == "Bad Request: chat_id is required"
        no_text = await call(client, "sendMessage", chat_id=chat["id"])
        assert _description(no_text) == "Bad Request: message text is empty"
        blank = await call(client, "sendMessage", chat_id=chat["id"], text="  \n ")
        assert _description(blank) == "Bad Request: message text is empty"
        assert len(emu.invalid_requests) == 3
        assert emu.sent_messages() == []

    emulated(scenario)


def test_wrong_types_are_refused_at_any_depth(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        as_list = await call(client, "sendMessage", chat_id=[1, 2], text="hi")
        assert as_list.status_code == 400
        assert (
            _description(as_list)
            == 'Bad Request: field "chat_id" must be of type Integer or String'
        )
        no_button_text = await call(
            client,
            "sendMessage",
            chat_id=chat["id"],
            text="hi",
            reply_markup={"inline_keyboard": [[{"callback_data": "x"}]]},
        )
        assert _description(no_button_text) == (
            "Bad Request: reply_markup.inline_keyboard[0][0].text is required"
        )
        unknown_key = await call(
            client,
            "sendMessage",
            chat_id=chat["id"],
            text="hi",
            reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "x", "colour": 1}]]},
        )
        assert "colour" in _description(unknown_key)
        bad_scope = await call(
            client,
            "setMyCommands",
            commands=[{"command": "start", "description": "Start"}],
            scope={"type": "chat"},
        )
        assert _description(bad_scope) == "Bad Request: scope.chat_id is required"
        assert emu.sent_messages() == []

    emulated(scenario)


def test_form_and_query_string_parameters_are_decoded(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
        form = await client.post(
            "sendMessage",
            data={"chat_id": str(chat["id"]), "text": "form", "reply_markup": json.dumps(markup)},
        )
        assert form.status_code == 200, form.text
        query = await client.get("sendMessage", params={"chat_id": chat["id"], "text": "query"})
        assert query.status_code == 200, query.text
        sent = emu.sent_messages(chat["id"])
        assert [m["text"] for m in sent] == ["form", "query"]
        assert sent[0]["reply_markup"] == markup
        assert emu.requests[0].params["chat_id"] == chat["id"]

    emulated(scenario)


def test_text_limit_counts_utf16_units_after_parsing(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        exactly = await call(client, "sendMessage", chat_id=chat["id"], text="😀" * 2048)
        assert exactly.status_code == 200
        marked_up = await call(
            client,
            "sendMessage",
            chat_id=chat["id"],
            text=f"<b>{'a' * 4096}</b>",
            parse_mode="HTML",
        )
        assert marked_up.status_code == 200
        over = await call(client, "sendMessage", chat_id=chat["id"], text="😀" * 2048 + "a")
        assert _description(over) == "Bad Request: message is too long"
        assert len(emu.sent_messages(chat["id"])) == 2

    emulated(scenario)


def test_caption_limit_on_an_uploaded_photo(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        files = {"photo": ("p.png", PNG, "image/png")}
        over = await client.post(
            "sendPhoto", data={"chat_id": str(chat["id"]), "caption": "c" * 1025}, files=files
        )
        assert _description(over) == "Bad Request: message caption is too long"
        ok = await client.post(
            "sendPhoto", data={"chat_id": str(chat["id"]), "caption": "c" * 1024}, files=files
        )
        assert ok.status_code == 200, ok.text
        photo = ok.json()["result"]["photo"]
        assert (photo[-1]["width"], photo[-1]["height"]) == (320, 240)
        assert emu.sent_messages(chat["id"])[0]["caption"] == "c" * 1024

    emulated(scenario)


def test_bad_html_is_refused_and_nothing_is_sent(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        expected = {
            "<b>unclosed": 'Can\'t find end tag corresponding to start tag "b"',
            "<script>alert(1)</script>": 'Unsupported start tag "script" at byte offset 0',
            "Tom & Jerry": 'Character "&" must be escaped as "&amp;" at byte offset 4',
        }
        for text, reason in expected.items():
            response = await call(
                client, "sendMessage", chat_id=chat["id"], text=text, parse_mode="HTML"
            )
            assert response.status_code == 400
            assert _description(response) == f"Bad Request: can't parse entities: {reason}"
        assert len(emu.invalid_requests) == 3
        assert emu.sent_messages() == []

    emulated(scenario)


def test_valid_html_is_stored_as_plain_text_and_entities(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        raw = '⚠️ <b>高风险</b> &lt;1&gt; <a href="https://example.org/help">帮助</a>'
        response = await call(
            client, "sendMessage", chat_id=chat["id"], text=raw, parse_mode="HTML"
        )
        result = response.json()["result"]
        assert result["text"] == "⚠️ 高风险 <1> 帮助"
        assert result["entities"] == [
            {"type": "bold", "offset": 3, "length": 3},
            {"type": "text_link", "offset": 11, "length": 2, "url": "https://example.org/help"},
        ]
        [stored] = emu.sent_messages(chat["id"])
        assert stored["text"] == result["text"] and stored["entities"] == result["entities"]
        assert stored["raw_text"] == raw and stored["parse_mode"] == "HTML"
        assert stored["from"] == emu.bot_user

    emulated(scenario)


def test_callback_data_longer_than_64_bytes_is_refused(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))

        def keyboard(data: str) -> dict[str, object]:
            return {"inline_keyboard": [[{"text": "Report", "callback_data": data}]]}

        fits = await call(
            client, "sendMessage", chat_id=chat["id"], text="a", reply_markup=keyboard("验" * 21)
        )
        assert fits.status_code == 200
        over = await call(
            client, "sendMessage", chat_id=chat["id"], text="b", reply_markup=keyboard("验" * 22)
        )
        assert _description(over) == "Bad Request: BUTTON_DATA_INVALID"
        assert [m["text"] for m in emu.sent_messages()] == ["a"]

    emulated(scenario)


def test_reply_to_a_missing_message(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        incoming = emu.send_text(chat, user, "转账给我")
        refused = await call(
            client, "sendMessage", chat_id=chat["id"], text="x", reply_parameters={"message_id": 99}
        )
        assert _description(refused) == "Bad Request: message to be replied not found"
        tolerated = await call(
            client,
            "sendMessage",
            chat_id=chat["id"],
            text="x",
            reply_parameters={"message_id": 99, "allow_sending_without_reply": True},
        )
        assert "reply_to_message" not in tolerated.json()["result"]
        replied = await call(
            client,
            "sendMessage",
            chat_id=chat["id"],
            text="y",
            reply_parameters={"message_id": incoming["message_id"]},
        )
        assert replied.json()["result"]["reply_to_message"]["text"] == "转账给我"
        assert emu.sent_messages(chat)[-1]["reply_to_message"]["message_id"] == 1

    emulated(scenario)


def test_unknown_chat_and_unimplemented_method(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        unknown = await call(client, "sendMessage", chat_id=42, text="hi")
        assert _description(unknown) == "Bad Request: chat not found"
        poll = await call(
            client,
            "sendPoll",
            chat_id=42,
            question="?",
            options=[{"text": "a"}, {"text": "b"}],
        )
        assert _description(poll) == "Bad Request: method not implemented by the emulator"
        assert [r.method for r in emu.invalid_requests] == ["sendMessage", "sendPoll"]

    emulated(scenario)


def test_get_updates_long_poll_wakes_on_a_new_message(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        user = emu.make_user("Ann", language_code="zh-hans")
        chat = emu.private_chat(user)

        async def later() -> None:
            await asyncio.sleep(0.2)
            emu.send_text(chat, user, "/start")

        started = time.monotonic()
        sender = asyncio.create_task(later())
        response = await call(client, "getUpdates", timeout=5)
        elapsed = time.monotonic() - started
        await sender
        [update] = response.json()["result"]
        assert 0.15 < elapsed < 2
        assert update["message"]["text"] == "/start"
        assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        assert update["message"]["from"]["language_code"] == "zh-hans"

    emulated(scenario)


def test_offset_confirms_updates(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        for text in ("one", "two", "three"):
            emu.send_text(chat, user, text)
        first = (await call(client, "getUpdates", limit=2)).json()["result"]
        assert [u["message"]["text"] for u in first] == ["one", "two"]
        again = (await call(client, "getUpdates")).json()["result"]
        assert len(again) == 3  # nothing is confirmed until an offset passes it
        rest = (await call(client, "getUpdates", offset=first[-1]["update_id"] + 1)).json()
        assert [u["message"]["text"] for u in rest["result"]] == ["three"]
        done = await call(client, "getUpdates", offset=rest["result"][-1]["update_id"] + 1)
        assert done.json()["result"] == []
        assert emu.pending_updates == []

    emulated(scenario)


def test_a_users_photo_is_downloadable_through_get_file(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        message = emu.send_photo(chat, user, PNG, caption="看这个", forwarded=True)
        assert message["forward_origin"]["type"] == "hidden_user"
        assert message["forward_origin"]["sender_user_name"] == "Someone"
        largest = message["photo"][-1]
        assert (largest["width"], largest["height"]) == (320, 240)
        file = (await call(client, "getFile", file_id=largest["file_id"])).json()["result"]
        download = await client.get(f"{emu.base_file_url}{emu.token}/{file['file_path']}")
        assert download.status_code == 200
        assert download.content == PNG
        wrong = await client.get(f"{emu.base_file_url}1:X/{file['file_path']}")
        assert wrong.status_code == 401
        bad_id = await call(client, "getFile", file_id="nope")
        assert _description(bad_id) == "Bad Request: invalid file_id"

    emulated(scenario)


def test_429_fault_then_success_delivers_exactly_once(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        emu.inject_fault(status=429, retry_after=3, methods={"sendMessage"}, count=1)
        assert (await client.get("getMe")).status_code == 200
        limited = await call(client, "sendMessage", chat_id=chat["id"], text="hi")
        assert limited.status_code == 429
        assert limited.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }
        assert emu.sent_messages() == []
        retried = await call(client, "sendMessage", chat_id=chat["id"], text="hi")
        assert retried.status_code == 200
        assert [m["text"] for m in emu.sent_messages()] == ["hi"]
        assert emu.invalid_requests == []  # an injected fault is not the bot's mistake

    emulated(scenario)


def test_500_faults_hit_any_method_but_get_updates(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        emu.inject_fault(status=500, methods=None, count=2)
        assert (await call(client, "getUpdates")).status_code == 200
        first = await client.get("getMe")
        assert first.status_code == 500
        assert first.json() == {
            "ok": False,
            "error_code": 500,
            "description": "Internal Server Error",
        }
        assert (await client.get("getMe")).status_code == 500
        assert (await client.get("getMe")).status_code == 200
        emu.inject_fault(status=502)
        assert _description(await client.get("getMe")) == "Bad Gateway"

    emulated(scenario)


def test_edits_apply_and_unchanged_edits_are_refused(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        chat = emu.private_chat(emu.make_user("Ann"))
        keyboard = {"inline_keyboard": [[{"text": "More", "callback_data": "more"}]]}
        sent = (
            await call(client, "sendMessage", chat_id=chat["id"], text="a", reply_markup=keyboard)
        ).json()["result"]
        ids = {"chat_id": chat["id"], "message_id": sent["message_id"]}
        same = await call(client, "editMessageText", text="a", reply_markup=keyboard, **ids)
        assert _description(same).startswith("Bad Request: message is not modified")
        edited = await call(client, "editMessageText", text="<i>b</i>", parse_mode="HTML", **ids)
        assert edited.status_code == 200
        [now] = emu.sent_messages(chat)
        assert now["text"] == "b" and now["entities"][0]["type"] == "italic"
        assert "reply_markup" not in now  # an edit without reply_markup drops the keyboard
        assert "edit_date" in now
        gone = await call(client, "editMessageText", chat_id=chat["id"], message_id=77, text="c")
        assert _description(gone) == "Bad Request: message to edit not found"
        assert (await call(client, "deleteMessage", **ids)).json()["result"] is True
        assert emu.sent_messages(chat) == []
        assert emu.deleted_messages(chat)[0]["text"] == "b"

    emulated(scenario)


def test_button_press_and_callback_answer(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        keyboard = {"inline_keyboard": [[{"text": "Why?", "callback_data": "why"}]]}
        sent = (
            await call(
                client, "sendMessage", chat_id=chat["id"], text="Risk", reply_markup=keyboard
            )
        ).json()["result"]
        query_id = emu.press_button(chat, user, sent, "why")
        [update] = (await call(client, "getUpdates")).json()["result"]
        assert update["callback_query"]["id"] == query_id
        assert update["callback_query"]["data"] == "why"
        assert update["callback_query"]["message"]["message_id"] == sent["message_id"]
        answered = await call(client, "answerCallbackQuery", callback_query_id=query_id, text="ok")
        assert answered.json()["result"] is True
        assert emu.callback_answers == [{"callback_query_id": query_id, "text": "ok"}]
        twice = await call(client, "answerCallbackQuery", callback_query_id=query_id)
        assert "query ID is invalid" in _description(twice)

    emulated(scenario)


def test_groups_membership_and_admins(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        ann, bob = emu.make_user("Ann"), emu.make_user("Bob")
        group = emu.group_chat(title="Neighbours")
        assert group["id"] < 0 and group["type"] == "supergroup"
        refused = await call(client, "sendMessage", chat_id=group["id"], text="hi")
        assert refused.status_code == 403
        emu.add_bot_to_group(group, by=ann)
        emu.set_admins(group, [ann])
        emu.send_text(group, bob, "加我微信领红包")
        updates = (await call(client, "getUpdates")).json()["result"]
        assert updates[0]["my_chat_member"]["new_chat_member"]["status"] == "member"
        assert updates[0]["my_chat_member"]["from"]["id"] == ann["id"]
        assert updates[1]["message"]["chat"]["id"] == group["id"]
        member = (
            await call(client, "getChatMember", chat_id=group["id"], user_id=ann["id"])
        ).json()
        assert member["result"]["status"] == "administrator"
        bob_member = await call(client, "getChatMember", chat_id=group["id"], user_id=bob["id"])
        assert bob_member.json()["result"]["status"] == "member"
        admins = (await call(client, "getChatAdministrators", chat_id=group["id"])).json()
        assert [a["user"]["id"] for a in admins["result"]] == [ann["id"]]
        assert (await call(client, "leaveChat", chat_id=group["id"])).status_code == 200
        after = await call(client, "sendMessage", chat_id=group["id"], text="hi")
        assert after.status_code == 403
        assert _description(after) == "Forbidden: bot is not a member of the supergroup chat"

    emulated(scenario)


def test_commands_are_kept_per_scope_and_language(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        zh = [{"command": "start", "description": "开始"}]
        en = [{"command": "start", "description": "Start"}]
        private = {"type": "all_private_chats"}
        assert (await call(client, "setMyCommands", commands=zh, language_code="zh")).json()["ok"]
        assert (await call(client, "setMyCommands", commands=en, scope=private)).json()["ok"]
        got = await call(client, "getMyCommands", language_code="zh")
        assert got.json()["result"] == zh
        assert emu.my_commands(private) == en
        assert emu.my_commands() == []
        bad = await call(
            client, "setMyCommands", commands=[{"command": "Start!", "description": "x"}]
        )
        assert _description(bad) == "Bad Request: BOT_COMMAND_INVALID"

    emulated(scenario)


def test_privacy_mode_hides_plain_group_messages(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        ann = emu.make_user("Ann")
        group = emu.group_chat(title="Neighbours")
        emu.add_bot_to_group(group, by=ann)
        emu.send_text(group, ann, "hello all")
        emu.send_text(group, ann, "/check@sentinel_demo_bot")
        updates = (await call(client, "getUpdates")).json()["result"]
        texts = [u["message"]["text"] for u in updates if "message" in u]
        assert texts == ["/check@sentinel_demo_bot"]
        emu.set_admins(group, [ann, emu.bot_user])
        emu.send_text(group, ann, "now seen")
        updates = (await call(client, "getUpdates")).json()["result"]
        assert updates[-1]["message"]["text"] == "now seen"

    emulated(scenario, privacy_mode=True)


def test_a_user_who_blocked_the_bot_cannot_be_messaged(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        update = emu.block_bot(user)
        assert update["my_chat_member"]["old_chat_member"]["status"] == "member"
        assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
        refused = await call(client, "sendMessage", chat_id=chat["id"], text="hi")
        assert refused.status_code == 403
        assert _description(refused) == "Forbidden: bot was blocked by the user"

    emulated(scenario)
