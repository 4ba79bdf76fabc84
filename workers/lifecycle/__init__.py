"""Salon lifecycle after onboarding: webhook processing, uninstall, freeze, onboarding expiry, purge."""
