import subprocess
import sys

from playhouse.schema_diff import diff_models

import migrations
from models.db import init_database
from models.registry import all_models
from tests.support import ROOT


def test_migrations_build_exactly_the_models_schema_on_an_empty_database(db_url):
    db = init_database(db_url)
    db.connect(reuse_if_open=True)
    migrations.migrate(db)  # the session database may be empty or already migrated; both must end equal
    diff = diff_models(db, all_models())
    assert not diff, f"models and migrated schema differ:\n{diff}"
    for model in all_models():
        columns = {c.name for c in db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model.__name__
    db.close()


def test_migrate_twice_changes_nothing(db_url):
    db = init_database(db_url)
    db.connect(reuse_if_open=True)
    migrations.migrate(db)
    assert migrations.migrate(db) == []
    assert migrations.pending(db) == []
    db.close()


def test_aiadmin_migrate_applies_then_reports_up_to_date(tmp_path):
    env = {"APP_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-m", "workers.cli", "migrate"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_core" in first.stdout
    second = subprocess.run([sys.executable, "-m", "workers.cli", "migrate"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "database is up to date"
