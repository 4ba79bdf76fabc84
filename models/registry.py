"""All models, in dependency order: the schema the migrations must produce."""
from models.failure import Failure
from models.outbound import OutboundMessage
from models.salon import Salon
from models.sync_run import SyncRun
from models.timeline import TimelineEvent

CORE_MODELS = [Salon, TimelineEvent, Failure, SyncRun, OutboundMessage]


def all_models():
    """Every model; packages that add tables append theirs in EXTRA_MODEL_MODULES."""
    import importlib

    models = list(CORE_MODELS)
    for module_name, names in EXTRA_MODEL_MODULES:
        module = importlib.import_module(module_name)
        models.extend(getattr(module, name) for name in names)
    return models


# (module, model names) registered by later migrations; keep in step with migrations/.
EXTRA_MODEL_MODULES: list[tuple[str, tuple[str, ...]]] = [
    ("models.synced", ("ServiceCategory", "Service", "Staff", "Client", "Record")),
    ("models.webhook_delivery", ("WebhookDelivery",)),
    ("models.company", ("Company",)),
    ("models.schedule", ("StaffSchedule",)),
]
