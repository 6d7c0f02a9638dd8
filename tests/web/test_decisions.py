"""Decisions on the 工作台 go through the chat commands' domain functions: the same rules, the
same refusals, the same events in the chain, the same notices to the society's group."""

from __future__ import annotations

import html
import json
import re

from storage import models, repo
from tests.web.conftest import Web

ADMIN = "市党委刘老师"


def flash(page_text: str) -> str:
    found = re.search(r'<p class="flash (\w+)" role="status">([^<]*)</p>', page_text)
    assert found is not None, page_text[:2000]
    return html.unescape(found.group(2))


def group_notices(w: Web, since: int) -> list[str]:
    return [m.text for m in w.harness.adapter.sent[since:] if m.private_to is None]


async def test_approve_reject_and_acknowledge_from_the_page(webapp: Web) -> None:
    w = webapp
    h = w.harness
    await h.say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    await h.say("张伟", "提议增补 @钱多 党员 理事 工作需要")
    await h.say("陈静", "备案 议事规则 经第1次会议通过")
    admin = await w.login(ADMIN)
    page = await admin.get("/web/approvals")
    assert "#1" in page.text
    assert "增补孙磊为组员" in page.text
    assert "「议事规则」" in page.text
    # 8 members without the exception: the rule refuses, as in the chat, and nothing changes.
    chat_refusal = (await h.say(ADMIN, "批准 1", private=True)).text
    assert "不符合工作规则" in chat_refusal
    page = await admin.post("/web/approvals/change/1", {"decision": "approve", "note": ""})
    assert flash(page.text) == chat_refusal
    assert 'class="flash error"' in page.text
    assert (await models.RosterChange.get(id=1)).status == "pending"
    # With the exception: approved, the group told, the chain extended.
    before = len(h.adapter.sent)
    page = await admin.post(
        "/web/approvals/change/1", {"decision": "approve", "exception": "on", "note": "特批"}
    )
    assert flash(page.text).startswith(
        "已批准 #1（苏州市示例科技学会）：增补孙磊为组员，即日生效。"
    )
    assert group_notices(w, before) == ["市科技社团党委已批准成员调整 #1：增补孙磊为组员。"]
    event = await models.EventLog.filter(kind="roster_change_approved").first()
    assert event is not None
    payload = json.loads(event.payload)
    assert (payload["change"], payload["exception"], payload["by"]["name"]) == (1, True, ADMIN)
    # Approving again: the chat's own refusal.
    page = await admin.post("/web/approvals/change/1", {"decision": "approve"})
    assert flash(page.text) == "申请 #1（增补孙磊为组员）已批准，无需再审批。"
    assert flash(page.text) == (await h.say(ADMIN, "批准 1", private=True)).text
    # Reject with a reason.
    before = len(h.adapter.sent)
    page = await admin.post("/web/approvals/change/2", {"decision": "reject", "note": "人数已满"})
    assert flash(page.text) == "已驳回 #2（苏州市示例科技学会）：增补钱多为组员。"
    assert group_notices(w, before) == ["市科技社团党委未批准成员调整 #2：人数已满"]
    assert (await models.RosterChange.get(id=2)).decision_note == "人数已满"
    # Acknowledge the filing, twice.
    before = len(h.adapter.sent)
    page = await admin.post("/web/approvals/filing/1")
    assert flash(page.text) == "已确认收到 苏州市示例科技学会 的「议事规则」#1。"
    assert group_notices(w, before) == ["市科技社团党委已确认收到「议事规则」#1。"]
    page = await admin.post("/web/approvals/filing/1")
    assert flash(page.text) == "#1 已确认过。"
    page = await admin.post("/web/approvals/filing/9")
    assert flash(page.text) == "没有编号为 9 的报送。"
    assert "目前没有待审批的成员调整申请" in page.text
    # The chain still verifies, and the chat sees the new roster.
    checked, broken = await repo.verify_all()
    assert broken is None
    assert checked > 0
    assert "孙磊：组员" in await h.say("李娜", "名单")


async def test_a_bad_decision_field_is_refused_politely(webapp: Web) -> None:
    w = webapp
    await w.harness.say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    admin = await w.login(ADMIN)
    page = await admin.post("/web/approvals/change/1", {"decision": "maybe"})
    assert flash(page.text) == "请选择批准或驳回。"
    assert (await models.RosterChange.get(id=1)).status == "pending"


async def test_an_over_long_note_is_refused_on_the_page_as_in_the_chat(webapp: Web) -> None:
    """A 600-character 驳回 note from the page had been cut to 500 without a word (and the chat
    had taken it whole). Both refuse it and say why; nothing is decided or sent."""
    w = webapp
    h = w.harness
    await h.say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    admin = await w.login(ADMIN)
    before = len(h.adapter.sent)
    page = await admin.post("/web/approvals/change/1", {"decision": "reject", "note": "理" * 600})
    assert flash(page.text) == "驳回理由最多500字，这条有600字，没有记录。请精简后重新发送。"
    assert 'class="flash error"' in page.text
    # The page again (no redirect), the 600 characters typed still in the 驳回 form: nothing
    # typed is lost (the redirect had shown an empty form).
    assert page.status == 400
    assert page.url.endswith("/web/approvals/change/1")
    assert f'name="note" maxlength="500" value="{"理" * 600}"' in page.text
    assert "您填写的内容已保留在下面" in page.text
    assert group_notices(w, before) == []
    said = (await h.say(ADMIN, "驳回 1 " + "理" * 600, private=True)).text
    assert said == flash(page.text)
    change = await models.RosterChange.get(id=1)
    assert (change.status, change.decision_note or "") == ("pending", "")
    page = await admin.post("/web/approvals/change/1", {"decision": "reject", "note": "理" * 500})
    assert flash(page.text) == "已驳回 #1（苏州市示例科技学会）：增补孙磊为组员。"
    assert (await models.RosterChange.get(id=1)).decision_note == "理" * 500


async def test_a_refused_approval_keeps_its_note_and_its_exception(webapp: Web) -> None:
    """An approval refused by the rules (8 members without 特批) shows the page again with the
    note typed for it and its boxes as they were; the other forms stay empty."""
    w = webapp
    await w.harness.say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    await w.harness.say("张伟", "提议增补 @钱多 党员 理事 工作需要")
    admin = await w.login(ADMIN)
    page = await admin.post(
        "/web/approvals/change/1", {"decision": "approve", "note": "经研究<同意>"}
    )
    assert page.status == 400
    assert "不符合工作规则" in flash(page.text)
    assert page.text.count('value="经研究&lt;同意&gt;"') == 1
    assert page.text.count(" checked") == 0
    page = await admin.post(
        "/web/approvals/change/1",
        {"decision": "approve", "exception": "on", "note": "理" * 501},
    )
    assert page.status == 400
    assert page.text.count(" checked") == 1
    assert f'value="{"理" * 501}"' in page.text
    assert (await models.RosterChange.get(id=1)).status == "pending"


async def test_approving_a_non_party_member_on_the_page_asks_first(webapp: Web) -> None:
    """The chat warns that a non-party member would vote and count for the quorum (第五条,
    第十五条) before the committee decides; the page had approved at the first click. The first
    click now shows the warning and decides nothing; the confirmation approves, with the note
    and 特批 as first given. A rejection needs no second click."""
    w = webapp
    h = w.harness
    await h.say("张伟", "提议增补 @吴国华 理事 业务骨干")
    await h.say("张伟", "提议增补 @孙磊 非党员 理事 工作需要")
    admin = await w.login(ADMIN)
    before = len(h.adapter.sent)
    page = await admin.post(
        "/web/approvals/change/1", {"decision": "approve", "exception": "on", "note": "特批"}
    )
    assert page.status == 200
    assert "确认批准 #1" in page.text
    text = html.unescape(page.text)
    assert "⚠ 吴国华不是中共党员。工作规则第十五条" in text
    assert "（第五条）。如批准，吴国华将作为组员参加表决并计入法定人数。" in text
    assert '<input type="hidden" name="confirm" value="1">' in page.text
    assert '<input type="hidden" name="exception" value="on">' in page.text
    assert '<input type="hidden" name="note" value="特批">' in page.text
    assert (await models.RosterChange.get(id=1)).status == "pending"
    assert group_notices(w, before) == []
    page = await admin.post(
        "/web/approvals/change/1",
        {"decision": "approve", "exception": "on", "note": "特批", "confirm": "1"},
    )
    said = flash(page.text)
    assert said.startswith("已批准 #1（苏州市示例科技学会）：增补吴国华为组员，即日生效。"), said
    assert "吴国华不是中共党员，将作为组员参加表决。" in said
    change = await models.RosterChange.get(id=1)
    assert (change.status, change.decision_note) == ("approved", "特批")
    assert group_notices(w, before) == ["市科技社团党委已批准成员调整 #1：增补吴国华为组员。"]
    page = await admin.post("/web/approvals/change/2", {"decision": "reject", "note": "暂缓"})
    assert flash(page.text) == "已驳回 #2（苏州市示例科技学会）：增补孙磊为组员。"
