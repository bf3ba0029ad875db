"""What the tests share, one module per purpose (fixtures live in the conftest.py files):

- ``server``: the test databases' backends and the in-process live server's handle
- ``accounts``: accounts, API keys and users (through the API, or console users in the store)
- ``http``: API paths, creates over HTTP, the error-body check, page tokens, bulk seeding, the
  official Twilio client, running a coroutine
- ``lifecycle``: logging turns, submitting thumbs, settings, a corrected reply
- ``console``: the console's sign-in form and the browser's moves
- ``access``: the routes an app serves, the access tables of the docs, the access world
- ``processes``: the ``thumbs`` command and ``thumbs serve`` processes run for real
"""
