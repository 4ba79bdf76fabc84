"""The company card per salon and staff working schedules (issue 15)."""
import datetime

from peewee import BigIntegerField, BooleanField, CharField, DateField, DateTimeField, Model, TextField


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _tables(db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Company(Base):
        salon_id = BigIntegerField(primary_key=True)
        title = CharField(max_length=255, default="")
        phone = CharField(max_length=64, default="")
        email = CharField(max_length=255, default="")
        address = CharField(max_length=512, default="")
        city = CharField(max_length=255, default="")
        timezone = CharField(max_length=64, default="Europe/Moscow")
        working_hours = TextField(default="{}")
        currency = CharField(max_length=16, default="")
        data = TextField(default="{}")
        synced_at = DateTimeField(default=_now)

    class StaffSchedule(Base):
        salon_id = BigIntegerField()
        staff_id = BigIntegerField()
        date = DateField()
        working = BooleanField(default=False)
        intervals = TextField(default="[]")
        starts_at = DateTimeField(null=True)
        ends_at = DateTimeField(null=True)
        data = TextField(default="{}")
        synced_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("salon_id", "staff_id", "date"), True),)

    return [Company, StaffSchedule]


def up(migrator, db):
    db.create_tables(_tables(db))


def down(migrator, db):
    db.drop_tables(list(reversed(_tables(db))))
