"""Webhook deliveries: every accepted YCLIENTS webhook, stored before it is acknowledged."""
import datetime

from peewee import BigIntegerField, CharField, DateTimeField, Model, TextField


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _tables(db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class WebhookDelivery(Base):
        salon_id = BigIntegerField(null=True, index=True)
        kind = CharField(max_length=16)
        event = CharField(max_length=64, default="")
        resource = CharField(max_length=64, default="")
        status = CharField(max_length=32, default="")
        resource_id = BigIntegerField(null=True)
        auth = CharField(max_length=16, default="")
        body_hash = CharField(max_length=64, index=True)
        body = TextField(default="{}")
        received_at = DateTimeField(default=_now, index=True)
        requeued_at = DateTimeField(null=True)
        processed_at = DateTimeField(null=True, index=True)
        outcome = CharField(max_length=16, default="")
        detail = TextField(default="")

    return [WebhookDelivery]


def up(migrator, db):
    db.create_tables(_tables(db))


def down(migrator, db):
    db.drop_tables(list(reversed(_tables(db))))
