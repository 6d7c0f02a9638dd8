from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_lean_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChainCheck',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('society_id', fields.IntField(unique=True)),
                ('checked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('entries', fields.IntField()),
                ('head', fields.CharField(max_length=64)),
                ('broken_seq', fields.IntField(null=True)),
                ('problem', fields.CharField(default='', max_length=16)),
            ],
            options={'table': 'chain_check', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebLoginLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'web_login_link', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('user_agent', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'web_session', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
