"""Salon.session_generation: onboarding sessions carry it; uninstall, reinstall and take-over bump it."""
from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("salon", "session_generation", IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("salon", "session_generation"))
