from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_plan_mark')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingQuestion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_key', fields.CharField(max_length=255)),
                ('user_key', fields.CharField(max_length=128)),
                ('command', fields.TextField(unique=False)),
                ('asked_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('answered_by', fields.CharField(default='', max_length=128)),
            ],
            options={'table': 'pending_question', 'app': 'models', 'unique_together': (('chat_key', 'user_key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
