"""`aiadmin failed` as text: the words support reads come first, not the module path of the exception."""
from workers.support.failures import render_failures


def test_the_error_column_drops_the_exception_module_path_so_the_message_fits():
    row = {"id": 1, "created_at": "2026-12-02T08:33:18Z", "actor": "sync_salon", "salon_id": 962302, "attempts": 1,
           "status": "open", "requeue_count": 0, "error": "Traceback…\nworkers.sync.salon_sync.SyncAccessDenied: YCLIENTS не дал доступ "
                                      "к клиентам: 403 Нет прав на управление компанией"}
    line = render_failures([row]).splitlines()[1]
    assert "SyncAccessDenied: YCLIENTS не дал доступ к клиентам" in line and "workers.sync" not in line
