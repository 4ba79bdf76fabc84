"""The worker middleware's per-message cost: which salon a message is about is worked out once per actor, and a
successful message about no salon (the install check) makes no Redis or database call in any middleware."""
from __future__ import annotations

import inspect

import dramatiq
import pytest
from dramatiq.broker import MessageProxy

from models.db import database as model_database
from runtime import middleware
from runtime.broker import build_broker
from runtime.middleware import DatabaseConnection, salon_id_of


@pytest.fixture
def broker(settings, database):
    broker = build_broker(settings, database)

    @dramatiq.actor(broker=broker, queue_name="t_mw", actor_name="t_about_a_salon")
    def about_a_salon(salon_id, force=False):
        pass

    @dramatiq.actor(broker=broker, queue_name="t_mw", actor_name="t_about_a_check")
    def about_a_check(check_id):
        pass

    yield broker
    broker.close()


def message(actor_name, *args, **kwargs):
    return MessageProxy(dramatiq.Message(queue_name="t_mw", actor_name=actor_name, args=args, kwargs=kwargs,
                                         options={}))


def test_the_salon_of_a_message_is_its_first_salon_id_parameter_or_keyword(broker):
    assert salon_id_of(broker, message("t_about_a_salon", 42)) == 42
    assert salon_id_of(broker, message("t_about_a_salon", salon_id="43")) == 43
    assert salon_id_of(broker, message("t_about_a_check", "c1")) is None
    assert salon_id_of(broker, message("t_unknown", 44)) is None


def test_an_actors_signature_is_read_once_not_per_message(broker, monkeypatch):
    read = []
    signature = inspect.signature
    monkeypatch.setattr(middleware.inspect, "signature", lambda fn: (read.append(fn), signature(fn))[1])
    middleware._first_is_salon_id.cache_clear()
    for salon_id in range(5):
        assert salon_id_of(broker, message("t_about_a_salon", salon_id)) == salon_id
    assert len(read) == 1


class Recording:
    """Stands for the broker's Redis client: records what is used (middleware swallow their own errors)."""

    def __init__(self):
        self.used = []

    def __getattr__(self, name):
        self.used.append(name)
        return lambda *args, **kwargs: 0


@pytest.mark.parametrize("about, used", [(("t_about_a_check", "c1"), []),
                                         (("t_about_a_salon", 42), ["hdel"])])  # the control: a salon's success
def test_a_successful_message_about_no_salon_makes_no_redis_or_database_call(broker, monkeypatch, about, used):
    redis_client = Recording()
    monkeypatch.setattr(broker, "client", redis_client)  # every middleware reaches Redis through it
    queries = []
    monkeypatch.setattr(model_database.obj, "execute_sql", lambda *a, **k: queries.append(a))
    processed = message(*about)
    hooks = [m for m in broker.middleware if not isinstance(m, DatabaseConnection)]  # a pooled connection, no query
    for each in hooks:
        each.before_process_message(broker, processed)
    for each in reversed(hooks):
        each.after_process_message(broker, processed, result=None, exception=None)
    assert redis_client.used == used and queries == []
