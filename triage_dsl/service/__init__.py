"""``triage serve``: the HTTP service answering-service software calls.

``app.create_app`` builds the FastAPI application: routes (``app``) call the call service
(``calls``: rebuild, apply, store), which replays each call's events (``state``) on the
protocol versions of the catalog (``catalog``) through the library's sessions and
records; ``auth`` checks bearer tokens, ``metrics`` counts. Importing this package imports
nothing heavy: the web stack loads only when a service is built.
"""
