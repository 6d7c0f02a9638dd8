from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_pending_question')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MeetingFocus',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting_id', fields.IntField(unique=True)),
                ('number', fields.IntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'meeting_focus', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
