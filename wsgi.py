"""The one entry point for gunicorn and `flask --app wsgi`."""

import gc

from muli.app import create_app

app = create_app()
# What exists now (~200,000 objects: modules, the app, its routes, SQLAlchemy's mappers and
# compiled statements) lives as long as the process: moved out of the cyclic collector's
# reach, its full collections no longer scan them all (about 0.1 ms per request on average in
# process, and no ~100 ms pause each time one runs; benchmarks/README.md, "Issue 19, sixth
# pass"). Objects made by requests are collected exactly as before; only a cycle among these
# startup objects that became garbage would stay, and they are kept for the process's life.
gc.freeze()
