"""Core tables: salons, timeline events, failures, sync runs, outbound messages."""
import datetime

from peewee import (BigIntegerField, BooleanField, CharField, DateTimeField, IntegerField, Model,
                    TextField)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _tables(db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Salon(Base):
        salon_id = BigIntegerField(primary_key=True)
        title = CharField(max_length=255, default="")
        state = CharField(max_length=32, default="pending_whatsapp", index=True)
        installer_id = BigIntegerField(null=True)
        installer_name = CharField(max_length=255, default="")
        installer_phone = CharField(max_length=32, default="")
        installer_email = CharField(max_length=255, default="")
        install_group = CharField(max_length=64, default="")
        whatsapp_state = CharField(max_length=32, default="stopped")
        whatsapp_phone = CharField(max_length=32, default="")
        whatsapp_connected_at = DateTimeField(null=True)
        api_key = CharField(max_length=128, null=True)
        webhook_key = CharField(max_length=64, null=True, unique=True)
        activation_attempts = IntegerField(default=0)
        activation_error = TextField(default="")
        activation_location = TextField(default="")
        activated_at = DateTimeField(null=True)
        welcome_sent_at = DateTimeField(null=True)
        registered_at = DateTimeField(default=_now)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class TimelineEvent(Base):
        salon_id = BigIntegerField(null=True, index=True)
        kind = CharField(max_length=64)
        actor = CharField(max_length=64, default="system")
        data = TextField(default="{}")
        created_at = DateTimeField(default=_now, index=True)

    class Failure(Base):
        salon_id = BigIntegerField(null=True, index=True)
        actor_name = CharField(max_length=128)
        queue_name = CharField(max_length=128)
        message_id = CharField(max_length=64, index=True)
        redis_message_id = CharField(max_length=64, default="")
        args = TextField(default="[]")
        kwargs = TextField(default="{}")
        options = TextField(default="{}")
        error_type = CharField(max_length=128, default="")
        error = TextField(default="")
        attempts = IntegerField(default=1)
        permanent = BooleanField(default=False)
        status = CharField(max_length=16, default="open", index=True)
        requeue_count = IntegerField(default=0)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class SyncRun(Base):
        salon_id = BigIntegerField(index=True)
        kind = CharField(max_length=16, default="full")
        status = CharField(max_length=16, default="running", index=True)
        entity = CharField(max_length=32, default="")
        checkpoints = TextField(default="{}")
        counts = TextField(default="{}")
        requests = BigIntegerField(default=0)
        error = TextField(default="")
        started_at = DateTimeField(default=_now)
        finished_at = DateTimeField(null=True)
        updated_at = DateTimeField(default=_now)

    class OutboundMessage(Base):
        salon_id = BigIntegerField(index=True)
        key = CharField(max_length=128, unique=True)
        chat_id = CharField(max_length=64)
        text = TextField()
        status = CharField(max_length=16, default="pending", index=True)
        gateway_message_id = CharField(max_length=128, default="")
        error = TextField(default="")
        notify_actor = CharField(max_length=128, default="")
        created_at = DateTimeField(default=_now)
        sent_at = DateTimeField(null=True)
        updated_at = DateTimeField(default=_now)

    return [Salon, TimelineEvent, Failure, SyncRun, OutboundMessage]


def up(migrator, db):
    db.create_tables(_tables(db))


def down(migrator, db):
    db.drop_tables(list(reversed(_tables(db))))
