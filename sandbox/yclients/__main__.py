"""A YCLIENTS marketplace + API stand-in (process `yclients-sandbox`); also sends webhooks on demand."""
from sandbox.yclients.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
