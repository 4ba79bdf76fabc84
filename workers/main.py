"""Entry module for `dramatiq workers.main`: Dramatiq imports it and wants its broker, so importing it
starts the worker (the one module where import does the work; nothing else imports it)."""
from workers.process import start

container = start()
broker = container.broker
