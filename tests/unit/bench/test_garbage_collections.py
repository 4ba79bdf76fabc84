"""bench/cpu_components.py's `garbage_collections()`: the garbage collector's runs and CPU inside a block, behind the
`gc_ms_per_redirect` of `python -m bench.redirect_split --part web` (docs/performance/redirect.md, round 7)."""
import gc

from bench.cpu_components import garbage_collections


def _cycles(n: int) -> None:
    for _ in range(n):
        a, b = [], []
        a.append(b)
        b.append(a)


def test_the_collections_inside_the_block_are_counted_with_their_cpu_and_none_after():
    gc.collect()
    with garbage_collections() as spent:
        _cycles(20000)
        gc.collect()
        gc.collect()
    assert spent["collections"] >= 2 and spent["cpu"] > 0
    counted = dict(spent)
    gc.collect()
    assert spent == counted  # the callback is gone with the block


def test_no_collection_no_cpu():
    enabled = gc.isenabled()
    gc.disable()
    try:
        with garbage_collections() as spent:
            _cycles(20000)
    finally:
        if enabled:
            gc.enable()
    assert spent == {"collections": 0, "cpu": 0.0}
