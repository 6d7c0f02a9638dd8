from tests.kit.console import ConsoleRig


async def test_help_and_status(harness: ConsoleRig) -> None:
    assert "召开会议" in await harness.say("张伟", "帮助")
    assert "目前没有会议" in await harness.say("李娜", "/会议状态")
