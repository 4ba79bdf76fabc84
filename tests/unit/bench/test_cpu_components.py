"""bench/cpu_components.py: the per-part thread CPU behind `python -m bench.redirect_split --components`."""
import time

from bench.cpu_components import components


class Base:
    def inherited(self):
        return "base"


class Worker(Base):
    def own(self, n):
        return _burn(n)


def _burn(n):
    total = 0
    deadline = time.thread_time() + n
    while time.thread_time() < deadline:
        total += 1
    return total


def test_each_part_counts_its_calls_and_the_cpu_spent_inside_it():
    worker = Worker()
    with components({"own": (Worker, "own"), "inherited": (Base, "inherited")}) as spent:
        for _ in range(3):
            worker.own(0.01)
        worker.inherited()
    assert spent.calls["own"] == 3 and spent.calls["inherited"] == 1
    assert spent["own"] >= 0.03  # thread CPU burnt inside, at least what it was told to burn
    per = spent.per(3)
    assert list(per) == ["own", "inherited"]  # the order the parts were given (nesting reads top-down)
    assert per["own"]["calls"] == 1.0 and per["own"]["ms"] >= 10


def test_a_blocking_wait_costs_the_thread_nothing():
    with components({"sleep": (time, "sleep")}) as spent:
        time.sleep(0.05)
    assert spent.calls["sleep"] == 1 and spent["sleep"] < 0.02


def test_the_originals_are_back_afterwards_even_for_an_inherited_method_and_after_an_error():
    own, inherited, burn = Worker.__dict__["own"], Base.inherited, _burn
    try:
        with components({"own": (Worker, "own"), "inherited-on-worker": (Worker, "inherited"),
                         "burn": (__import__(__name__, fromlist=["_burn"]), "_burn")}):
            assert Worker.__dict__["own"] is not own and "inherited" in Worker.__dict__
            raise RuntimeError("the benchmark failed")
    except RuntimeError:
        pass
    assert Worker.__dict__["own"] is own
    assert "inherited" not in Worker.__dict__ and Worker().inherited() == "base" and Base.inherited is inherited
    assert _burn is burn
