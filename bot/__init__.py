"""议事 (yishi): a chat bot that runs the meetings of party-building leading groups.

The flow, one layer per module::

    adapter.decode -> IncomingMessage -> router.dispatch -> handler(ctx, args)
        -> governance.* (pure) -> storage.repo -> list[OutgoingMessage] -> adapter.send

Reminders enter the same pipe from the scheduler.
"""
