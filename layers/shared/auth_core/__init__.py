"""The shared package of serverless-jwt-auth, shipped to every function as a Lambda layer.

Importing it defers the `__init__` of Powertools' event_handler package (`auth_core.deferred_init`): the handlers use
its REST resolver, not the other nine resolvers it imports (AppSync's brings asyncio). So the functions import what
they need of the event handler through `auth_core.http`, after this has run.
"""

from auth_core import deferred_init

deferred_init.defer("aws_lambda_powertools.event_handler")
