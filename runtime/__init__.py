"""The floor every process is built from: settings, Redis, broker and middleware, the job table, logs, metrics."""
