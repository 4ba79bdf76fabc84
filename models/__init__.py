"""peewee models, the database handle, and the live onboarding state (Redis snapshot + channel)."""
