from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BotInstance',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('host', fields.CharField(default='', max_length=128)),
                ('pid', fields.IntField(default=0)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('heartbeat_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_now', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'bot_instance', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChannelState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharField(unique=True, max_length=255)),
                ('paused_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reason', fields.TextField(default='', unique=False)),
                ('lease_owner', fields.CharField(default='', max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'channel_state', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dedupe_key', fields.CharField(unique=True, max_length=255)),
                ('short_id', fields.CharField(max_length=12)),
                ('channel', fields.CharField(db_index=True, max_length=255)),
                ('payload', fields.TextField(unique=False)),
                ('kind', fields.CharField(default='notice', max_length=32)),
                ('society_id', fields.IntField(null=True)),
                ('state', fields.CharField(db_index=True, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('ambiguous', fields.BooleanField(default=False)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(default='', max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_message', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('models.OutboxMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='attempt_rows', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(db_index=True, max_length=255)),
                ('number', fields.IntField()),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(max_length=16)),
                ('code', fields.CharField(default='', max_length=32)),
                ('ambiguous', fields.BooleanField(default=False)),
                ('detail', fields.TextField(default='', unique=False)),
                ('instance', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'outbox_attempt', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reminder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=255)),
                ('society_id', fields.IntField(db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('ref', fields.CharField(max_length=64)),
                ('due_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('state', fields.CharField(db_index=True, max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('instance', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'reminder', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
