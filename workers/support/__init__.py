"""Support services behind the `aiadmin` CLI: status reports, timelines, failure listing and re-queue."""
