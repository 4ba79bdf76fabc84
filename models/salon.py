"""A salon (a YCLIENTS branch) and its lifecycle state."""
from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, IntegerField, TextField

from models.base import BaseModel
from models.db import utcnow

PENDING_WHATSAPP = "pending_whatsapp"
WHATSAPP_CONNECTED = "whatsapp_connected"
ACTIVATING = "activating"
ACTIVE = "active"
ACTIVATION_FAILED = "activation_failed"
FROZEN = "frozen"
UNINSTALLED = "uninstalled"

STATES = (PENDING_WHATSAPP, WHATSAPP_CONNECTED, ACTIVATING, ACTIVE, ACTIVATION_FAILED, FROZEN, UNINSTALLED)
# A redirect for a salon in one of these states starts onboarding (again).
REINSTALLABLE = (PENDING_WHATSAPP, WHATSAPP_CONNECTED, ACTIVATION_FAILED, FROZEN, UNINSTALLED)

# WhatsApp link states as the bridge reports them (see bridge/).
WA_STOPPED = "stopped"
WA_STARTING = "starting"
WA_AWAITING_LINK = "awaiting_link"
WA_CONNECTED = "connected"
WA_DISCONNECTED = "disconnected"
WA_LOGGED_OUT = "logged_out"
WA_FAILED = "failed"


class Salon(BaseModel):
    salon_id = BigIntegerField(primary_key=True)  # the YCLIENTS salon (branch) id
    title = CharField(max_length=255, default="")
    state = CharField(max_length=32, default=PENDING_WHATSAPP, index=True)
    # The YCLIENTS user who installed the app (from the signed user_data).
    installer_id = BigIntegerField(null=True)
    installer_name = CharField(max_length=255, default="")
    installer_phone = CharField(max_length=32, default="")
    installer_email = CharField(max_length=255, default="")
    install_group = CharField(max_length=64, default="")  # shared by the branches of one multi-branch install
    # Onboarding sessions carry it; uninstall, reinstall and take-over bump it, which ends older sessions.
    session_generation = IntegerField(default=0)
    # WhatsApp link as last seen by the bridge.
    whatsapp_state = CharField(max_length=32, default=WA_STOPPED)
    whatsapp_phone = CharField(max_length=32, default="")  # plain digits, no :device, no @c.us
    whatsapp_connected_at = DateTimeField(null=True)
    # Activation in YCLIENTS.
    api_key = CharField(max_length=128, null=True)  # sent in the activation callback; cleared on uninstall
    webhook_key = CharField(max_length=64, null=True, unique=True)  # path secret of our data-webhook URL
    activation_attempts = IntegerField(default=0)
    activation_error = TextField(default="")
    activation_location = TextField(default="")  # the Location YCLIENTS answered with
    activated_at = DateTimeField(null=True)
    welcome_sent_at = DateTimeField(null=True)
    registered_at = DateTimeField(default=utcnow)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    def save(self, *args, **kwargs):
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)
