"""What the bot says, in Simplified Chinese, Traditional Chinese and English.

Owns: every user-facing string of the Telegram layer, the choice of language and region from a
Telegram user, and Traditional Chinese for rule texts (written in Simplified in the rules and
converted phrase by phrase with OpenCC's Taiwan or Hong Kong idioms). The Traditional UI strings
below are written by hand, not converted, so they read naturally.
"""

from __future__ import annotations

import opencc

from bot.lang import LANGS, Lang, rule_text

_T2S = opencc.OpenCC("t2s")

__all__ = [
    "LANGS",
    "WEEKDAYS",
    "Lang",
    "language_for",
    "language_of_text",
    "region_for",
    "region_name",
    "rule_text",
    "t",
]

_REGION_BY_CODE = {
    "zh-tw": "TW",
    "zh-hk": "HK",
    "zh-mo": "HK",
    "zh-sg": "SG",
    "zh-cn": "CN",
    "zh-hans": "CN",
    "zh": "CN",
    "en-sg": "SG",
    "en-gb": "GB",
    "en-us": "US",
    "en-hk": "HK",
    "zh-hant": "TW",
}


def language_for(code: str | None, default: Lang) -> Lang:
    """The reply language for a Telegram ``language_code``: ``default`` when Telegram sends
    none; English for a language the bot does not speak (a Russian or Italian reader is far
    likelier to read English than Chinese)."""
    if not code:
        return default
    c = code.lower()
    if c.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-hant"
    if c.startswith("zh"):
        return "zh-hans"
    return "en"


def language_of_text(text: str, fallback: Lang) -> Lang:
    """The language a message is written in: Chinese (Traditional if OpenCC would change it)
    when a fifth of its letters are Chinese characters, English when it is mostly Latin."""
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    letters = sum(1 for c in text if c.isalpha())
    if letters == 0:
        return fallback
    if len(han) * 5 >= letters:
        joined = "".join(han)
        return "zh-hant" if _T2S.convert(joined) != joined else "zh-hans"
    return "en" if text.isascii() or len(han) == 0 else fallback


def region_for(code: str | None, lang: Lang, default_by_lang: dict[str, str]) -> str:
    """The region whose anti-fraud hotline to show."""
    if code and code.lower() in _REGION_BY_CODE:
        return _REGION_BY_CODE[code.lower()]
    return default_by_lang.get(lang, "CN")


T: dict[str, dict[Lang, str]] = {
    "start": {
        "zh-hans": (
            "👋 我是 <b>Sentinel 反诈助手</b>。\n\n"
            "把可疑的消息、截图或链接<b>转发</b>给我，我会告诉你：它像哪一种已知的诈骗流程、"
            "你已经走到了哪一步、对方接下来会要你做什么，以及现在该怎么做。\n\n"
            "🔒 我不保存你的消息内容、名字或电话，只记录匿名的统计事实（例如“某类诈骗被识别一次”）。"
            "/privacy 查看详情，/forget 随时删除。\n\n请选择语言："
        ),
        "zh-hant": (
            "👋 我是 <b>Sentinel 防詐小幫手</b>。\n\n"
            "把可疑的訊息、截圖或連結<b>轉傳</b>給我，我會告訴你：它像哪一種已知的詐騙手法、"
            "你已經走到哪一步、對方接下來會要你做什麼，以及現在該怎麼做。\n\n"
            "🔒 我不會保存你的訊息內容、姓名或電話，只記錄匿名的統計資料（例如「某類詐騙被辨識一次」）。"
            "/privacy 查看詳情，/forget 隨時刪除。\n\n請選擇語言："
        ),
        "en": (
            "👋 I'm <b>Sentinel</b>, an anti-scam helper.\n\n"
            "<b>Forward</b> me a suspicious message, screenshot or link. I'll tell you which known "
            "scam flow it matches, how far along it you are, what they will ask next, and what to "
            "do now.\n\n"
            "🔒 I don't keep your messages, name or phone number — only anonymous facts such as "
            '"one fake-courier scam recognised". /privacy for details, /forget to delete them.\n\n'
            "Choose your language:"
        ),
    },
    "help": {
        "zh-hans": (
            "怎么用：\n• 转发可疑消息给我（可以一次转发几条，我会一起分析）\n• 发送聊天截图或含二维码的图片\n"
            "• 直接粘贴文字或链接\n\n命令：/digest 本周反诈速报　/lang 语言　/region 地区　/privacy 隐私　/mydata 我的数据　/forget 删除我的数据\n\n"
            "在群里：把我加进群，我只在发现<b>高风险</b>诈骗时出声。请把我设为<b>管理员</b>，"
            "否则 Telegram 不让我看到群里的普通消息（除非机器人的主人关闭了隐私模式）。"
            "群管理员发送 /sentinel 可查看并选择模式：提醒、静音提醒、删除并通知管理员，或关闭；"
            "删除模式还需要给我“删除消息”权限。"
        ),
        "zh-hant": (
            "怎麼用：\n• 把可疑訊息轉傳給我（可以一次轉傳好幾則，我會一起分析）\n• 傳送對話截圖或含 QR Code 的圖片\n"
            "• 直接貼上文字或連結\n\n指令：/digest 本週防詐快報　/lang 語言　/region 地區　/privacy 隱私　/mydata 我的資料　/forget 刪除我的資料\n\n"
            "在群組裡：把我加進群組，我只會在發現<b>高風險</b>詐騙時出聲。請把我設為<b>管理員</b>，"
            "否則 Telegram 不讓我看到群組裡的一般訊息（除非機器人的擁有者關閉了隱私模式）。"
            "群組管理員傳送 /sentinel 可以查看並選擇模式：提醒、靜音提醒、刪除並通知管理員，或關閉；"
            "刪除模式還需要給我「刪除訊息」權限。"
        ),
        "en": (
            "How to use me:\n• Forward a suspicious message (several at once is fine — I'll read them "
            "together)\n• Send a screenshot or a picture with a QR code\n• Or paste the text or link\n\n"
            "Commands: /digest this week's scam report · /lang language · /region your region · /privacy · /mydata · /forget\n\n"
            "In groups: add me and I speak up only on <b>high-risk</b> scam posts. Make me an "
            "<b>admin</b>: otherwise Telegram does not show me the group's ordinary messages (unless "
            "my owner turned privacy mode off). Group admins send /sentinel to see and choose a mode: "
            "warn, warn silently, delete and tell the admins, or off; deleting also needs the "
            "“Delete messages” right."
        ),
    },
    "privacy": {
        "zh-hans": (
            "🔒 <b>我保存什么</b>\n每次识别到诈骗时，只记录：时间、诈骗类型和步骤、风险等级、语言、私聊还是群聊、"
            "消息类型，以及消息里链接的域名（属于诈骗网站，不是你的数据）。你的身份用不可逆的加密代号表示。\n\n"
            "<b>我不保存</b>：消息原文、名字、用户名、电话号码、Telegram ID。\n\n"
            "只有你点“提交给审核员”并确认时，才会保存那条消息——而且先去掉电话、卡号、证件号、姓名和地址。\n\n"
            "记录会在一段时间后自动删除。/mydata 查看，/forget 立即删除。"
        ),
        "zh-hant": (
            "🔒 <b>我會保存什麼</b>\n每次辨識到詐騙時，只記錄：時間、詐騙類型和步驟、風險等級、語言、私訊還是群組、"
            "訊息類型，以及訊息中連結的網域（屬於詐騙網站，不是你的資料）。你的身分以不可逆的加密代號表示。\n\n"
            "<b>我不保存</b>：訊息原文、姓名、使用者名稱、電話號碼、Telegram ID。\n\n"
            "只有在你按下「提交給審核員」並確認後，才會保存那則訊息——而且會先去除電話、卡號、證件號碼、姓名和地址。\n\n"
            "紀錄會在一段時間後自動刪除。/mydata 查看，/forget 立即刪除。"
        ),
        "en": (
            "🔒 <b>What I keep</b>\nFor each scam I recognise: the time, the scam type and stages, the "
            "risk level, the language, private or group chat, the kind of message, and the domains of "
            "links in it (the scammers' sites, not your data). You are represented by an irreversible "
            "pseudonym.\n\n<b>What I never keep</b>: your message text, name, username, phone number "
            'or Telegram ID.\n\nOnly if you tap "send to moderators" and confirm is that message kept '
            "— after phone numbers, card numbers, ID numbers, names and addresses are removed.\n\n"
            "Records expire automatically. /mydata to see them, /forget to delete them now."
        ),
    },
    "lang_prompt": {
        "zh-hans": "请选择语言：",
        "zh-hant": "請選擇語言：",
        "en": "Choose your language:",
    },
    "region_prompt": {
        "zh-hans": "你在哪个地区？我会给你当地的反诈电话。现在是：{region}",
        "zh-hant": "你在哪個地區？我會給你當地的反詐騙專線。目前是：{region}",
        "en": "Where are you? I'll give you the local anti-fraud line. Now: {region}",
    },
    "start_region": {
        "zh-hans": "📍 地区：{region}（反诈专线 {number}）。不对的话发送 /region 修改。",
        "zh-hant": "📍 地區：{region}（反詐騙專線 {number}）。不對的話傳送 /region 修改。",
        "en": "📍 Region: {region} (anti-fraud line {number}). Not right? Send /region.",
    },
    "region_set": {
        "zh-hans": "好的，地区已设为{region}。反诈专线：{number}",
        "zh-hant": "好的，地區已設為{region}。反詐騙專線：{number}",
        "en": "Done — region set to {region}. Anti-fraud line: {number}",
    },
    "lang_set": {
        "zh-hans": "好的，以后我用简体中文回复。",
        "zh-hant": "好的，之後我會用繁體中文回覆。",
        "en": "Done — I'll reply in English.",
    },
    "mydata": {
        "zh-hans": "🔒 关于你，我保存了：\n• 检查记录 {hits} 条\n• 反馈 {feedback} 条\n• 提交的（已去除个人信息的）消息 {reports} 条\n• 操作日志 {audit} 条\n• 语言设置：{language}\n\n不包含任何消息原文、名字或电话。/forget 可全部删除。",
        "zh-hant": "🔒 關於你，我保存了：\n• 檢查紀錄 {hits} 筆\n• 回饋 {feedback} 筆\n• 提交的（已去除個資的）訊息 {reports} 則\n• 操作紀錄 {audit} 筆\n• 語言設定：{language}\n\n不包含任何訊息原文、姓名或電話。/forget 可全部刪除。",
        "en": "🔒 What I keep about you:\n• {hits} check record(s)\n• {feedback} feedback vote(s)\n• {reports} message(s) you sent to moderators (personal data removed)\n• {audit} entry(ies) in the moderation log\n• language setting: {language}\n\nNo message text, name or phone number. /forget deletes all of it.",
    },
    "forget_confirm": {
        "zh-hans": "要删除我为你保存的全部记录吗？包括检查记录、反馈、提交的举报、语言设置和订阅。删除后无法恢复。",
        "zh-hant": "要刪除我為你保存的所有紀錄嗎？包括檢查紀錄、回饋、送出的檢舉、語言設定和訂閱。刪除後無法復原。",
        "en": "Delete everything I keep about you? That is your check records, feedback, reports you sent, your language choice and subscription. This cannot be undone.",
    },
    "forget_cancelled": {
        "zh-hans": "好的，没有删除任何记录。",
        "zh-hant": "好的，沒有刪除任何紀錄。",
        "en": "OK, nothing was deleted.",
    },
    "btn_forget": {"zh-hans": "🗑 全部删除", "zh-hant": "🗑 全部刪除", "en": "🗑 Delete it all"},
    "forget_done": {
        "zh-hans": "🗑 已删除与你相关的全部记录（共 {total} 条）。",
        "zh-hant": "🗑 已刪除與你相關的所有紀錄（共 {total} 筆）。",
        "en": "🗑 Deleted everything I kept about you ({total} record(s)).",
    },
    "none_set": {"zh-hans": "未设置", "zh-hant": "未設定", "en": "not set"},
    "risk_high": {
        "zh-hans": "🚨 <b>高风险：这与已知的诈骗流程吻合</b>",
        "zh-hant": "🚨 <b>高風險：這與已知的詐騙手法吻合</b>",
        "en": "🚨 <b>High risk: this matches a known scam</b>",
    },
    "risk_medium": {
        "zh-hans": "⚠️ <b>中风险：很像已知的诈骗流程</b>",
        "zh-hant": "⚠️ <b>中風險：很像已知的詐騙手法</b>",
        "en": "⚠️ <b>Medium risk: this looks like a known scam</b>",
    },
    "risk_low": {
        "zh-hans": "🟡 <b>低风险：有已知诈骗流程的部分特征</b>",
        "zh-hant": "🟡 <b>低風險：有已知詐騙手法的部分特徵</b>",
        "en": "🟡 <b>Low risk: some signs of a known scam</b>",
    },
    "risk_none": {
        "zh-hans": "ℹ️ <b>未匹配到已知的诈骗模式。</b>\n这不代表它一定可信——新的骗术随时出现。",
        "zh-hant": "ℹ️ <b>沒有比對到已知的詐騙模式。</b>\n這不代表它一定可信——新的詐騙手法隨時會出現。",
        "en": "ℹ️ <b>No known scam pattern matched.</b>\nThat does not prove it is genuine — new tricks appear all the time.",
    },
    "family": {"zh-hans": "类型：", "zh-hant": "類型：", "en": "Type: "},
    "seen": {
        "zh-hans": "已出现的步骤：",
        "zh-hant": "已出現的步驟：",
        "en": "What has happened so far:",
    },
    "reached": {
        "zh-hans": "你已到第 {n} 步（共 {total} 步）：{title}",
        "zh-hant": "你已經到第 {n} 步（共 {total} 步）：{title}",
        "en": "You are at step {n} of {total}: {title}",
    },
    "next": {
        "zh-hans": "接下来对方可能会：",
        "zh-hant": "接下來對方可能會：",
        "en": "What they will ask next:",
    },
    "todo": {"zh-hans": "现在该做：", "zh-hant": "現在該做：", "en": "What to do now:"},
    "todo_all": {"zh-hans": "该怎么做：", "zh-hant": "該怎麼做：", "en": "What to do:"},
    "btn_details": {"zh-hans": "🔎 详细分析", "zh-hant": "🔎 詳細分析", "en": "🔎 Details"},
    "btn_short": {"zh-hans": "⬅️ 简要", "zh-hant": "⬅️ 簡要", "en": "⬅️ Short view"},
    "btn_family": {
        "zh-hans": "👪 转发给家人",
        "zh-hant": "👪 轉傳給家人",
        "en": "👪 Send to family",
    },
    "view_expired": {
        "zh-hans": "这条回复太久了，详情已不保留。请把消息再发给我一次。",
        "zh-hant": "這則回覆太久了，詳情已不保留。請把訊息再傳給我一次。",
        "en": "This reply is too old; its details are no longer kept. Send me the message again.",
    },
    "family_sent": {
        "zh-hans": "提醒卡片已发出：长按它，转发给家人。",
        "zh-hant": "提醒卡片已傳出：長按它，轉傳給家人。",
        "en": "The warning card is below: long-press it and forward it to your family.",
    },
    "family_card": {
        "zh-hans": "⚠️ <b>提醒：小心这种骗局</b>\n<b>{title}</b>",
        "zh-hant": "⚠️ <b>提醒：小心這種騙局</b>\n<b>{title}</b>",
        "en": "⚠️ <b>Watch out for this scam</b>\n<b>{title}</b>",
    },
    "family_card_end": {
        "zh-hans": "拿不准就先别转账，打电话问问家人。",
        "zh-hant": "拿不準就先別轉帳，打電話問問家人。",
        "en": "If in doubt, pay nothing and call family first.",
    },
    "hotline": {
        "zh-hans": "☎️ 反诈专线：{number}",
        "zh-hant": "☎️ 反詐騙專線：{number}",
        "en": "☎️ Anti-fraud hotline: {number}",
    },
    "general_advice": {
        "zh-hans": "• 不要点陌生人发来的链接，也不要安装对方让你装的 App。\n• 任何时候都不要把验证码、银行卡号和密码告诉别人。\n• 主动说要给你钱、帮你退款的人，不会是在为你办事。\n• 通过官方 App 或官方电话核实，不要用对方提供的号码或链接。",
        "zh-hant": "• 不要點陌生人傳來的連結，也不要安裝對方要你裝的 App。\n• 任何時候都不要把驗證碼、信用卡或金融卡號碼和密碼告訴別人。\n• 主動說要給你錢、幫你退款的人，不會是在替你辦事。\n• 透過官方 App 或官方電話查證，不要用對方提供的號碼或連結。",
        "en": "• Don't open links or install apps that strangers send you.\n• Never share verification codes, card numbers or passwords.\n• Nobody who offers to pay you out of the blue is working for you.\n• Check through the official app or official number — not the one in the message.",
    },
    "btn_helpful": {"zh-hans": "👍 有帮助", "zh-hant": "👍 有幫助", "en": "👍 Helpful"},
    "btn_wrong": {"zh-hans": "👎 判断有误", "zh-hant": "👎 判斷有誤", "en": "👎 Wrong"},
    "btn_report": {
        "zh-hans": "📨 提交给审核员",
        "zh-hant": "📨 提交給審核員",
        "en": "📨 Send to moderators",
    },
    "btn_confirm": {
        "zh-hans": "✅ 确认提交（去除个人信息）",
        "zh-hant": "✅ 確認提交（去除個資）",
        "en": "✅ Send (personal data removed)",
    },
    "btn_cancel": {"zh-hans": "✖ 取消", "zh-hant": "✖ 取消", "en": "✖ Cancel"},
    "report_consent": {
        "zh-hans": "将把这条消息去除电话、卡号、证件号、姓名和地址后交给审核员改进规则。确认请点“确认提交”。",
        "zh-hant": "會把這則訊息去除電話、卡號、證件號碼、姓名和地址後交給審核員改進規則。確認請按「確認提交」。",
        "en": "The message will go to moderators with phone, card and ID numbers, names and addresses removed. Tap Send to confirm.",
    },
    "report_sent": {
        "zh-hans": "已提交，谢谢！",
        "zh-hant": "已提交，謝謝！",
        "en": "Sent — thank you!",
    },
    "report_gone": {
        "zh-hans": "找不到原消息了，请重新转发后再提交。",
        "zh-hant": "找不到原訊息了，請重新轉傳後再提交。",
        "en": "I can no longer see the original message; forward it again and resend.",
    },
    "subscribed": {
        "zh-hans": "✅ 已订阅每周反诈速报：每{day} {time}（{zone}）发送。/unsubscribe 可取消。",
        "zh-hant": "✅ 已訂閱每週防詐快報：每{day} {time}（{zone}）傳送。/unsubscribe 可取消。",
        "en": "✅ Subscribed to the weekly scam report: every {day} at {time} ({zone}). /unsubscribe to stop.",
    },
    "unsubscribed": {
        "zh-hans": "已取消订阅每周速报。",
        "zh-hant": "已取消訂閱每週快報。",
        "en": "Unsubscribed from the weekly report.",
    },
    "report_failed": {
        "zh-hans": "暂时没能保存，请稍后再试。",
        "zh-hant": "暫時沒能儲存，請稍後再試。",
        "en": "Couldn't save that just now — please try again in a moment.",
    },
    "thanks": {"zh-hans": "谢谢反馈！", "zh-hant": "謝謝回饋！", "en": "Thanks for the feedback!"},
    "too_long": {
        "zh-hans": "这条消息太长了（超过 {limit} 字）。请只发送可疑的那一段。",
        "zh-hant": "這則訊息太長了（超過 {limit} 字）。請只傳送可疑的那一段。",
        "en": "That message is too long (over {limit} characters). Please send just the suspicious part.",
    },
    "empty": {
        "zh-hans": "这条消息是空的。请转发可疑的消息、截图或链接。",
        "zh-hant": "這則訊息是空的。請轉傳可疑的訊息、截圖或連結。",
        "en": "That message is empty. Forward me a suspicious message, screenshot or link.",
    },
    "image_too_large": {
        "zh-hans": "这张图片太大了（超过 {mb} MB）。请发送截图，或直接粘贴文字。",
        "zh-hant": "這張圖片太大了（超過 {mb} MB）。請傳送截圖，或直接貼上文字。",
        "en": "That image is too large (over {mb} MB). Send a screenshot, or paste the text.",
    },
    "image_too_many_pixels": {
        "zh-hans": "这张图片的像素太多了（超过 {mp} 百万像素），我不读取这么大的图。请发送普通截图，或直接粘贴文字。",
        "zh-hant": "這張圖片的像素太多了（超過 {mp} 百萬像素），我不讀取這麼大的圖。請傳送一般截圖，或直接貼上文字。",
        "en": "That image has too many pixels (over {mp} megapixels) for me to read. Send an ordinary screenshot, or paste the text.",
    },
    "not_image": {
        "zh-hans": "我只能读取图片和文字。请发送截图，或把可疑内容粘贴成文字。",
        "zh-hant": "我只能讀取圖片和文字。請傳送截圖，或把可疑內容貼成文字。",
        "en": "I can only read pictures and text. Send a screenshot, or paste the suspicious text.",
    },
    "bad_image": {
        "zh-hans": "这张图片打不开，可能已损坏。请重新截图发送。",
        "zh-hant": "這張圖片打不開，可能已損壞。請重新截圖傳送。",
        "en": "I couldn't open that image — it may be damaged. Please take a new screenshot.",
    },
    "no_text_in_image": {
        "zh-hans": "图片里没有读到文字或二维码。可以把可疑内容粘贴成文字发给我。",
        "zh-hant": "圖片裡沒有讀到文字或 QR Code。可以把可疑內容貼成文字傳給我。",
        "en": "I found no text or QR code in that picture. You can paste the suspicious text instead.",
    },
    "sticker": {
        "zh-hans": "贴纸我看不懂 🙂 请转发可疑的消息、截图或链接。",
        "zh-hant": "貼圖我看不懂 🙂 請轉傳可疑的訊息、截圖或連結。",
        "en": "I can't read stickers 🙂 Forward a suspicious message, screenshot or link.",
    },
    "voice": {
        "zh-hans": "我还听不懂语音和视频。请把内容打成文字，或发送截图。如果是电话里有人这样说，直接挂断最安全。",
        "zh-hant": "我還聽不懂語音和影片。請把內容打成文字，或傳送截圖。如果是電話裡有人這樣說，直接掛斷最安全。",
        "en": "I can't listen to voice or video yet. Type out what was said, or send a screenshot. If it's a caller saying this, hanging up is safest.",
    },
    "unsupported": {
        "zh-hans": "这类消息我读不了。请转发文字、截图或链接。",
        "zh-hant": "這類訊息我讀不了。請轉傳文字、截圖或連結。",
        "en": "I can't read this kind of message. Forward text, a screenshot or a link.",
    },
    # The victim path: what cannot wait, for the acts a person says they already did.
    "victim_title": {
        "zh-hans": "🆘 <b>如果你已经按对方说的做了，现在马上做这几件事：</b>",
        "zh-hant": "🆘 <b>如果你已經照對方說的做了，現在馬上做這幾件事：</b>",
        "en": "🆘 <b>If you have already done what they asked, do these now:</b>",
    },
    "victim_paid": {
        "zh-hans": "1️⃣ 立刻打电话给你的银行或支付平台（用卡背面或官方 App 里的号码），要求止付、冻结账户。越早打，越有机会拦下钱。",
        "zh-hant": "1️⃣ 立刻打電話給你的銀行或支付平臺（用卡片背面或官方 App 裡的號碼），要求止付、凍結帳戶。越早打，越有機會攔下款項。",
        "en": "1️⃣ Call your bank or payment app right now (the number on your card or in the official app) and ask them to stop the payment and block the card. The sooner you call, the better the chance.",
    },
    "victim_card": {
        "zh-hans": "1️⃣ 立刻打电话给发卡银行（卡背面的号码）挂失、冻结这张卡，并查看最近的交易。",
        "zh-hant": "1️⃣ 立刻打電話給發卡銀行（卡片背面的號碼）掛失、凍結這張卡，並檢查最近的交易。",
        "en": "1️⃣ Call the bank that issued the card now (the number on its back), block the card and check the latest transactions.",
    },
    "victim_code": {
        "zh-hans": "🔑 马上修改那个验证码保护的账户的密码，并通过官方客服冻结账户：拿到验证码的人可能正在登录或转走钱。",
        "zh-hant": "🔑 馬上修改那組驗證碼保護的帳戶密碼，並透過官方客服凍結帳戶：拿到驗證碼的人可能正在登入或轉走款項。",
        "en": "🔑 Change the password of the account that code protects and call its official support to lock it: whoever has the code may be logging in right now.",
    },
    "victim_app": {
        "zh-hans": "📵 打开飞行模式，结束屏幕共享，卸载对方让你装的 App；再用另一台设备修改网银和支付密码。",
        "zh-hant": "📵 開啟飛航模式，結束螢幕分享，移除對方要你安裝的 App；再用另一部裝置修改網銀和支付密碼。",
        "en": "📵 Turn on flight mode, stop any screen sharing and uninstall the app they had you install; then change your banking passwords from another device.",
    },
    "victim_police": {
        "zh-hans": "🚓 报警，并拨打反诈专线 {hotline}。",
        "zh-hant": "🚓 報警，並撥打反詐騙專線 {hotline}。",
        "en": "🚓 Report it to the police and the anti-fraud line: {hotline}.",
    },
    "victim_police_only": {
        "zh-hans": "🚓 尽快报警。",
        "zh-hant": "🚓 盡快報警。",
        "en": "🚓 Report it to the police.",
    },
    "victim_keep": {
        "zh-hans": "🗂 保留全部聊天记录、转账凭证和对方的账号，不要删。不要再付任何钱：“解冻费”“保证金”“帮你追回”都是同一个骗局的下一步。",
        "zh-hant": "🗂 保留所有聊天紀錄、轉帳證明和對方的帳號，不要刪除。不要再付任何錢：「解凍費」「保證金」「幫你追回」都是同一個騙局的下一步。",
        "en": "🗂 Keep every message, receipt and the scammer's account details; delete nothing. Pay nothing more: a “fee to release” or “recover” your money is the next step of the same scam.",
    },
    "victim_send_more": {
        "zh-hans": "把对方发来的消息或截图转发给我，我帮你看是哪一种骗局、下一步对方会做什么。",
        "zh-hant": "把對方傳來的訊息或截圖轉傳給我，我幫你看是哪一種騙局、對方下一步會做什麼。",
        "en": "Forward me their messages or screenshots and I will tell you which scam it is and what they will try next.",
    },
    "continued": {
        "zh-hans": "🔁 接着你刚才发来的消息一起看：",
        "zh-hant": "🔁 連同你剛才傳來的訊息一起看：",
        "en": "🔁 Read together with the message you sent me just before:",
    },
    "ask_what": {
        "zh-hans": "❓ 你问的是哪条消息？把它转发给我，或者长按那条消息回复“这是诈骗吗”，我就检查它。",
        "zh-hant": "❓ 你問的是哪則訊息？把它轉傳給我，或長按那則訊息回覆「這是詐騙嗎」，我就檢查它。",
        "en": "❓ Which message do you mean? Forward it to me, or reply to it with “is this a scam?”, and I will check it.",
    },
    "checked_reply": {
        "zh-hans": "🔎 检查的是你回复（或引用）的那条消息：",
        "zh-hant": "🔎 檢查的是你回覆（或引用）的那則訊息：",
        "en": "🔎 I checked the message you replied to (or quoted):",
    },
    "check_usage": {
        "zh-hans": "请在回复可疑消息时发送 /check（长按那条消息 → 回复），我就检查那条消息。",
        "zh-hant": "請在回覆可疑訊息時傳送 /check（長按那則訊息 → 回覆），我就檢查那則訊息。",
        "en": "Send /check as a reply to the suspicious message (long-press it → Reply) and I'll check that message.",
    },
    "conversation_moved": {
        "zh-hans": "⬇️ 这段对话又转来了新消息，检查结果有变化：请看下方最新的回复。",
        "zh-hant": "⬇️ 這段對話又轉來了新訊息，檢查結果有變化：請看下方最新的回覆。",
        "en": "⬇️ More of this conversation came in and the result changed: see the newest reply below.",
    },
    "flood": {
        "zh-hans": "你发得有点快，我稍等几秒再继续检查。",
        "zh-hant": "你傳得有點快，我等幾秒再繼續檢查。",
        "en": "You're sending messages quickly — I'll pause for a few seconds, then carry on.",
    },
    "error": {
        "zh-hans": "抱歉，检查时出了问题。请稍后再发一次。在确认之前，不要转账，也不要提供验证码。",
        "zh-hant": "抱歉，檢查時出了問題。請稍後再傳一次。在確認之前，不要轉帳，也不要提供驗證碼。",
        "en": "Sorry, something went wrong while checking. Please send it again in a moment. Until then, don't pay anything or share any codes.",
    },
    "reading_image": {
        "zh-hans": "🔎 正在读取图片…",
        "zh-hant": "🔎 正在讀取圖片…",
        "en": "🔎 Reading the picture…",
    },
    "group_added": {
        "zh-hans": "大家好，我是 Sentinel 反诈助手。我只在发现高风险诈骗信息时回复那条消息，平时不会说话。想问某条消息可不可信，回复它并发送 /check。\n\n<b>管理员请注意</b>：请把我设为管理员，否则 Telegram 不让我看到群里的普通消息（除非机器人的主人关闭了隐私模式）。想让我直接删除诈骗消息并通知管理员，请再给我“删除消息”权限，然后发送 /sentinel delete。发送 /sentinel 可查看所有模式。",
        "zh-hant": "大家好，我是 Sentinel 防詐小幫手。我只會在發現高風險詐騙訊息時回覆那則訊息，平常不會說話。想問某則訊息可不可信，回覆它並傳送 /check。\n\n<b>管理員請注意</b>：請把我設為管理員，否則 Telegram 不讓我看到群組裡的一般訊息（除非機器人的擁有者關閉了隱私模式）。想讓我直接刪除詐騙訊息並通知管理員，請再給我「刪除訊息」權限，然後傳送 /sentinel delete。傳送 /sentinel 可以查看所有模式。",
        "en": "Hi all, I'm Sentinel. I only speak up to reply to high-risk scam posts. To ask about a message, reply to it with /check.\n\n<b>Admins</b>: make me an admin, otherwise Telegram does not show me the group's ordinary messages (unless my owner turned privacy mode off). To have me delete scam posts and tell you, also give me the “Delete messages” right, then send /sentinel delete. /sentinel lists every mode.",
    },
    "group_mode": {
        "zh-hans": "已设置：{mode}（{what}）。",
        "zh-hant": "已設定：{mode}（{what}）。",
        "en": "Set to: {mode} ({what}).",
    },
    "mode_on": {
        "zh-hans": "回复高风险诈骗消息，提醒大家",
        "zh-hant": "回覆高風險詐騙訊息，提醒大家",
        "en": "I reply to high-risk scam posts with a warning",
    },
    "mode_quiet": {
        "zh-hans": "同样回复提醒，但不发通知音",
        "zh-hant": "同樣回覆提醒，但不發通知音",
        "en": "the same warning, without a notification sound",
    },
    "mode_delete": {
        "zh-hans": "删除高风险诈骗消息，并在群里通知管理员，附“恢复”按钮；需要我是有“删除消息”权限的管理员",
        "zh-hant": "刪除高風險詐騙訊息，並在群組裡通知管理員，附「恢復」按鈕；需要我是有「刪除訊息」權限的管理員",
        "en": "I delete high-risk scam posts and tell the admins here, with a Restore button; needs me to be an admin with the “Delete messages” right",
    },
    "mode_off": {
        "zh-hans": "不检查群里的消息",
        "zh-hant": "不檢查群組裡的訊息",
        "en": "I don't check the group's posts",
    },
    "sentinel_modes": {
        "zh-hans": "<b>/sentinel 模式</b>——我怎样处理高风险诈骗消息：\n{modes}\n\n现在：<b>{mode}</b>。只有群管理员可以修改，例如 /sentinel delete。",
        "zh-hant": "<b>/sentinel 模式</b>——我怎麼處理高風險詐騙訊息：\n{modes}\n\n現在：<b>{mode}</b>。只有群組管理員可以修改，例如 /sentinel delete。",
        "en": "<b>/sentinel mode</b> — what I do about a high-risk scam post:\n{modes}\n\nNow: <b>{mode}</b>. Only group admins can change it, e.g. /sentinel delete.",
    },
    "cannot_delete": {
        "zh-hans": "⚠️ 管理员选择了删除诈骗消息，但我在这里没有删除消息的权限，所以先改为回复提醒。请把我设为管理员并打开“删除消息”权限。（这条说明只发一次。）",
        "zh-hant": "⚠️ 管理員選擇了刪除詐騙訊息，但我在這裡沒有刪除訊息的權限，所以先改為回覆提醒。請把我設為管理員並開啟「刪除訊息」權限。（這則說明只發一次。）",
        "en": "⚠️ Admins chose to have scam posts deleted, but I'm not allowed to delete messages here, so I reply instead. Make me an admin with the “Delete messages” right. (I say this only once.)",
    },
    "cannot_delete_yet": {
        "zh-hans": "⚠️ 我在这里还没有删除消息的权限：请把我设为管理员并打开“删除消息”权限。在那之前，我会改为回复提醒。",
        "zh-hant": "⚠️ 我在這裡還沒有刪除訊息的權限：請把我設為管理員並開啟「刪除訊息」權限。在那之前，我會改為回覆提醒。",
        "en": "⚠️ I'm not allowed to delete messages here yet: make me an admin with the “Delete messages” right. Until then I reply to scam posts instead.",
    },
    "removed_notice": {
        "zh-hans": "🛡 <b>我删除了一条很像“{title}”诈骗的消息</b>（高风险）。\n管理员：如果它不是诈骗，请在一小时内点“恢复”。",
        "zh-hant": "🛡 <b>我刪除了一則很像「{title}」詐騙的訊息</b>（高風險）。\n管理員：如果它不是詐騙，請在一小時內按「恢復」。",
        "en": "🛡 <b>I deleted a post that looks like a “{title}” scam</b> (high risk).\nAdmins: if it was not a scam, press Restore within an hour.",
    },
    "restore_button": {"zh-hans": "↩️ 恢复", "zh-hant": "↩️ 恢復", "en": "↩️ Restore"},
    "restored_header": {
        "zh-hans": "↩️ 管理员已恢复——原发送者：{name}",
        "zh-hant": "↩️ 管理員已恢復——原發送者：{name}",
        "en": "↩️ Restored by an admin — originally posted by {name}",
    },
    "restored_note": {
        "zh-hans": "✅ 管理员已恢复这条消息。",
        "zh-hant": "✅ 管理員已恢復這則訊息。",
        "en": "✅ An admin restored this post.",
    },
    "restored": {"zh-hans": "已恢复。", "zh-hant": "已恢復。", "en": "Restored."},
    "restore_failed": {
        "zh-hans": "暂时没能重新发出这条消息，请稍后再试。",
        "zh-hant": "暫時沒能重新發出這則訊息，請稍後再試。",
        "en": "Couldn't post it again just now — please try again in a moment.",
    },
    "restore_admins_only": {
        "zh-hans": "只有群管理员可以恢复被删除的消息。",
        "zh-hant": "只有群組管理員可以恢復被刪除的訊息。",
        "en": "Only the group's admins can restore a deleted post.",
    },
    "restore_gone": {
        "zh-hans": "抱歉，这条消息的副本已经不在了：我只在内存里保存一小时，所以无法恢复。",
        "zh-hant": "抱歉，這則訊息的副本已經不在了：我只在記憶體裡保存一小時，所以無法恢復。",
        "en": "Sorry, the copy of this post is gone: I keep it in memory only, for an hour, so it can't be restored.",
    },
    "sentinel_in_private": {
        "zh-hans": "/sentinel 是群组设置：把我加进群组后，由群管理员在群里发送 /sentinel on｜quiet｜delete｜off（只发 /sentinel 可查看每个模式的说明）。",
        "zh-hant": "/sentinel 是群組設定：把我加進群組後，由群組管理員在群組裡傳送 /sentinel on｜quiet｜delete｜off（只傳 /sentinel 可以查看每個模式的說明）。",
        "en": "/sentinel is a group setting: add me to a group, then a group admin sends /sentinel on | quiet | delete | off there (/sentinel alone explains each mode).",
    },
    "admins_only": {
        "zh-hans": "只有群管理员可以修改这个设置。",
        "zh-hant": "只有群組管理員可以修改這個設定。",
        "en": "Only group admins can change this.",
    },
    "business_warning": {
        "zh-hans": "🚨 <b>一位客户刚发到你商业账号的消息很像“{title}”诈骗。</b>\n{advice}\n我没有回复对方。",
        "zh-hant": "🚨 <b>一位客戶剛傳到你商業帳號的訊息很像「{title}」詐騙。</b>\n{advice}\n我沒有回覆對方。",
        "en": "🚨 <b>A message a customer just sent to your business account looks like a “{title}” scam.</b>\n{advice}\nI have not answered them.",
    },
    "group_warning": {
        "zh-hans": "🚨 <b>提醒：这条消息很像“{title}”诈骗。</b>\n{advice}\n私聊我可获得详细分析。",
        "zh-hant": "🚨 <b>提醒：這則訊息很像「{title}」詐騙。</b>\n{advice}\n私訊我可取得詳細分析。",
        "en": "🚨 <b>Heads up: this looks like a “{title}” scam.</b>\n{advice}\nMessage me privately for the full analysis.",
    },
}

COMMANDS: dict[str, dict[Lang, str]] = {
    "start": {"zh-hans": "开始使用", "zh-hant": "開始使用", "en": "What I do"},
    "help": {"zh-hans": "怎么用", "zh-hant": "怎麼用", "en": "How to use me"},
    "digest": {
        "zh-hans": "本周反诈速报",
        "zh-hant": "本週防詐快報",
        "en": "This week's scam report",
    },
    "subscribe": {"zh-hans": "订阅每周速报", "zh-hant": "訂閱每週快報", "en": "Weekly report"},
    "unsubscribe": {"zh-hans": "取消订阅", "zh-hant": "取消訂閱", "en": "Stop the weekly report"},
    "lang": {"zh-hans": "切换语言", "zh-hant": "切換語言", "en": "Change language"},
    "region": {
        "zh-hans": "选择地区（反诈电话）",
        "zh-hant": "選擇地區（反詐專線）",
        "en": "Your region (hotline)",
    },
    "privacy": {"zh-hans": "我保存什么", "zh-hant": "我保存什麼", "en": "What I keep"},
    "mydata": {"zh-hans": "查看我的数据", "zh-hant": "查看我的資料", "en": "Show my data"},
    "forget": {"zh-hans": "删除我的数据", "zh-hant": "刪除我的資料", "en": "Delete my data"},
    "check": {
        "zh-hans": "检查你回复的那条消息",
        "zh-hant": "檢查你回覆的那則訊息",
        "en": "Check the message you reply to",
    },
    "sentinel": {
        "zh-hans": "管理员：on / quiet / delete / off",
        "zh-hant": "管理員：on / quiet / delete / off",
        "en": "Admins: on / quiet / delete / off",
    },
}

WEEKDAYS: dict[Lang, tuple[str, ...]] = {
    "zh-hans": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "zh-hant": ("週一", "週二", "週三", "週四", "週五", "週六", "週日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

# Region names in each reading language, for /region (codes as in config.yaml's hotlines).
REGION_NAMES: dict[str, dict[Lang, str]] = {
    "CN": {"zh-hans": "中国大陆", "zh-hant": "中國大陸", "en": "Mainland China"},
    "TW": {"zh-hans": "台湾", "zh-hant": "臺灣", "en": "Taiwan"},
    "HK": {"zh-hans": "香港", "zh-hant": "香港", "en": "Hong Kong"},
    "MO": {"zh-hans": "澳门", "zh-hant": "澳門", "en": "Macau"},
    "SG": {"zh-hans": "新加坡", "zh-hant": "新加坡", "en": "Singapore"},
    "MY": {"zh-hans": "马来西亚", "zh-hant": "馬來西亞", "en": "Malaysia"},
    "US": {"zh-hans": "美国", "zh-hant": "美國", "en": "United States"},
    "GB": {"zh-hans": "英国", "zh-hant": "英國", "en": "United Kingdom"},
    "AU": {"zh-hans": "澳大利亚", "zh-hant": "澳洲", "en": "Australia"},
    "CA": {"zh-hans": "加拿大", "zh-hant": "加拿大", "en": "Canada"},
}


def region_name(code: str, lang: Lang) -> str:
    return REGION_NAMES.get(code, {}).get(lang, code)


LANG_LABELS: dict[Lang, str] = {"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}


def t(key: str, lang: Lang, **fmt: object) -> str:
    text = T[key][lang]
    return text.format(**fmt) if fmt else text
