"""One progress bar for the whole sync: it never goes back when the next entity starts or its size is learnt,
and the requests left are known only once every remaining paged entity's size is."""
from workers.sync.progress import overall_percent, requests_left
from workers.sync.salon_sync import FULL_ORDER


def fresh():
    return {entity: {"status": "pending", "page": 1, "done": 0, "total": 0} for entity in FULL_ORDER}


def run_through(checkpoints, entity, total, step):
    """Yield the checkpoints page by page, as the runner saves them."""
    done = 0
    while done < total:
        done = min(total, done + step)
        checkpoints[entity] = {"status": "done" if done >= total else "running", "done": done, "total": total}
        yield checkpoints


def test_the_percent_grows_monotonically_across_every_entity_and_ends_at_100():
    cps, seen = fresh(), [0]
    for entity, total, step in (("company", 1, 1), ("service_categories", 8, 8), ("services", 45, 45),
                                ("staff", 10, 10), ("clients", 1400, 200), ("records", 4000, 200)):
        for state in run_through(cps, entity, total, step):
            seen.append(overall_percent(state))
    assert seen == sorted(seen), "the bar went back"
    assert seen[-1] == 100 and 0 < seen[len(seen) // 2] < 100


def test_a_records_only_run_counts_records_alone():
    cps = {"records": {"status": "running", "done": 100, "total": 400}}
    assert overall_percent(cps) == 25


def test_requests_left_are_unknown_until_every_paged_size_is_known():
    cps = fresh()
    assert requests_left(cps) is None  # clients and records not started: their sizes are unknown
    for entity in ("company", "service_categories", "services", "staff"):
        cps[entity]["status"] = "done"
    cps["clients"] = {"status": "running", "done": 200, "total": 1400}
    assert requests_left(cps) is None  # records still unknown
    cps["records"] = {"status": "running", "done": 0, "total": 4000}
    assert requests_left(cps) == 6 + 20
