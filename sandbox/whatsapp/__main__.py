"""`python -m sandbox.whatsapp serve --port N` runs the simulator; the other commands drive it (see cli.py)."""
import sys

from sandbox.whatsapp.cli import COMMANDS


def _main(argv):
    if argv and argv[0] in COMMANDS or argv[:1] == ["--url"]:
        from sandbox.whatsapp.cli import main

        raise SystemExit(main(argv))
    from sandbox.serve import main
    from sandbox.whatsapp.app import create_app

    # The served simulator announces QR rotations by itself, like the real gateway.
    main(lambda: create_app({"ticker": 1.0}), "whatsapp", 5002, argv)


if __name__ == "__main__":
    _main(sys.argv[1:])
