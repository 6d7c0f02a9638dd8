"""The test kit: what tests use to run the bot and the platforms around it.

rig.py        `Rig`, the one way to talk to a bot under test, and `Said`, its answer
console.py    ConsoleRig: the router and delivery behind the console adapter
dingtalk/     payloads (what DingTalk sends), server (FakeDingTalk), rig (DingTalkRig)
wecom/        payloads (what WeCom sends), server (FakeWeCom), rig (WeComRig)
seed.py       the demo people's identities on each platform, the committee admins, seeds
clock.py      TZ and FakeScheduler
keys.py       the server key of the PostgreSQL test databases
sender.py     a fake chat platform for the outbox sender, and helpers to drive it
instance_worker.py  one bot instance in its own process (the many-instances test)
other_instance.py   another instance says one line in the group (the scene tests)
"""
