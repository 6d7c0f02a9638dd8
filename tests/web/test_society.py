"""A society's page and its signed minutes: what each role sees, and what nobody sees."""

from __future__ import annotations

import io

from docx import Document

from storage import models, repo
from storage.sql import raw_execute
from tests.web.conftest import Web

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")


async def meetings(w: Web) -> None:
    """Meeting 1: a named vote and a secret ballot, one member on leave, signed. Meeting 2:
    closed, not signed. A roster change approved in between; a filing."""
    h = w.harness
    say = h.say
    h.at("2026-12-01 09:00")
    await say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作总结；推荐副组长人选（人事）")
    await say("赵敏", "请假 出差")
    h.at("2026-12-05 14:50")
    for name in MEMBERS[:-1]:
        await say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    await say("张伟", "开会")
    await say("张伟", "发起表决 1")
    for name, choice in zip(
        MEMBERS[:-1], ("赞成", "赞成", "赞成", "反对", "赞成", "弃权"), strict=True
    ):
        await say(name, choice)
    await say("张伟", "结束表决")
    await say("张伟", "发起表决 2")
    for name in MEMBERS[1:-1]:
        assert "回执" in await say(name, "投票 赞成", private=True)
    await say("张伟", "投票 赞成", private=True)
    assert "无记名投票回执" in await say("张伟", "结束表决")
    await say("张伟", "散会 现在")
    assert "已签发" in await say("张伟", "签发")
    h.at("2026-12-06 09:00")
    await say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    await say("市党委刘老师", "批准 1 特批", private=True)
    await say("陈静", "备案 议事规则 经第1次会议通过")
    await say("张伟", "召开会议 2026-12-10 15:00 会议室 议题：档案整理")
    h.at("2026-12-10 14:50")
    for name in MEMBERS[:5]:
        await say(name, "签到")
    h.at("2026-12-10 15:00")  # not before the announced time
    await say("张伟", "开会")
    await say("张伟", "散会 现在")


async def test_the_society_page(webapp: Web) -> None:
    w = webapp
    await meetings(w)
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    leader = await w.login("张伟")
    page = await leader.get(f"/web/society/{society.id}")
    assert page.status == 200
    text = page.text
    # Roster and its approved history.
    assert "领导小组（8 人，特批）" in text
    assert "孙磊" in text
    assert "增补孙磊为组员" in text
    assert "已批准（特批）" in text
    assert "记录人：周婷；党建联系人：陈静" in text
    # Meetings with attendance and decisions.
    assert "第 1 次会议" in text
    assert "第 2 次会议" in text
    assert "请假：赵敏" in text
    assert "出席率 86%" in text  # 6 of 7
    assert "赞成 4、反对 1、弃权 1" in text
    assert "赞成：张伟、李娜、王强、陈静" in text
    # A secret ballot: totals and receipts only.
    secret = text.split("推荐副组长人选", 1)[1].split("</li>", 1)[0]
    assert "赞成 6、反对 0、弃权 0" in secret
    assert "共6张选票均已计入" in secret
    assert "查回执" in secret
    for name in MEMBERS:
        assert name not in secret
    box = await models.SecretBoxEntry.all().values_list("choice", flat=True)
    assert box == ["yes"] * 6
    # Filings, reminders, the chain.
    assert "工作制度备案" in text
    assert "议事规则" in text
    assert "待确认" in text
    assert "纪要待签发" in text  # meeting 2's reminder to sign
    head = await repo.chain_head(society.id)
    assert head in text
    count = await models.EventLog.filter(chain=f"society:{society.id}").count()
    assert f"完整：共 {count} 条记录" in text
    # Signed minutes only: meeting 1 has links, meeting 2 does not.
    m1 = await models.Meeting.get(number=1)
    m2 = await models.Meeting.get(number=2)
    assert f"/minutes/{m1.id}.docx" in text
    assert f"/minutes/{m2.id}" not in text


async def test_a_tampered_chain_shows(webapp: Web) -> None:
    w = webapp
    await meetings(w)
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    event = await models.EventLog.filter(kind="meeting_convened").order_by("seq").first()
    assert event is not None
    assert "会议室" in event.payload
    event.payload = event.payload.replace("会议室", "别处")
    await event.save()
    seq = event.seq
    admin = await w.login("市党委刘老师")
    page = await admin.get(f"/web/society/{society.id}")
    assert f"校验失败：第 {seq} 条记录内容与哈希不符（被修改）" in page.text
    overview = await admin.get("/web/overview")
    assert f"校验失败：第 {seq} 条内容被修改" in overview.text
    assert "1 个学会记录链未通过校验或尚未校验" in overview.text


async def test_records_edited_behind_the_chain_show_and_are_not_handed_out(webapp: Web) -> None:
    """An attacker with the database edits a vote's announced result and the signed minutes'
    text (the chain untouched). The society page had said 「完整」 beside the edited result and
    the minutes' .docx had carried the edited text as signed; now the page names each finding
    (as `yishi verify` does), the minutes page says it may have been changed and the .docx is
    refused (409)."""
    w = webapp
    await meetings(w)
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    m1 = await models.Meeting.get(number=1)
    vote = await models.Vote.filter(method="named").first()
    assert vote is not None
    assert "passed" in (vote.result or "")
    await raw_execute(
        models.Vote,
        "UPDATE vote SET result = REPLACE(result, 'passed', 'not_passed') WHERE id = ?",
        vote.id,
    )
    version = await models.MinutesVersion.get(meeting_id=m1.id)
    await raw_execute(
        models.MinutesVersion,
        "UPDATE minutes_version SET notes = ? WHERE id = ?",
        version.notes + "（补充：预算反对）",
        version.id,
    )
    # a value no version writes (the page had answered 500)
    await raw_execute(
        models.Vote,
        "UPDATE vote SET result = REPLACE(result, 'passed', 'bogus') WHERE method = 'secret'",
    )
    admin = await w.login("市党委刘老师")
    shown = await admin.get(f"/web/society/{society.id}")
    assert shown.status == 200
    page = shown.text
    assert "结果记录无法读取" in page
    assert "完整：共" not in page
    assert "处记录与记录链不符" in page
    assert f"表 vote 行 {vote.id}" in page
    assert "已签发纪要被改动" in page
    overview = await admin.get("/web/overview")
    assert "校验失败：记录与记录链不符" in overview.text
    view = (await admin.get(f"/web/society/{society.id}/minutes/{m1.id}")).text
    assert "校验未通过" in view
    assert "纪要已签发（第" not in view
    docx = await admin.get(f"/web/society/{society.id}/minutes/{m1.id}.docx")
    assert docx.status == 409
    assert "纪要暂不能下载" in docx.text


async def test_members_see_signed_minutes_and_decisions_only(webapp: Web) -> None:
    w = webapp
    await meetings(w)
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    m1 = await models.Meeting.get(number=1)
    m2 = await models.Meeting.get(number=2)
    member = await w.login("李娜")
    home = await member.get("/web/")
    assert f"/web/society/{society.id}/minutes" in home.text
    assert "已签发的会议纪要和决定" in home.text
    assert (await member.get(f"/web/society/{society.id}")).status == 403
    listing = await member.get(f"/web/society/{society.id}/minutes")
    assert listing.status == 200
    assert "第 1 次会议" in listing.text
    assert "第 2 次会议" not in listing.text  # not signed
    assert "通过" in listing.text
    assert "回执" in listing.text
    assert "返回学会情况" not in listing.text
    view = await member.get(f"/web/society/{society.id}/minutes/{m1.id}")
    assert view.status == 200
    assert "议题及表决情况" in view.text
    assert "苏州市示例科技学会党建工作领导小组第1次会议记录" in view.text
    version = await models.MinutesVersion.get(meeting_id=m1.id)
    assert version.digest in view.text
    assert (await member.get(f"/web/society/{society.id}/minutes/{m2.id}")).status == 404
    docx = await member.get(f"/web/society/{society.id}/minutes/{m1.id}.docx")
    assert docx.status == 200
    assert "attachment" in docx.headers["Content-Disposition"]
    document = Document(io.BytesIO(docx.body))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "第1次会议记录" in body
    # its own properties, not the template's (author python-docx, created 2013)
    assert document.core_properties.author == "周婷"
    assert document.core_properties.created is not None
    assert document.core_properties.created.year == 2026
    assert version.digest in body
    assert "已签发" in body


async def test_the_minutes_list_names_people_and_odd_addresses_are_not_found(
    webapp: Web,
) -> None:
    """The signed-minutes list had shown 「?」 for every attendee; ids beyond what the database
    holds (20 digits) had answered 500 (an overflow in the driver); 「/web」 typed bare had been
    404."""
    w = webapp
    await meetings(w)
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    admin = await w.login("市党委刘老师")
    listing = (await admin.get(f"/web/society/{society.id}/minutes")).text
    assert "?、" not in listing
    assert "张伟" in listing
    huge = "99999999999999999999"
    for path in (
        f"/web/society/{huge}",
        f"/web/society/{huge}/minutes",
        f"/web/society/{society.id}/minutes/{huge}",
        f"/web/society/{society.id}/minutes/{huge}.docx",
    ):
        assert (await admin.get(path)).status == 404, path
    assert (await admin.post(f"/web/approvals/filing/{huge}")).status == 404
    home = await admin.get("/web")
    assert home.status == 200
    assert home.url.endswith("/web/")


async def test_a_late_annual_summary_shows_late_on_the_workbench(webapp: Web) -> None:
    """2026's summary filed on 5 January 2027 had shown on the society's page and among the
    filings to acknowledge like one on time; both say 「逾期5天提交」 now (the chat's reading)."""
    h = webapp.harness
    h.at("2026-12-20 09:00")
    await h.say("陈静", "备案 议事规则 经第1次会议通过")
    h.at("2027-01-05 09:00")
    await h.say("陈静", "年度总结 2026年度工作总结 全年召开会议2次")
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    admin = await webapp.login("市党委刘老师")
    pending = (await admin.get("/web/approvals")).text
    summary = pending.split('id="filing-2"', 1)[1].split("</article>", 1)[0]
    assert '（<span class="red">逾期5天提交</span>）' in summary, summary
    rules = pending.split('id="filing-1"', 1)[1].split("</article>", 1)[0]
    assert "逾期" not in rules, rules
    leader = await webapp.login("张伟")
    page = (await leader.get(f"/web/society/{society.id}")).text
    filings = page.split('id="filings"', 1)[1].split("</section>", 1)[0]
    assert '<span class="red">逾期5天提交</span>' in filings, filings
    assert filings.count("逾期") == 1, filings


async def test_an_item_not_voted_on_reads_as_the_minutes_say(webapp: Web) -> None:
    """An item a closed meeting did not vote on had read 「已列入议程」 on the society page and
    the minutes list (and in the chat's meeting status) while the minutes say 「未表决」."""
    w = webapp
    h = w.harness
    await meetings(w)  # meeting 2 is closed, its one item not voted on
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    admin = await w.login("市党委刘老师")
    page = (await admin.get(f"/web/society/{society.id}")).text
    assert "档案整理（一般事项）：未表决" in page
    assert "已列入议程" not in page
    status = (await h.say("刘洋", "开会讨论哪些议题")).text
    assert "议题1「档案整理」（一般事项）：未表决" in status
    assert "已签发" in await h.say("张伟", "签发")
    assert "未表决" in await h.say("刘洋", "纪要")
    listing = (await admin.get(f"/web/society/{society.id}/minutes")).text
    assert "档案整理（一般事项）：未表决" in listing
    assert "已列入议程" not in listing
    # A meeting not held yet: the item is on the agenda, as before.
    h.at("2026-12-11 09:00")
    await h.say("张伟", "召开会议 2026-12-20 15:00 会议室 议题：换届筹备")
    admin = await w.login("市党委刘老师")
    page = (await admin.get(f"/web/society/{society.id}")).text
    assert "换届筹备（一般事项）：已列入议程" in page


async def test_the_society_page_lists_who_registered_which_account(webapp: Web) -> None:
    """「我是…」 in the society's group: the name, the account that said it, the group, when,
    and the person the account is (none yet for a newcomer); a group of no society shows
    nowhere."""
    w = webapp
    h = w.harness
    h.at("2026-12-02 10:30")
    await h.say("张伟", "我是张伟")
    await h.say("zl", "我是赵六")
    await models.Registration.create(
        platform="console",
        corp_id="x",
        chat_id="elsewhere",
        user_id="ww",
        name="王五",
        at=h.clock.now(),
    )
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    page = await (await w.login("张伟")).get(f"/web/society/{society.id}")
    text = page.text
    assert "群内姓名登记" in text
    rows = text.split("群内姓名登记", 1)[1].split("</table>", 1)[0]
    assert "<td>赵六</td><td>控制台 zl</td>" in rows
    assert "（尚未对应人员）" in rows
    assert "<td>张伟</td><td>控制台 张伟</td>" in rows
    assert "2026-12-02 10:30" in rows
    assert "王五" not in rows
