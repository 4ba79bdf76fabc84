"""bench/redis_cost.py: Redis' own time per command and per script behind `python -m bench.redirect_split --redis`,
on a real redis-server."""
import pytest

from bench.redis_cost import every_command

SCRIPTS = {
    "two adds": "redis.call('ZADD', KEYS[1], 1, 'a'); redis.call('ZADD', KEYS[1], 2, 'b'); return 1",
    "a set": "redis.call('SET', KEYS[1], ARGV[1]); return 1",
    # Two scripts that start with the same Lua function cannot be told apart by their first characters (EVAL).
    "shared start one": "local function f(k) return redis.call('GET', k) end" + " " * 120 + "return f(KEYS[1])",
    "shared start two": "local function f(k) return redis.call('GET', k) end" + " " * 120 + "return 2",
}


def test_scripts_are_named_and_their_own_commands_are_not_counted_twice(redis_client):
    adds = redis_client.register_script(SCRIPTS["two adds"])
    redis_client.script_load(adds.script)  # or the first call would be EVALSHA, SCRIPT LOAD, EVALSHA
    with every_command(redis_client, scripts=SCRIPTS) as recorded:
        for _ in range(4):
            adds(keys=["z"])
            redis_client.get("plain")
        redis_client.eval(SCRIPTS["a set"], 1, "s", "v")
        redis_client.eval(SCRIPTS["shared start one"], 1, "s")
        with redis_client.pipeline(transaction=True) as pipe:
            pipe.incr("n")
            pipe.execute()
    per = recorded.per(2)
    assert recorded.calls["two adds"] == 4 and "ZADD" not in recorded.calls  # inside the script's own time
    assert recorded.calls["GET"] == 4 and "SET" not in recorded.calls
    assert recorded.calls["a set (EVAL)"] == 1
    assert recorded.calls["shared start one or shared start two (EVAL)"] == 1
    assert recorded.calls["MULTI"] == 1 and recorded.calls["INCRBY"] == 1  # redis-py sends INCR as INCRBY
    assert not any(name.startswith(("SLOWLOG", "CONFIG")) for name in recorded.calls)  # the recording itself
    assert per["two adds"] == {"calls": 2.0, "us": round(recorded.usec["two adds"] / 2, 1)}
    assert per["two adds"]["us"] > 0
    assert per["total"]["calls"] == round(sum(recorded.calls.values()) / 2, 2)
    assert list(per)[-1] == "Redis' whole CPU (INFO cpu)" and per["Redis' whole CPU (INFO cpu)"]["us"] >= 0
    costs = [row["us"] for name, row in per.items() if name not in ("total", "Redis' whole CPU (INFO cpu)")]
    assert costs == sorted(costs, reverse=True)  # costliest first


def test_a_script_it_does_not_know_is_shown_by_its_sha(redis_client):
    unknown = redis_client.register_script("return 7")
    unknown()  # loaded before: the recording sees one EVALSHA
    with every_command(redis_client, scripts=SCRIPTS) as recorded:
        unknown()
    assert dict(recorded.calls) == {f"script {unknown.sha[:12]}": 1}


def test_the_slowlog_settings_are_put_back_and_its_log_emptied_even_after_an_error(redis_client):
    redis_client.config_set("slowlog-log-slower-than", 12345)
    redis_client.config_set("slowlog-max-len", 77)
    with pytest.raises(RuntimeError):
        with every_command(redis_client, scripts=SCRIPTS):
            redis_client.get("x")
            raise RuntimeError("the benchmark failed")
    assert redis_client.config_get("slowlog-log-slower-than") == {"slowlog-log-slower-than": "12345"}
    assert redis_client.config_get("slowlog-max-len") == {"slowlog-max-len": "77"}
    assert redis_client.slowlog_len() == 0
    redis_client.config_set("slowlog-log-slower-than", 10000)
    redis_client.config_set("slowlog-max-len", 128)


def test_more_commands_than_the_log_holds_are_flagged(redis_client):
    with every_command(redis_client, capacity=5, scripts=SCRIPTS) as recorded:
        for _ in range(20):
            redis_client.get("x")
    assert recorded.lost and recorded.calls["GET"] <= 5
    with every_command(redis_client, capacity=100, scripts=SCRIPTS) as recorded:
        redis_client.get("x")
    assert not recorded.lost
