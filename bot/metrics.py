"""What /metrics exposes (prometheus_client, one registry per running app).

Counters and histograms are kept in this process as things happen; a scrape adds the process
collector's figures and a few gauges read from the database, each a bounded read served by an
index (the pending part of a queue, the first due reminder) — never a count of a whole table
that grows (tests/test_metrics.py checks the plans). After a restart the counters start again
from 0, as Prometheus counters do (`rate()` and `increase()` handle it).

Renamed or dropped since the hand-written exposition (for dashboards):
- `yishi_outbox_messages{state}` keeps `held`, `pending`, `sending`; the finished states are
  counted by `yishi_sends_total{platform, outcome}` instead.
- `yishi_reminders{state}` keeps `pending`, `prepared`; the decided ones are counted by
  `yishi_reminders_decided_total{outcome="sent"|"skipped"}`.
- `yishi_send_failures_total` counts this instance's failed attempts (it was a count of every
  instance's stored attempts).
- `yishi_ballots_total{kind}` is gone: `yishi_commands_total{command="投票", outcome="ok"}` counts
  the voting commands (投票, 赞成, 反对, 弃权, … all under 投票: a counter per choice would tell
  a secret ballot's choice by when it ticks).
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# Seconds: a command is a few database round trips; a send waits on a platform.
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SEND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The app's registry and instruments."""

    def __init__(self) -> None:
        disable_created_metrics()  # no `_created` series
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.inbound = Counter(
            "yishi_inbound_events",
            "Messages received from the platforms.",
            ["platform"],
            registry=registry,
        )
        self.commands = Counter(
            "yishi_commands",
            "Commands admitted, by command word and outcome.",
            ["command", "outcome"],
            registry=registry,
        )
        self.handling = Histogram(
            "yishi_message_handling_seconds",
            "Time to apply one inbound message (the router's dispatch), by platform.",
            ["platform"],
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.sends = Counter(
            "yishi_sends",
            "Send attempts by platform and outcome (sent, transient, throttled, permanent, ...).",
            ["platform", "outcome"],
            registry=registry,
        )
        self.send_seconds = Histogram(
            "yishi_send_seconds",
            "Time a platform took to answer a send, by platform.",
            ["platform"],
            buckets=SEND_BUCKETS,
            registry=registry,
        )
        self.send_failures = Counter(
            "yishi_send_failures", "Failed send attempts of this instance.", registry=registry
        )
        self.reminders_decided = Counter(
            "yishi_reminders_decided",
            "Reminders decided by this instance: sent or skipped.",
            ["outcome"],
            registry=registry,
        )
        self.clock_jumps = Gauge(
            "yishi_clock_jumps",
            "Server clock jumps detected by this instance since it started.",
            registry=registry,
        )
        self.inbound_queue = Gauge(
            "yishi_inbound_queue_messages", "Accepted messages not applied yet.", registry=registry
        )
        self.outbox = Gauge(
            "yishi_outbox_messages",
            "Outbox rows waiting: pending + sending = depth; held = reminders prepared ahead.",
            ["state"],
            registry=registry,
        )
        self.reminders = Gauge(
            "yishi_reminders",
            "Reminders not decided yet, by state.",
            ["state"],
            registry=registry,
        )
        self.reminder_lag = Gauge(
            "yishi_reminder_lag_seconds",
            "How late the oldest due, undecided reminder is.",
            registry=registry,
        )
        self.channels_paused = Gauge(
            "yishi_channels_paused",
            "Channels paused after a platform throttled them.",
            registry=registry,
        )

    def command(self, word: str, outcome: str) -> None:
        self.commands.labels(command=word, outcome=outcome).inc()

    def sent(self, platform: str, outcome: str, seconds: float | None) -> None:
        """One send attempt: `outcome` is `sent` or the error's kind; `seconds` when the
        platform answered (or the attempt timed out)."""
        self.sends.labels(platform=platform, outcome=outcome).inc()
        if outcome != "sent":
            self.send_failures.inc()
        if seconds is not None:
            self.send_seconds.labels(platform=platform).observe(seconds)

    def decided(self, *, sent: int = 0, skipped: int = 0) -> None:
        if sent:
            self.reminders_decided.labels(outcome="sent").inc(sent)
        if skipped:
            self.reminders_decided.labels(outcome="skipped").inc(skipped)

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent): `value("yishi_sends_total", ...)`."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
