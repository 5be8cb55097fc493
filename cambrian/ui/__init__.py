"""``cambrian ui``: a read-only, live web view of runs (Starlette + uvicorn, the ``ui`` extra).

Nothing here is imported by the rest of Cambrian; ``cambrian ui`` imports it.
"""
