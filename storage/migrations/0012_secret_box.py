import json
import secrets
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient

from bot import governance as g
from storage import secrecy

# Secret ballots move to the layout of storage/secrecy.py: an open vote's entries are sealed
# (receipt -> keyed digest), a closed vote's box becomes plain rows (its receipts were announced
# and its close event carries them, so they stay as they are), and the texts that could link a
# voter to a receipt or a choice are sealed: stored replies, inbound payloads, private outbox
# messages. Sealing needs the server key only when there is something to seal.


def _sql(client: BaseDBAsyncClient, query: str) -> str:
    if client.capabilities.dialect != "postgres":
        return query
    parts = query.split("?")
    return parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))


async def _rows(client: BaseDBAsyncClient, query: str, *args: Any) -> list[dict[str, Any]]:
    _, rows = await client.execute_query(_sql(client, query), list(args))
    return [dict(r) for r in rows]


async def _run(client: BaseDBAsyncClient, query: str, *args: Any) -> None:
    await client.execute_query(_sql(client, query), list(args))


async def move_secret_ballots(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    boxes = await _rows(
        client,
        "SELECT b.vote_id, b.ballots, v.state FROM secret_ballot_box AS b"
        " JOIN vote AS v ON v.id = b.vote_id ORDER BY b.vote_id",
    )
    for box in boxes:
        vote_id, entries = int(box["vote_id"]), json.loads(box["ballots"])
        secrets.SystemRandom().shuffle(entries)
        for receipt, choice in entries:
            entry_id = secrecy.new_entry_id()
            if box["state"] == "open":
                digest = secrecy.receipt_digest(receipt)
                sealed = secrecy.seal_ballot(vote_id, entry_id, g.Choice(choice), digest)
                await _run(
                    client,
                    "INSERT INTO secret_ballot_sealed (id, vote_id, sealed) VALUES (?, ?, ?)",
                    entry_id, vote_id, sealed,
                )
            else:
                await _run(
                    client,
                    "INSERT INTO secret_box_entry (id, vote_id, digest, choice) VALUES (?, ?, ?, ?)",
                    entry_id, vote_id, receipt, choice,
                )
    sealed = secrecy.SEALED + "%"
    for r in await _rows(
        client, "SELECT id, reply FROM processed_message WHERE reply <> '' AND reply NOT LIKE ?", sealed
    ):
        value = secrecy.seal_text("reply", r["reply"], str(r["id"]))
        await _run(client, "UPDATE processed_message SET reply = ? WHERE id = ?", value, r["id"])
    for r in await _rows(
        client, "SELECT id, key, payload FROM inbound_message WHERE payload NOT LIKE ?", sealed
    ):
        value = secrecy.seal_text("inbound", r["payload"], r["key"])
        await _run(client, "UPDATE inbound_message SET payload = ? WHERE id = ?", value, r["id"])
    for r in await _rows(
        client,
        "SELECT id, channel, payload FROM outbox_message WHERE channel LIKE ? AND payload NOT LIKE ?",
        "%:app",
        sealed,
    ):
        value = secrecy.seal_text("outbox", r["payload"], r["channel"])
        await _run(client, "UPDATE outbox_message SET payload = ? WHERE id = ?", value, r["id"])
    await _unseal_old_box(client)


async def _unseal_old_box(client: BaseDBAsyncClient) -> None:
    """The old box table goes: its row seals, and its set digest from each genuine chain head
    (storage/seals.py), re-MACed; a head that was not genuine is left for verify to report."""
    from bot.ledger import parse_sums, sums_json
    from storage.db import server_key
    from storage.seals import expected_head_mac

    await _run(client, "DELETE FROM row_seal WHERE tbl = ?", OLD_BOX)
    heads = await _rows(client, "SELECT id, chain_key, keyed_from, seq, head, tables, mac FROM chain_head")
    for h in heads:
        sums = parse_sums(h["tables"])
        if OLD_BOX not in sums:
            continue
        key = server_key()
        ck, kf, seq, head = str(h["chain_key"]), int(h["keyed_from"]), int(h["seq"]), str(h["head"])
        if expected_head_mac(key, ck, kf, seq, head, h["tables"]) != h["mac"]:
            continue
        del sums[OLD_BOX]
        tables = sums_json(sums)
        mac = expected_head_mac(key, ck, kf, seq, head, tables)
        await _run(client, "UPDATE chain_head SET tables = ?, mac = ? WHERE id = ?", tables, mac, h["id"])


OLD_BOX = "secret_ballot_box"


class Migration(migrations.Migration):
    dependencies = [('models', '0011_header_binding')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SecretBallotSealed',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('vote', fields.ForeignKeyField('models.Vote', source_field='vote_id', db_constraint=True, to_field='id', related_name='sealed_ballots', on_delete=OnDelete.CASCADE)),
                ('sealed', fields.TextField(unique=False)),
            ],
            options={'table': 'secret_ballot_sealed', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SecretBoxEntry',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('vote', fields.ForeignKeyField('models.Vote', source_field='vote_id', db_constraint=True, to_field='id', related_name='box_entries', on_delete=OnDelete.CASCADE)),
                ('digest', fields.CharField(db_index=True, max_length=64)),
                ('choice', fields.CharField(max_length=16)),
            ],
            options={'table': 'secret_box_entry', 'app': 'models', 'unique_together': (('vote', 'digest'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(move_secret_ballots),
        ops.DeleteModel(name='SecretBallotBox'),
    ]
