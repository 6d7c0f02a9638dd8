"""Reminders: the planner decides which reminders a society's state calls for, the service
stores them, decides each at its instant and writes its messages to the outbox.

    plan.py     the vocabulary (kinds, states, SocietyView) and the planner: pure
    draft.py    a due reminder -> its message and audience, or the reason to skip it: pure
    texts.py    the Chinese wording
    service.py  ReminderService: the sweep (materialise, release, decide, prepare, arm)
    listing.py  `yishi reminders`

All instants are UTC; dates are read in the configured zone (Asia/Shanghai) and date-based
reminders go out at `send_hour` local time, moved to the previous working day if configured.
"""
