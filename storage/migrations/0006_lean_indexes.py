from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class AlterFieldState(ops.AlterField):
    """The field's new definition in the migration state only: its index is dropped by the
    SQL below (altering the field would rebuild the table on SQLite and lose its other
    indexes)."""

    async def database_forward(self, *args: object, **kwargs: object) -> None:
        return None

    async def database_backward(self, *args: object, **kwargs: object) -> None:
        return None


# Every state change of a row rewrites each of its index entries: the single-column state and
# time indexes go, one (state, next_attempt_at) index serves "what is due"; the reminder's
# (state, due_at, id) index already serves its lookups. 0005 declared reminder_id indexed
# without creating the index: created here.
class Migration(migrations.Migration):
    dependencies = [('models', '0005_reminder_prepared')]

    initial = False

    operations = [
        AlterFieldState(
            model_name='OutboxMessage',
            name='next_attempt_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        AlterFieldState(
            model_name='OutboxMessage',
            name='state',
            field=fields.CharField(max_length=16),
        ),
        AlterFieldState(
            model_name='Reminder',
            name='due_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        AlterFieldState(
            model_name='Reminder',
            name='state',
            field=fields.CharField(max_length=16),
        ),
        ops.RunSQL('DROP INDEX IF EXISTS "idx_outbox_mess_state_d6782a"'),
        ops.RunSQL('DROP INDEX IF EXISTS "idx_outbox_mess_next_at_9c52b3"'),
        ops.RunSQL('DROP INDEX IF EXISTS "idx_reminder_due_at_d9af85"'),
        ops.RunSQL('DROP INDEX IF EXISTS "idx_reminder_state_05434a"'),
        ops.RunSQL(
            'CREATE INDEX IF NOT EXISTS "idx_outbox_mess_reminder_id" ON "outbox_message"'
            ' ("reminder_id")'
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['state', 'next_attempt_at']),
        ),
    ]
