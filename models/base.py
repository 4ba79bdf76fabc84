"""The model base class bound to the shared database proxy."""
from peewee import Model

from models.db import database


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
