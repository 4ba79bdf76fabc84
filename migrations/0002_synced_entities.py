"""Synced salon data: service categories, services, staff, clients, records keyed (salon_id, yclients_id)."""
import datetime

from peewee import (BigIntegerField, BooleanField, CharField, DateTimeField, DecimalField, IntegerField, Model,
                    TextField)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _tables(db):
    class Base(Model):
        salon_id = BigIntegerField()
        yclients_id = BigIntegerField()
        data = TextField(default="{}")
        synced_at = DateTimeField(default=_now)

        class Meta:
            database = db
            legacy_table_names = False
            indexes = ((("salon_id", "yclients_id"), True),)

    class ServiceCategory(Base):
        title = CharField(max_length=255, default="")
        weight = IntegerField(default=0)

    class Service(Base):
        category_id = BigIntegerField(null=True)
        title = CharField(max_length=255, default="")
        price_min = DecimalField(max_digits=12, decimal_places=2, null=True)
        price_max = DecimalField(max_digits=12, decimal_places=2, null=True)
        duration = IntegerField(null=True)
        active = BooleanField(default=True)

    class Staff(Base):
        name = CharField(max_length=255, default="")
        specialization = CharField(max_length=255, default="")
        bookable = BooleanField(default=True)
        fired = BooleanField(default=False)

    class Client(Base):
        name = CharField(max_length=255, default="")
        phone = CharField(max_length=32, default="")
        email = CharField(max_length=255, default="")
        visits_count = IntegerField(default=0)
        changed_at = DateTimeField(null=True)
        deleted = BooleanField(default=False)

    class Record(Base):
        staff_id = BigIntegerField(null=True)
        client_id = BigIntegerField(null=True)
        datetime = DateTimeField(null=True, index=True)
        seance_length = IntegerField(null=True)
        attendance = IntegerField(default=0)
        comment = TextField(default="")
        changed_at = DateTimeField(null=True)
        deleted = BooleanField(default=False)

    return [ServiceCategory, Service, Staff, Client, Record]


def up(migrator, db):
    db.create_tables(_tables(db))


def down(migrator, db):
    db.drop_tables(list(reversed(_tables(db))))
