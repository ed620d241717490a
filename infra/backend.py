"""What the local API's handlers talk to: an embedded DynamoDB, Secrets Manager, KMS and SES (moto's server, in this
process), or tables and a secret that already exist (real AWS, DynamoDB Local, LocalStack...) named in the environment.

The embedded backend builds the tables, the signing secret and the signing key from template.yaml's own definitions
(infra.cfn), so the local schema can't drift from the deployed one, verifies the sender's address in SES, and keeps
every mail sent in its outbox (infra.outbox). Everything lives in memory and is gone on stop.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

import boto3

from infra.cfn import create_signing_kms_key, create_signing_secret, create_tables, table_definitions
from infra.gateway import TemplateValues
from infra.outbox import Outbox

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

    from werkzeug.serving import BaseWSGIServer

# The settings that name the data resources, and the template resource each one names.
RESOURCE_SETTINGS = {
    "USERS_TABLE_NAME": "UsersTable",
    "TOKENS_TABLE_NAME": "TokensTable",
    "SIGNING_KEY_SECRET_ARN": "SigningKeySecret",
}
# Settings the local run gives its own value (plain http, local origins) rather than the template's.
LOCAL_ONLY = {"ALLOWED_ORIGINS", "COOKIE_SECURE", "AWS_ENDPOINT_URL"}
LOCAL_SENDER = "no-reply@localhost.test"  # the sender when the template gives none (the embedded SES verifies it)
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # moto checks nothing; real credentials must never reach it
    "AWS_SESSION_TOKEN": "local",
}


def use_existing(env: Mapping[str, str] | None = None) -> bool:
    """True when the environment already names the tables and the secret: then no embedded backend is started."""
    env = os.environ if env is None else env
    return all(env.get(name, "").strip() for name in RESOURCE_SETTINGS)


def apply_local_defaults(
    template: Mapping[str, Any], *, port: int, env: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Set every setting the functions read that isn't set yet: the template's Globals (parameters resolved to their
    defaults), then the local ones (plain-http cookie, local CORS origins, emailed links to the local demo page,
    unverified accounts may sign in, tracing off). Returns what it set."""
    env = os.environ if env is None else env
    values = TemplateValues(template, env=env)
    variables = (((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables")
    defaults: dict[str, str] = {}
    for name, value in (variables or {}).items():
        if name in LOCAL_ONLY or name in RESOURCE_SETTINGS:
            continue
        resolved = values.resolve(value)
        if isinstance(resolved, str | int | float) and not isinstance(resolved, bool):
            defaults[name] = str(resolved)
    defaults |= {
        "COOKIE_SECURE": "false",  # the local API is plain http: a Secure cookie would never come back
        "ALLOWED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
        "BCRYPT_COST": "12",
        # The two-command start stays simple: sign-in needs no verified email, and links open the local demo page.
        "REQUIRE_VERIFIED_EMAIL": "false",
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "SENDER_EMAIL": defaults.get("SENDER_EMAIL") or LOCAL_SENDER,  # the embedded SES verifies it at start
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": defaults.get("POWERTOOLS_SERVICE_NAME", "serverless-jwt-auth"),
        "POWERTOOLS_METRICS_NAMESPACE": defaults.get("POWERTOOLS_METRICS_NAMESPACE", "ServerlessJwtAuth"),
        "AWS_DEFAULT_REGION": values.region,
        "TOKEN_ISSUER": f"http://127.0.0.1:{port}",  # the `iss` of access tokens: the local API's base URL
    }
    applied = {name: value for name, value in defaults.items() if name not in env}
    env.update(applied)
    return applied


class EmbeddedBackend:
    """moto's DynamoDB, Secrets Manager and SES on 127.0.0.1, with the template's tables and signing secret, the
    sender's address verified, and every mail sent kept in `outbox`."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        stage: str,
        host: str = "127.0.0.1",
        port: int = 0,
        env: MutableMapping[str, str] | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self._template = template
        self._stage = stage
        self._host = host
        self._port = port
        self._env = os.environ if env is None else env
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.outbox = outbox or Outbox()
        self.endpoint_url: str | None = None
        self.names: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        """Start moto, point boto3 at it, create the tables and the secret, verify the sender; returns the settings it
        exported."""
        # Imported here: moto is slow to import, and `use_existing` doesn't need it. moto's own ThreadedMotoServer,
        # but with the outbox's recorder in front of moto's WSGI app.
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per DynamoDB call
        app = self.outbox.recording(DomainDispatcherApplication(create_backend_app))
        server = make_server(self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="embedded-backend", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://{server.host}:{server.port}"
        self._env["AWS_ENDPOINT_URL"] = self.endpoint_url  # boto3 honours it for every client
        self._env.update(FAKE_CREDENTIALS)
        self._env.pop("AWS_PROFILE", None)
        self._env.setdefault("AWS_DEFAULT_REGION", TemplateValues(self._template, env=self._env).region)

        session = boto3.session.Session(region_name=self._env["AWS_DEFAULT_REGION"])
        dynamodb = session.client("dynamodb", endpoint_url=self.endpoint_url)
        secrets = session.client("secretsmanager", endpoint_url=self.endpoint_url)
        table_names = {
            logical_id: f"{self._stage}-{_kebab(logical_id.removesuffix('Table'))}"
            for logical_id in table_definitions(dict(self._template))
        }
        create_tables(dynamodb, dict(self._template), table_names)
        secret_arn = create_signing_secret(secrets, dict(self._template), f"{self._stage}-signing-key")
        sender = self._env.setdefault("SENDER_EMAIL", LOCAL_SENDER)
        session.client("sesv2", endpoint_url=self.endpoint_url).create_email_identity(EmailIdentity=sender)
        self.names = {
            setting: table_names[logical_id]
            for setting, logical_id in RESOURCE_SETTINGS.items()
            if logical_id in table_names
        }
        self.names["SIGNING_KEY_SECRET_ARN"] = secret_arn
        kms = session.client("kms", endpoint_url=self.endpoint_url)
        self.names["SIGNING_KMS_KEY_ID"] = create_signing_kms_key(kms, dict(self._template))
        self._env.update(self.names)
        register_first_signing_key()
        return {"AWS_ENDPOINT_URL": self.endpoint_url, **self.names}

    def stop(self) -> None:
        """Stop moto (its data goes with it) and forget the endpoint. Safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.endpoint_url is not None and self._env.get("AWS_ENDPOINT_URL") == self.endpoint_url:
            del self._env["AWS_ENDPOINT_URL"]
        self.endpoint_url = None


def register_first_signing_key() -> None:
    """Record the template's KMS key as the current signing key, as the first login would: the JWKS is never empty,
    so a verifier pointed at the local API (a JWT authorizer, PyJWKClient) finds the key before anyone signs in."""
    from auth_core import container

    container.reset()
    container.kms_signer().current(container.key_registry().read())


def _kebab(name: str) -> str:
    return "".join(f"-{char.lower()}" if char.isupper() and index else char.lower() for index, char in enumerate(name))
