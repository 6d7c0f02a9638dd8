"""The keyed record: a head per society's chain outside the event table and a seal per governance
row (storage/seals.py). Existing data is sealed here with the server key: the existing entries of
each chain keep their SHA-256 hashes (the head's `keyed_from` marks where keyed entries begin) and
every existing row gets its seal, so nothing written before is lost or reported."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def seal_existing(apps: Any, schema_editor: Any) -> None:
    from storage.db import server_key
    from storage.seals import seal_existing as seal

    await seal(server_key())


class Migration(migrations.Migration):
    dependencies = [('models', '0007_workbench')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChainHead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chain_key', fields.CharField(unique=True, max_length=64)),
                ('keyed_from', fields.IntField(default=1)),
                ('seq', fields.IntField(default=0)),
                ('head', fields.CharField(max_length=64)),
                ('tables', fields.TextField(default='{}', unique=False)),
                ('mac', fields.CharField(max_length=64)),
            ],
            options={'table': 'chain_head', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RowSeal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chain_key', fields.CharField(max_length=64, db_index=True)),
                ('tbl', fields.CharField(max_length=32)),
                ('row_id', fields.IntField()),
                ('mac', fields.CharField(max_length=64)),
            ],
            options={'table': 'row_seal', 'app': 'models', 'unique_together': (('tbl', 'row_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(seal_existing),
    ]
