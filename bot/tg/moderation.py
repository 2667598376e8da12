"""Moderators change the rules from Telegram: read, edit, confirm, look back, roll back.

Owns: roles (admins from config.yaml, moderators added by admins), refusing and auditing anyone
else, the moderator commands, YAML uploads, the Confirm / Cancel step (nothing changes before
Confirm), the review queue, the weekly list of rules due for review, and following other
processes' changes. Every change goes through ``bot.moderation.validate`` first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from telegram import BotCommand, BotCommandScopeChat, InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.digest.stats import week_id
from bot.lang import rule_text
from bot.moderation.edits import EditError, add_example, add_phrase, set_status
from bot.moderation.live import Broken, version_of, with_version
from bot.moderation.validate import MAX_RULE_BYTES, Checked, check_change
from bot.storage.db import engine_of
from bot.storage.locks import exclusive
from bot.storage.models import REFUSED, utcnow
from bot.storage.moderation import (
    Conflict,
    add_moderator,
    already_done,
    audit,
    commit_revision,
    create_pending,
    dismiss_wrong_vote,
    get_pending,
    get_report,
    is_moderator,
    list_moderators,
    open_reports,
    open_wrong_votes,
    remove_moderator,
    rule_counts,
    rule_history,
    set_pending_state,
    set_report_status,
    take_pending,
)
from bot.tg.deps import Deps, deps_of
from bot.tg.i18n import Lang
from bot.tg.render import Button
from bot.tg.sending import with_retries
from bot.tg.talk import Person, person, reply

log = logging.getLogger(__name__)
Ctx = ContextTypes.DEFAULT_TYPE

# Moderator texts: English and Simplified Chinese; Traditional is converted (OpenCC s2twp).
MT: dict[str, dict[str, str]] = {
    "refused": {
        "en": "This command is for moderators. The attempt was recorded.",
        "zh": "此命令仅限审核员使用。本次尝试已记录。",
    },
    "admins_only": {
        "en": "Only admins (listed in config.yaml) can add or remove moderators.",
        "zh": "只有管理员（在 config.yaml 中列出）可以添加或移除审核员。",
    },
    "mod_usage": {
        "en": "Usage: /mod add USER_ID, /mod remove USER_ID, /mod list\nUSER_ID is the person's numeric Telegram id (not their @name). They can see it by sending /start to @userinfobot; they must also have sent /start to me.",
        "zh": "用法：/mod add 用户ID、/mod remove 用户ID、/mod list\n用户ID 是对方的 Telegram 数字 ID（不是 @用户名）。对方给 @userinfobot 发送 /start 即可看到；对方也必须先给我发过 /start。",
    },
    "help_mod": {
        "en": "Moderator commands (you can also send an edited ID.yaml with a caption saying why):",
        "zh": "审核员命令（也可以发送修改后的 规则ID.yaml 文件，并在说明里写明原因）：",
    },
    "mod_added": {"en": "Moderator added.", "zh": "已添加审核员。"},
    "mod_already": {"en": "Already a moderator.", "zh": "对方已经是审核员。"},
    "mod_removed": {"en": "Moderator removed.", "zh": "已移除审核员。"},
    "mod_not": {"en": "Not a moderator.", "zh": "对方不是审核员。"},
    "mod_list": {
        "en": "{n} moderator(s) (shown by pseudonym; their ids are stored only encrypted):",
        "zh": "共 {n} 位审核员（以化名显示，ID 仅加密保存）：",
    },
    "usage": {"en": "Usage: {usage}", "zh": "用法：{usage}"},
    "unknown_rule": {
        "en": "There is no rule {rule}. /rules lists them.",
        "zh": "没有规则 {rule}。/rules 可以列出全部规则。",
    },
    "need_reason": {
        "en": "Say why: add a line starting with why: (for a file, write the reason as its caption). Nothing was changed.",
        "zh": "请说明原因：另起一行以“原因：”开头（上传文件时把原因写在说明里）。未做任何修改。",
    },
    "rejected": {
        "en": "❌ Not accepted; the live rules are unchanged:",
        "zh": "❌ 未通过检查，线上规则没有任何改动：",
    },
    "conflict": {
        "en": "⚠️ Conflict: {rule} is at version {live} now (changed by another moderator), but this edit was made against version {base}. Get the current rule with /rule {rule} and redo your edit on it. Nothing was changed.",
        "zh": "⚠️ 冲突：{rule} 现在是第 {live} 版（已被其他审核员修改），而这次修改基于第 {base} 版。请用 /rule {rule} 获取最新版本后重新修改。未做任何修改。",
    },
    "preview": {
        "en": "Change to <b>{rule}</b>: version {base} → {new}\nWhy: {reason}\n\nEffect: {scam_hit} of {scam_total} scam examples hit, {benign_clean} of {benign_total} benign examples stay clean, {baseline_hits} of {baseline_total} ordinary baseline messages hit.\n\nNothing changes until you press Confirm.",
        "zh": "修改 <b>{rule}</b>：第 {base} 版 → 第 {new} 版\n原因：{reason}\n\n效果：{scam_total} 条诈骗样例命中 {scam_hit} 条，{benign_total} 条正常样例中 {benign_clean} 条未误报，{baseline_total} 条普通基准消息命中 {baseline_hits} 条。\n\n按“确认”之前不会有任何改动。",
    },
    "confirm": {"en": "✅ Confirm", "zh": "✅ 确认"},
    "cancel": {"en": "✖️ Cancel", "zh": "✖️ 取消"},
    "done": {
        "en": "✅ {rule} version {version} is live. Every bot process uses it within a few seconds.",
        "zh": "✅ {rule} 第 {version} 版已生效，所有机器人进程会在几秒内启用。",
    },
    "not_in_force": {
        "en": "⚠️ {rule} version {version} was stored but cannot be built, so it is NOT in force ({in_force}):\n{problems}\nFix it and send a new version; other rule changes are not held up.",
        "zh": "⚠️ {rule} 第 {version} 版已保存，但无法构建，因此没有生效（{in_force}）：\n{problems}\n请修正后提交新版本；其他规则的修改不受影响。",
    },
    "in_force_version": {"en": "version {version} stays in force", "zh": "继续使用第 {version} 版"},
    "in_force_none": {"en": "the rule is not loaded", "zh": "该规则未加载"},
    "cancelled": {"en": "Cancelled; nothing was changed.", "zh": "已取消，未做任何修改。"},
    "expired": {
        "en": "This change is no longer waiting (confirmed, cancelled or expired). Nothing was changed.",
        "zh": "这项修改已不再等待确认（已确认、已取消或已过期）。未做任何修改。",
    },
    "too_large": {
        "en": "That file is too large: a rule file may have at most {kb} KB. Nothing was changed.",
        "zh": "文件太大：规则文件最多 {kb} KB。未做任何修改。",
    },
    "rules_head": {
        "en": "Rules (hits and 👎 “wrong” over the last 7 days):",
        "zh": "规则列表（近 7 天命中数与 👎“判断有误”数）：",
    },
    "history_head": {"en": "History of {rule}:", "zh": "{rule} 的修改记录："},
    "bundled": {"en": "bundled file", "zh": "随程序发布的文件"},
    "no_version": {
        "en": "{rule} has no version {version}. /history {rule} lists them.",
        "zh": "{rule} 没有第 {version} 版。/history {rule} 可以列出所有版本。",
    },
    "reviews_empty": {"en": "Nothing to review.", "zh": "没有待审核的内容。"},
    "report_item": {
        "en": "📨 Report #{id} ({date}, matched: {rule}{version}, risk {risk}):\n<blockquote>{text}</blockquote>",
        "zh": "📨 举报 #{id}（{date}，匹配：{rule}{version}，风险 {risk}）：\n<blockquote>{text}</blockquote>",
    },
    "wrong_item": {
        "en": "👎 “Wrong” on {rule} v{version} ({date})",
        "zh": "👎 用户认为 {rule} 第 {version} 版判断有误（{date}）",
    },
    "as_scam": {"en": "➕ scam example of {rule}", "zh": "➕ 作为 {rule} 的诈骗样例"},
    "as_benign": {"en": "➕ benign example of {rule}", "zh": "➕ 作为 {rule} 的正常样例"},
    "dismiss": {"en": "🗑 Dismiss", "zh": "🗑 忽略"},
    "dismissed": {"en": "Dismissed.", "zh": "已忽略。"},
    "no_rule_for_report": {
        "en": "No rule matched this report; use /addexample RULE scam|benign with its text.",
        "zh": "这条举报没有匹配的规则；请用 /addexample 规则 scam|benign 加入样例。",
    },
    "review_due": {
        "en": "🗓 Rules past their review date: {rules}. Look at them with /rule ID.",
        "zh": "🗓 以下规则已过复查日期：{rules}。请用 /rule 规则ID 查看。",
    },
}


def mt(key: str, lang: Lang, **fmt: object) -> str:
    texts = MT[key]
    text = rule_text(texts["zh"], texts["en"], lang)
    return text.format(**fmt) if fmt else text


MAX_REASON = 500  # characters: a preview (reason + diff) must fit one Telegram message

MOD_COMMANDS = {
    "rules": ("list the rules", "规则列表"),
    "rule": ("one rule and its YAML", "查看一条规则及其 YAML"),
    "addphrase": ("add a phrase to a rule", "给规则添加短语"),
    "addexample": ("add an example to a rule", "给规则添加样例"),
    "disable": ("switch a rule off", "停用规则"),
    "enable": ("switch a rule on", "启用规则"),
    "status": ("active, testing or disabled", "设置规则状态"),
    "history": ("a rule's versions", "规则修改记录"),
    "rollback": ("go back to a version", "回滚到某个版本"),
    "reviews": ("reports and feedback to review", "待审核的举报与反馈"),
    "mod": ("moderators (admins)", "管理审核员（管理员）"),
}


def moderator_help(lang: Lang) -> str:
    """The moderator commands, one per line, for /help."""
    lines = [mt("help_mod", lang)]
    lines += [
        f"/{name} — {html.escape(rule_text(zh, en, lang))}"
        for name, (en, zh) in MOD_COMMANDS.items()
    ]
    return "\n".join(lines)


async def set_moderator_commands(bot: Any, chat_id: int) -> None:
    """Show the moderator commands in this person's command menu."""
    for lang, i in ((None, 0), ("zh", 1)):
        commands = [BotCommand(name, texts[i]) for name, texts in MOD_COMMANDS.items()]
        kwargs: dict[str, Any] = {"language_code": lang} if lang else {}
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id), **kwargs)


_menus_set: set[int] = set()


async def _set_menu(bot: Any, chat_id: int) -> None:
    try:
        await set_moderator_commands(bot, chat_id)
    except Exception as exc:  # noqa: BLE001 - the role holds even if the menu cannot be set
        log.info(
            "moderator menu not set (%s): they have not started the bot yet", type(exc).__name__
        )


# -- roles ---------------------------------------------------------------------------------------


def is_admin(deps: Deps, user_id: int) -> bool:
    return user_id in deps.settings.moderation.admins


async def is_mod(deps: Deps, user_id: int, pseudonym: str) -> bool:
    return is_admin(deps, user_id) or await is_moderator(deps.sessions, pseudonym)


Handler = Callable[[Update, Ctx, Deps, Person, Message], Coroutine[Any, Any, None]]


def moderators_only(fn: Handler) -> Callable[[Update, Ctx], Coroutine[Any, Any, None]]:
    """Run ``fn`` for moderators in private chats; refuse and audit everyone else."""

    @wraps(fn)
    async def wrapper(update: Update, context: Ctx) -> None:
        deps = deps_of(context)
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        p = await person(update, deps)
        if not await is_mod(deps, user.id, p.pseudonym):
            await audit(deps.sessions, p.pseudonym, REFUSED, fn.__name__.removeprefix("cmd_"))
            await reply(message, mt("refused", p.lang))
            return
        await fn(update, context, deps, p, message)

    return wrapper


# -- arguments -------------------------------------------------------------------------------------

_WHY = ("why:", "why：", "原因:", "原因：", "理由:", "理由：")


def split_command(text: str) -> tuple[list[str], list[str], str]:
    """(arguments on the first line, the other lines, the reason from a "why:" line)."""
    lines = text.splitlines()
    args = lines[0].split()[1:] if lines else []
    rest, reason = [], ""
    for line in lines[1:]:
        stripped = line.strip()
        low = stripped.lower()
        tag = next((w for w in _WHY if low.startswith(w)), None)
        if tag:
            reason = stripped[len(tag) :].strip()
        else:
            rest.append(line)
    return args, rest, reason


def command_and_reason(text: str) -> tuple[list[str], str]:
    """For commands whose extra lines are the reason: (arguments, the "why:" line or, without
    one, the other lines)."""
    args, rest, reason = split_command(text)
    return args, reason or " ".join(x.strip() for x in rest).strip()


def short(pseudonym: str) -> str:
    return f"#{pseudonym[:8]}"


# -- reading -------------------------------------------------------------------------------------


@moderators_only
async def cmd_rules(update: Update, context: Ctx, deps: Deps, p: Person, message: Message) -> None:
    counts = await rule_counts(deps.sessions)
    today = dt.date.today()
    lines = [mt("rules_head", p.lang)]
    engine_rules = {cr.rule.id: cr.rule for cr in deps.live.engine().rules.rules}
    for rid, rf in sorted(deps.live.rules().items()):
        hits, wrong = counts.get(rid, (0, 0))
        rule = engine_rules.get(rid)
        status = rule.status if rule else "disabled"
        review = rule.review_by if rule else None
        due = " ⏰" if review and review < today else ""
        title = rule_text(rule.title.zh, rule.title.en, p.lang, p.region) if rule else ""
        lines.append(
            f"• <code>{html.escape(rid)}</code> {status} v{rf.version} · {hits} / 👎{wrong}"
            + (f" · {review}{due}" if review else "")
            + (f"\n  {html.escape(title)}" if title else "")
        )
    for broken in sorted(deps.live.broken.values(), key=lambda b: b.rule_id):
        lines.append(_not_in_force(broken, p.lang))
    for chunk in _chunks(lines):
        await reply(message, chunk)


def _chunks(lines: list[str], limit: int = 3800) -> list[str]:
    out, cur = [], ""
    for line in lines:
        if cur and len(cur) + len(line) + 1 > limit:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n{line}" if cur else line
    if cur:
        out.append(cur)
    return out


@moderators_only
async def cmd_rule(update: Update, context: Ctx, deps: Deps, p: Person, message: Message) -> None:
    args, _, _ = split_command(message.text or "")
    if len(args) != 1:
        await reply(message, mt("usage", p.lang, usage="/rule ID"))
        return
    rf = deps.live.get(args[0])
    if rf is None:
        await reply(message, mt("unknown_rule", p.lang, rule=html.escape(args[0])))
        return
    compiled = next(
        (cr.rule for cr in deps.live.engine().rules.rules if cr.rule.id == args[0]), None
    )
    lines = [f"<b>{html.escape(args[0])}</b> v{rf.version}"]
    if compiled is not None:
        lines.append(html.escape(rule_text(compiled.title.zh, compiled.title.en, p.lang)))
        lines.append(html.escape(rule_text(compiled.summary.zh, compiled.summary.en, p.lang)))
        lines.append(f"{compiled.status} · {compiled.severity} · {compiled.family}")
        for i, stage in enumerate(compiled.stages, 1):
            title = rule_text(stage.title.zh, stage.title.en, p.lang)
            lines.append(f"{i}. <code>{stage.id}</code> {html.escape(title)}")
    else:
        lines.append("disabled")
    await reply(message, "\n".join(lines))
    data = rf.text.encode("utf-8")
    await with_retries(
        lambda: message.get_bot().send_document(
            message.chat_id, InputFile(data, filename=rf.name), caption=f"{rf.name} v{rf.version}"
        ),
        "sendDocument",
    )


@moderators_only
async def cmd_history(
    update: Update, context: Ctx, deps: Deps, p: Person, message: Message
) -> None:
    args, _, _ = split_command(message.text or "")
    if len(args) != 1:
        await reply(message, mt("usage", p.lang, usage="/history ID"))
        return
    rid = args[0]
    bundled = deps.live.bundled_text(rid)
    revisions = await rule_history(deps.sessions, rid)
    if bundled is None and not revisions:
        await reply(message, mt("unknown_rule", p.lang, rule=html.escape(rid)))
        return
    lines = [mt("history_head", p.lang, rule=html.escape(rid))]
    for r in revisions:
        added = sum(
            1 for ln in r.diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")
        )
        removed = sum(
            1 for ln in r.diff.splitlines() if ln.startswith("-") and not ln.startswith("---")
        )
        lines.append(
            f"v{r.version} · {r.created_at:%Y-%m-%d %H:%M} UTC · {short(r.author_pseudonym)} · "
            f"+{added}/-{removed} · {html.escape(r.reason)}"
        )
    if bundled is not None:
        lines.append(f"v{version_of(bundled)} · {mt('bundled', p.lang)}")
    for chunk in _chunks(lines):
        await reply(message, chunk)


# -- changing --------------------------------------------------------------------------------------


async def _propose(
    deps: Deps,
    p: Person,
    message: Message,
    *,
    action: str,
    file_name: str,
    text: str | bytes,
    reason: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Check a change and show it with Confirm / Cancel, or say exactly why it was refused."""
    reason = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
    if not reason:
        await reply(message, mt("need_reason", p.lang))
        return
    checked: Checked = await asyncio.to_thread(
        check_change, deps.live, file_name, text, deps.baseline
    )
    if checked.conflict is not None:
        await audit(deps.sessions, p.pseudonym, f"rule.{action}.conflict", checked.rule_id)
        await reply(
            message,
            mt(
                "conflict",
                p.lang,
                rule=html.escape(checked.rule_id),
                live=checked.conflict,
                base=checked.edited_version,
            ),
        )
        return
    if not checked.ok:
        await audit(
            deps.sessions,
            p.pseudonym,
            f"rule.{action}.rejected",
            checked.rule_id or file_name,
            problems=len(checked.problems),
        )
        # Cut before escaping (cutting HTML could split an entity): 15 problems of at most 200
        # characters stay far below Telegram's 4096.
        shown = [x if len(x) <= 200 else x[:199] + "…" for x in checked.problems[:15]]
        body = "\n".join(f"• {html.escape(x)}" for x in shown)
        more = f"\n… +{len(checked.problems) - 15}" if len(checked.problems) > 15 else ""
        await reply(message, f"{mt('rejected', p.lang)}\n{body}{more}")
        return
    effect: dict[str, Any] = checked.effect() | {"new_version": checked.new_version} | (extra or {})
    pending = await create_pending(
        deps.sessions,
        author_pseudonym=p.pseudonym,
        action=action,
        rule_id=checked.rule_id,
        base_version=checked.base_version,
        yaml_text=checked.text,
        diff=checked.diff,
        reason=reason,
        effect=effect,
    )
    diff = checked.diff if len(checked.diff) < 2500 else checked.diff[:2500] + "\n…"
    text_out = mt(
        "preview",
        p.lang,
        rule=html.escape(checked.rule_id),
        base=checked.base_version,
        new=checked.new_version,
        reason=html.escape(reason),
        **checked.effect(),
    )
    await reply(
        message,
        f"{text_out}\n<pre>{html.escape(diff)}</pre>",
        (
            (
                Button(mt("confirm", p.lang), f"mc:{pending}"),
                Button(mt("cancel", p.lang), f"mx:{pending}"),
            ),
        ),
    )


async def _quick(
    deps: Deps,
    p: Person,
    message: Message,
    rule_id: str,
    action: str,
    reason: str,
    edit: Callable[[str], str],
    extra: dict[str, Any] | None = None,
) -> None:
    rf = deps.live.get(rule_id)
    if rf is None:
        await reply(message, mt("unknown_rule", p.lang, rule=html.escape(rule_id)))
        return
    if not reason:
        await reply(message, mt("need_reason", p.lang))
        return
    try:
        new = edit(rf.text)
    except EditError as exc:
        await reply(message, f"{mt('rejected', p.lang)}\n• {html.escape(str(exc))}")
        return
    await _propose(
        deps, p, message, action=action, file_name=rf.name, text=new, reason=reason, extra=extra
    )


@moderators_only
async def cmd_addphrase(
    update: Update, context: Ctx, deps: Deps, p: Person, message: Message
) -> None:
    args, reason = command_and_reason(message.text or "")
    if len(args) < 3:
        await reply(message, mt("usage", p.lang, usage="/addphrase ID STAGE[/N] PHRASE\nwhy: …"))
        return
    rule_id, where, phrase = args[0], args[1], " ".join(args[2:])
    await _quick(
        deps, p, message, rule_id, "addphrase", reason, lambda t: add_phrase(t, where, phrase)
    )


@moderators_only
async def cmd_addexample(
    update: Update, context: Ctx, deps: Deps, p: Person, message: Message
) -> None:
    args, rest, reason = split_command(message.text or "")
    example = "\n".join(rest).strip()
    if len(args) != 2 or not example:
        await reply(
            message,
            mt("usage", p.lang, usage="/addexample ID scam|benign\nTEXT OF THE EXAMPLE\nwhy: …"),
        )
        return
    rule_id, kind = args
    await _quick(
        deps, p, message, rule_id, "addexample", reason, lambda t: add_example(t, kind, example)
    )


async def _status(deps: Deps, p: Person, message: Message, status: str | None) -> None:
    args, reason = command_and_reason(message.text or "")
    want = 2 if status is None else 1
    if len(args) != want:
        usage = "/status ID active|testing|disabled" if status is None else "/disable ID"
        await reply(message, mt("usage", p.lang, usage=f"{usage}\nwhy: …"))
        return
    target = status or args[1]
    await _quick(
        deps, p, message, args[0], f"status.{target}", reason, lambda t: set_status(t, target)
    )


@moderators_only
async def cmd_disable(
    update: Update, context: Ctx, deps: Deps, p: Person, message: Message
) -> None:
    await _status(deps, p, message, "disabled")


@moderators_only
async def cmd_enable(update: Update, context: Ctx, deps: Deps, p: Person, message: Message) -> None:
    await _status(deps, p, message, "active")


@moderators_only
async def cmd_status(update: Update, context: Ctx, deps: Deps, p: Person, message: Message) -> None:
    await _status(deps, p, message, None)


@moderators_only
async def cmd_rollback(
    update: Update, context: Ctx, deps: Deps, p: Person, message: Message
) -> None:
    args, reason = command_and_reason(message.text or "")
    if len(args) not in (1, 2) or (len(args) == 2 and not args[1].lstrip("v").isdigit()):
        await reply(message, mt("usage", p.lang, usage="/rollback ID [VERSION]\nwhy: …"))
        return
    rid = args[0]
    rf = deps.live.get(rid)
    if rf is None:
        await reply(message, mt("unknown_rule", p.lang, rule=html.escape(rid)))
        return
    target = int(args[1].lstrip("v")) if len(args) == 2 else rf.version - 1
    texts = {r.version: r.yaml_text for r in await rule_history(deps.sessions, rid)}
    bundled = deps.live.bundled_text(rid)
    if bundled is not None:
        texts.setdefault(version_of(bundled), bundled)
    if target not in texts or target == rf.version:
        await reply(message, mt("no_version", p.lang, rule=html.escape(rid), version=target))
        return
    # The old text, stamped with the live version so it is checked as an edit of the live rule.
    await _propose(
        deps,
        p,
        message,
        action=f"rollback.v{target}",
        file_name=rf.name,
        text=with_version(texts[target], rf.version),
        reason=reason,
    )


@moderators_only
async def on_rule_file(
    update: Update, context: Ctx, deps: Deps, p: Person, message: Message
) -> None:
    doc = message.document
    assert doc is not None
    if doc.file_size is not None and doc.file_size > MAX_RULE_BYTES:
        await reply(message, mt("too_large", p.lang, kb=MAX_RULE_BYTES // 1024))
        return
    file = await with_retries(lambda: doc.get_file(), "getFile")
    data = bytes(await file.download_as_bytearray())
    if len(data) > MAX_RULE_BYTES:
        await reply(message, mt("too_large", p.lang, kb=MAX_RULE_BYTES // 1024))
        return
    reason = (message.caption or "").strip()
    for tag in _WHY:
        if reason.lower().startswith(tag):
            reason = reason[len(tag) :].strip()
    await _propose(
        deps,
        p,
        message,
        action="upload",
        file_name=doc.file_name or "rule.yaml",
        text=data,
        reason=reason,
    )


# -- confirm / cancel ------------------------------------------------------------------------------


async def on_moderation_button(update: Update, context: Ctx) -> None:
    deps = deps_of(context)
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    p = await person(update, deps)
    message = query.message if isinstance(query.message, Message) else None
    await query.answer()
    if message is None:
        return
    if not await is_mod(deps, user.id, p.pseudonym):
        await audit(deps.sessions, p.pseudonym, REFUSED, query.data.split(":", 1)[0])
        await reply(message, mt("refused", p.lang))
        return
    kind, _, arg = query.data.partition(":")
    if kind in ("mc", "mx"):
        await _decide(deps, p, message, int(arg), confirm=kind == "mc")
    elif kind == "rv":
        await _review_action(deps, p, message, arg)


async def _decide(
    deps: Deps, p: Person, message: Message, pending_id: int, *, confirm: bool
) -> None:
    pending = await get_pending(deps.sessions, pending_id)
    ttl = dt.timedelta(minutes=deps.settings.moderation.pending_minutes)
    if (
        pending is None
        or pending.author_pseudonym != p.pseudonym
        or pending.state != "pending"
        or utcnow() - pending.created_at > ttl
    ):
        await reply(message, mt("expired", p.lang))
        return
    if not confirm:
        if await take_pending(deps.sessions, pending_id, p.pseudonym, "cancelled"):
            await audit(
                deps.sessions, p.pseudonym, f"rule.{pending.action}.cancelled", pending.rule_id
            )
            await reply(message, mt("cancelled", p.lang))
        else:
            await reply(message, mt("expired", p.lang))
        return
    # Taken once: a double tap, or the same button pressed in two processes, commits once.
    if not await take_pending(deps.sessions, pending_id, p.pseudonym, "confirming"):
        await reply(message, mt("expired", p.lang))
        return
    new_version = pending.effect.get("new_version")
    try:
        version = await commit_revision(
            deps.sessions,
            rule_id=pending.rule_id,
            base_version=pending.base_version,
            yaml_text=pending.yaml_text,
            diff=pending.diff,
            reason=pending.reason,
            author=p.pseudonym,
            action=pending.action,
            version=new_version if isinstance(new_version, int) else None,
        )
    except Conflict as exc:
        await set_pending_state(deps.sessions, pending_id, "conflict")
        await audit(deps.sessions, p.pseudonym, f"rule.{pending.action}.conflict", pending.rule_id)
        await reply(
            message,
            mt(
                "conflict",
                p.lang,
                rule=html.escape(pending.rule_id),
                live=exc.live,
                base=pending.base_version,
            ),
        )
        return
    except Exception:
        # Nothing was stored: let the moderator press Confirm again.
        await set_pending_state(deps.sessions, pending_id, "pending")
        raise
    # The change is stored and live; what follows is bookkeeping that must not hide that.
    try:
        await set_pending_state(deps.sessions, pending_id, "done")
        report_id = pending.effect.get("report_id")
        if isinstance(report_id, int):
            await set_report_status(deps.sessions, report_id, "accepted")
        await deps.live.refresh(deps.sessions)
    except Exception as exc:  # noqa: BLE001 - every process picks the revision up anyway
        log.warning("after a rule commit: %s", type(exc).__name__)
    broken = deps.live.broken.get(pending.rule_id)
    if broken is not None and broken.version == version:
        await reply(message, _not_in_force(broken, p.lang))
        return
    await reply(message, mt("done", p.lang, rule=html.escape(pending.rule_id), version=version))


def _not_in_force(broken: Broken, lang: Lang) -> str:
    in_force = (
        mt("in_force_version", lang, version=broken.in_force)
        if broken.in_force is not None
        else mt("in_force_none", lang)
    )
    shown = [x if len(x) <= 200 else x[:199] + "…" for x in broken.problems[:5]]
    return mt(
        "not_in_force",
        lang,
        rule=html.escape(broken.rule_id),
        version=broken.version,
        in_force=in_force,
        problems="\n".join(f"• {html.escape(x)}" for x in shown),
    )


# -- the review queue ------------------------------------------------------------------------------


@moderators_only
async def cmd_reviews(
    update: Update, context: Ctx, deps: Deps, p: Person, message: Message
) -> None:
    reports = await open_reports(deps.sessions)
    votes = await open_wrong_votes(deps.sessions)
    if not reports and not votes:
        await reply(message, mt("reviews_empty", p.lang))
        return
    for r in reports:
        rule = r.rule_id or "—"
        buttons: list[Button] = []
        if r.rule_id and deps.live.get(r.rule_id) is not None:
            buttons.append(Button(mt("as_scam", p.lang, rule=rule), f"rv:scam:{r.id}"))
            buttons.append(Button(mt("as_benign", p.lang, rule=rule), f"rv:benign:{r.id}"))
        buttons.append(Button(mt("dismiss", p.lang), f"rv:dismiss:{r.id}"))
        await reply(
            message,
            mt(
                "report_item",
                p.lang,
                id=r.id,
                date=f"{r.created_at:%Y-%m-%d}",
                rule=html.escape(rule),
                version=f" v{r.rule_version}" if r.rule_version else "",
                risk=r.risk,
                text=html.escape(r.redacted_text[:1500]),
            ),
            tuple((b,) for b in buttons),
        )
    for v in votes:
        await reply(
            message,
            mt(
                "wrong_item",
                p.lang,
                rule=html.escape(v.rule_id or "—"),
                version=v.rule_version or "?",
                date=f"{v.created_at:%Y-%m-%d}",
            ),
            ((Button(mt("dismiss", p.lang), f"rv:vote:{v.id}"),),),
        )


async def _review_action(deps: Deps, p: Person, message: Message, arg: str) -> None:
    kind, _, ident = arg.partition(":")
    if not ident.isdigit():
        return
    item = int(ident)
    if kind == "vote":
        await dismiss_wrong_vote(deps.sessions, item)
        await audit(deps.sessions, p.pseudonym, "review.dismiss_vote", str(item))
        await reply(message, mt("dismissed", p.lang))
        return
    report = await get_report(deps.sessions, item)
    if report is None or report.status != "open":
        await reply(message, mt("expired", p.lang))
        return
    if kind == "dismiss":
        await set_report_status(deps.sessions, item, "dismissed")
        await audit(deps.sessions, p.pseudonym, "review.dismiss_report", str(item))
        await reply(message, mt("dismissed", p.lang))
        return
    if kind in ("scam", "benign"):
        if not report.rule_id:
            await reply(message, mt("no_rule_for_report", p.lang))
            return
        text = report.redacted_text
        await _quick(
            deps,
            p,
            message,
            report.rule_id,
            "addexample",
            f"report #{item}",
            lambda t: add_example(t, kind, text),
            extra={"report_id": item},
        )


# -- admins: moderators ----------------------------------------------------------------------------


async def cmd_mod(update: Update, context: Ctx) -> None:
    deps = deps_of(context)
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    p = await person(update, deps)
    if not is_admin(deps, user.id):
        await audit(deps.sessions, p.pseudonym, REFUSED, "mod")
        await reply(message, mt("admins_only", p.lang))
        return
    if user.id not in _menus_set:
        # The admin's own menu: set once they have talked to the bot (Telegram refuses before).
        _menus_set.add(user.id)
        await _set_menu(message.get_bot(), user.id)
    args, _, _ = split_command(message.text or "")
    if args[:1] == ["list"]:
        mods = await list_moderators(deps.sessions)
        lines = [mt("mod_list", p.lang, n=len(mods))]
        lines += [f"• {short(m.pseudonym)} · {m.created_at:%Y-%m-%d}" for m in mods]
        await reply(message, "\n".join(lines))
        return
    if len(args) != 2 or args[0] not in ("add", "remove") or not args[1].isdigit():
        await reply(message, mt("mod_usage", p.lang))
        return
    target = int(args[1])
    target_p = deps.pseudonym(target)
    if args[0] == "add":
        new = await add_moderator(deps.sessions, target_p, deps.sealer.seal(target), p.pseudonym)
        await audit(deps.sessions, p.pseudonym, "mod.add", short(target_p))
        await reply(message, mt("mod_added" if new else "mod_already", p.lang))
        await _set_menu(message.get_bot(), target)
    else:
        gone = await remove_moderator(deps.sessions, target_p)
        await audit(deps.sessions, p.pseudonym, "mod.remove", short(target_p))
        await reply(message, mt("mod_removed" if gone else "mod_not", p.lang))


# -- jobs ------------------------------------------------------------------------------------------


async def refresh_rules(context: Ctx) -> None:
    """Every few seconds: pick up revisions confirmed in any process."""
    deps = deps_of(context)
    try:
        await deps.live.refresh(deps.sessions)
    except Exception as exc:  # noqa: BLE001 - keep the rules in force while the database is away
        log.warning("rule refresh failed: %s", type(exc).__name__)


async def review_reminder(context: Ctx) -> None:
    """Weekly: tell moderators which rules are past their review date (once across processes)."""
    deps = deps_of(context)
    today = dt.date.today()
    due = sorted(
        cr.rule.id
        for cr in deps.live.engine().rules.rules
        if cr.rule.review_by is not None and cr.rule.review_by < today
    )
    if not due:
        return
    week = week_id(utcnow(), ZoneInfo("UTC"))
    async with exclusive(engine_of(deps.sessions), "review-reminder") as mine:
        if not mine:
            return
        if await already_done(deps.sessions, "review.reminder", week):
            return
        await audit(deps.sessions, "system", "review.reminder", week, rules=due)
        chats = set(deps.settings.moderation.admins)
        chats |= {deps.sealer.open(m.chat_sealed) for m in await list_moderators(deps.sessions)}
        text = (
            mt("review_due", "en", rules=", ".join(due))
            + "\n"
            + mt("review_due", "zh-hans", rules=", ".join(due))
        )
        for chat in sorted(chats):
            try:
                await with_retries(
                    lambda c=chat: context.bot.send_message(c, text, parse_mode=ParseMode.HTML),  # type: ignore[misc]
                    "review reminder",
                )
            except Exception as exc:  # noqa: BLE001 - one unreachable moderator must not stop it
                log.warning("review reminder not delivered: %s", type(exc).__name__)
