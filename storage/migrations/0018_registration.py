from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0017_meeting_focus_studied')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('corp_id', fields.CharField(max_length=128)),
                ('chat_id', fields.CharField(max_length=128)),
                ('user_id', fields.CharField(max_length=128)),
                ('name', fields.CharField(max_length=64)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registration', 'app': 'models', 'unique_together': (('platform', 'corp_id', 'chat_id', 'user_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
