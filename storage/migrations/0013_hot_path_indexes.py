from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


# Every statement of the hot paths is served by an index (tests/test_query_plans.py explains
# them on both engines): the reference columns these statements look up by had none, so each
# look-up read the whole table, whose size grows with the societies, meetings and votes (a
# person's identities were sought by platform and corp, which one organisation's every member
# shares).
# outbox_attempt.message_id also serves SQLite's foreign-key check on every outbox insert.
class Migration(migrations.Migration):
    dependencies = [('models', '0012_secret_box')]

    initial = False

    operations = [
        ops.AddIndex(model_name='Vote', index=Index(fields=['item_id'])),
        ops.AddIndex(model_name='WrittenOpinion', index=Index(fields=['item_id'])),
        ops.AddIndex(model_name='Signature', index=Index(fields=['minutes_id'])),
        ops.AddIndex(model_name='Filing', index=Index(fields=['society_id'])),
        ops.AddIndex(model_name='OutboxAttempt', index=Index(fields=['message_id'])),
        ops.AddIndex(model_name='Identity', index=Index(fields=['person_id'])),
        ops.AddIndex(model_name='Member', index=Index(fields=['person_id'])),
        ops.AddIndex(model_name='ChatBinding', index=Index(fields=['society_id'])),
    ]
