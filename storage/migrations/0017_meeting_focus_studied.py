from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_meeting_focus')]

    initial = False

    operations = [
        ops.AddField(
            model_name='MeetingFocus',
            name='studied',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
