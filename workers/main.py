"""Entry module for `dramatiq workers.main`: importing it is the worker's composition root."""
from workers.bootstrap import bootstrap

runtime = bootstrap()
broker = runtime.broker
