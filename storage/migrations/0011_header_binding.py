from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_sealed_record')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HeaderBinding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pair', fields.CharField(max_length=64)),
                ('message_id', fields.CharField(max_length=128)),
                ('digest', fields.CharField(max_length=64)),
                ('seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'header_binding', 'app': 'models', 'unique_together': (('pair', 'message_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
