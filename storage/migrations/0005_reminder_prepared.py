from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_inbound_message')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='guard_seq',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='not_after',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='reminder_id',
            field=fields.IntField(null=True, db_index=True),
        ),
    ]
