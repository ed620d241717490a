"""The whole API on one machine: `python -m infra.local` (what `make run` does).

Starts the embedded backend (moto's DynamoDB, Secrets Manager and SES with the template's tables and secret) unless
the environment already names tables and a secret, creates the first admin when ADMIN_EMAIL and ADMIN_PASSWORD are set,
and serves template.yaml's REST API on http://127.0.0.1:${PORT:-3000} through the local API Gateway
(infra/gateway/), which invokes the real handlers in this process. SIGINT or SIGTERM stops everything it started.

Beside it, examples/consumer-api (another team's API behind API Gateway's native JWT authorizers) trusting this local
issuer: its REST API on ${CONSUMER_REST_PORT:-PORT+1}, its HTTP API on ${CONSUMER_HTTP_PORT:-PORT+2} (a default port
in use falls back to a free one; the URLs are printed).

Local-only pages (API docs, a demo page, the outbox of the embedded backend) are served before the gateway: see
`local_pages`. Each mail the embedded backend's SES sends is printed on the console, its links included.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from auth_core.headers import SECURITY_HEADERS as HANDLER_SECURITY_HEADERS
from infra.backend import EmbeddedBackend, apply_local_defaults, use_existing
from infra.cfn import load_template
from infra.docs import docs_pages
from infra.gateway import MAX_PAYLOAD_BYTES, LocalGateway, TemplateError, TemplateValues
from infra.outbox import OUTBOX_PATH, Outbox, announce, outbox_pages
from infra.web import web_pages

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from infra.gateway import Answer, Header

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_PORT = 3000
CONSUMER = ROOT / "examples" / "consumer-api"
# The consumer example's APIs: (logical id, port variable, offset of the default port from PORT).
CONSUMER_APIS = (("RestApi", "CONSUMER_REST_PORT", 1), ("HttpApi", "CONSUMER_HTTP_PORT", 2))

# The contract's headers on every response; added to any response (a local page included) that lacks one.
SECURITY_HEADERS: tuple[Header, ...] = tuple(HANDLER_SECURITY_HEADERS.items())
# Headers the HTTP server writes itself.
_SERVER_HEADERS = {"content-length", "connection", "transfer-encoding", "keep-alive", "date", "server"}


@dataclass(frozen=True)
class LocalRequest:
    """What a local-only page gets."""

    method: str
    path: str
    query: str
    headers: list[Header]
    body: bytes
    source_ip: str


type ExtraRoutes = dict[tuple[str, str], Callable[[LocalRequest], Answer]]


def local_pages(outbox: Outbox | None) -> ExtraRoutes:
    """Local-only pages, served before the gateway: (method, path) -> page(request) -> (status, headers, body).

    Pages set their own Content-Type and a Content-Security-Policy that allows their own resources; the other
    security headers are added if missing. The outbox is there only with the embedded backend (real SES has none).
    """
    return docs_pages() | web_pages() | (outbox_pages(outbox) if outbox is not None else {})


def with_security_headers(headers: list[Header]) -> list[Header]:
    present = {name.lower() for name, _ in headers}
    return headers + [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present]


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: LocalGateway | None = None) -> None:
        super().__init__(address, LocalRequestHandler)
        self.gateway = gateway
        self.extra_routes: ExtraRoutes = {}

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class LocalRequestHandler(BaseHTTPRequestHandler):
    server: LocalServer
    protocol_version = "HTTP/1.1"
    server_version = "local-api-gateway"
    timeout = 120  # an idle keep-alive connection is closed after this long

    def _serve(self) -> None:
        started = time.perf_counter()
        method, target = self.command, self.path
        headers: list[Header] = list(self.headers.items())
        source_ip = str(self.client_address[0])
        path_only, _, query = target.partition("?")
        gateway = self.server.gateway
        try:
            body = self._read_body()
        except _TooLargeError:
            self.close_connection = True
            if gateway is None:
                self._write((413, [("Content-Type", "text/plain")], b"Request Too Long"), method)
            else:
                self._write(gateway.reject("REQUEST_TOO_LARGE", method, target, headers, source_ip), method)
            return
        except ValueError:
            self.close_connection = True
            self._write((400, [("Content-Type", "text/plain")], b"Bad Request"), method)
            return
        page = self.server.extra_routes.get((method, path_only))
        if page is not None:
            try:
                answer = page(LocalRequest(method, path_only, query, headers, body, source_ip))
            except Exception as exc:  # noqa: BLE001 - a broken local page is a 500, never a dropped connection
                print(f"local page {path_only}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                answer = (500, [("Content-Type", "text/plain")], b"Internal Server Error")
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{method} {path_only} {answer[0]} {elapsed:.0f}ms local page", file=sys.stderr, flush=True)
        elif gateway is not None:
            answer = gateway.handle(method, target, headers, body, source_ip)
        else:
            answer = (503, [("Content-Type", "text/plain")], b"Starting")
        self._write(answer, method)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    raise _TooLargeError
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_PAYLOAD_BYTES:
            raise _TooLargeError
        return self.rfile.read(length) if length else b""

    def _write(self, answer: Answer, method: str) -> None:
        status, headers, body = answer
        try:
            self.send_response(status)
            for name, value in with_security_headers(list(headers)):
                if name.lower() in _SERVER_HEADERS or any(c in name + value for c in "\r\n\0"):
                    continue
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, headers too long) in the API's error shape, with the
        security headers, instead of its HTML page."""
        self.close_connection = True
        body = json.dumps({"error": "invalid_request", "message": message or "The request could not be processed."})
        self._write((code, [("Content-Type", "application/json")], body.encode()), self.command or "GET")

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def __getattr__(self, name: str) -> Callable[[], None]:
        """`do_<METHOD>` for every method: http.server answers 501 to a method it finds no `do_` for, but API Gateway
        answers every method itself (a gateway response when no route has it), so every request goes to `_serve`."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per request comes from the gateway (or _serve for local pages), without the query string


class _TooLargeError(Exception):
    pass


class StartupError(Exception):
    """The local API can't start; the message says why and what to change."""


# ---------------------------------------------------------------------------------------------------------------


def create_first_admin(email: str, password: str) -> str:
    """Create the admin; a message saying what happened. StartupError for an unusable email or password."""
    from auth_core import container
    from auth_core.errors import EmailTakenError
    from auth_core.models import normalize_email
    from auth_core.passwords import password_problems

    try:
        email = normalize_email(email)
    except ValueError:
        raise StartupError(f"ADMIN_EMAIL is not a valid email address: {email!r}") from None
    problems = password_problems(password, email=email)
    if problems:
        raise StartupError("ADMIN_PASSWORD " + "; ".join(problems) + ".")
    try:
        user = container.auth_service().create_admin(email=email, password=password)
    except EmailTakenError:
        return f"Admin: {email} already exists; left as it is."
    return f"Admin: created {user.email} (id {user.id})."


def consumer_servers(port: int) -> list[tuple[str, LocalServer]]:
    """The consumer example's servers, bound now (no gateway yet): an explicit port must be free, a default one
    falls back to any free port."""
    servers = []
    for api, variable, offset in CONSUMER_APIS:
        wanted = os.environ.get(variable)
        try:
            chosen = int(wanted) if wanted else port + offset
        except ValueError:
            raise StartupError(f"{variable} must be a number, not {wanted!r}") from None
        try:
            servers.append((api, LocalServer((HOST, chosen))))
        except OSError as exc:
            if wanted:
                raise StartupError(f"cannot listen on {HOST}:{chosen} ({variable}): {exc.strerror}") from None
            servers.append((api, LocalServer((HOST, 0))))
    return servers


def consumer_gateway(api: str, issuer: str) -> LocalGateway:
    """One API of the consumer example, trusting this local API's tokens (its issuer and audience)."""
    parameters = {"IssuerUrl": issuer, "Audience": os.environ.get("TOKEN_AUDIENCE") or ""}
    try:
        return LocalGateway(load_template(CONSUMER / "template.yaml"), CONSUMER, api=api, parameters=parameters)
    except TemplateError as exc:
        raise StartupError(f"examples/consumer-api/template.yaml: {exc}") from None


def _fail(message: str) -> int:
    print(f"infra.local: {message}", file=sys.stderr, flush=True)
    return 1


def main() -> int:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # Powertools warns on every invocation that records no metric (each /me, say); the console doesn't need that.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    started = time.perf_counter()

    try:
        port = int(os.environ.get("PORT") or DEFAULT_PORT)
    except ValueError:
        return _fail(f"PORT must be a number, not {os.environ['PORT']!r}")
    template = load_template(ROOT / "template.yaml")
    try:
        server = LocalServer((HOST, port))  # bound now: a port in use fails before the slow part
    except OSError as exc:
        return _fail(f"cannot listen on {HOST}:{port}: {exc.strerror}")

    backend: EmbeddedBackend | None = None
    serving: threading.Thread | None = None
    consumers: list[tuple[str, LocalServer]] = []
    consumers_serving: list[LocalServer] = []
    try:
        consumers = consumer_servers(server.port)
        apply_local_defaults(template, port=server.port)
        stage = TemplateValues(template).parameter("Stage")
        if use_existing():
            where = os.environ.get("AWS_ENDPOINT_URL") or "AWS"
            print(f"Backend: existing tables and secret at {where}", flush=True)
        else:
            # MOTO_HOST/MOTO_PORT pin the embedded backend's address (`sam local` in Docker needs a known one).
            moto_host = os.environ.get("MOTO_HOST") or HOST
            try:
                moto_port = int(os.environ.get("MOTO_PORT") or 0)
            except ValueError:
                raise StartupError(f"MOTO_PORT must be a number, not {os.environ['MOTO_PORT']!r}") from None
            backend = EmbeddedBackend(template, stage=stage, host=moto_host, port=moto_port, outbox=Outbox(announce))
            try:
                backend.start()
            except OSError as exc:
                raise StartupError(f"cannot start the embedded backend on {moto_host}:{moto_port}: {exc}") from None
            print(f"Backend: embedded DynamoDB, Secrets Manager and SES (moto) at {backend.endpoint_url}", flush=True)

        from auth_core import container
        from auth_core.settings import SettingsError, get_settings

        container.reset()  # the settings are read afresh from the environment set above
        try:
            get_settings()
        except SettingsError as exc:
            raise StartupError(str(exc)) from None
        admin_email, admin_password = os.environ.get("ADMIN_EMAIL"), os.environ.get("ADMIN_PASSWORD")
        if admin_email and admin_password:
            print(create_first_admin(admin_email, admin_password), flush=True)
        elif admin_email or admin_password:
            print("Admin: set both ADMIN_EMAIL and ADMIN_PASSWORD to create one; skipped.", flush=True)

        try:
            gateway = LocalGateway(template, ROOT)
        except TemplateError as exc:
            raise StartupError(f"template.yaml: {exc}") from None
        gateway.load_handlers()  # a handler that fails to import fails here, with its traceback
        server.gateway = gateway
        server.extra_routes.update(local_pages(backend.outbox if backend is not None else None))
        if stop.is_set():
            return 0
        serving = threading.Thread(target=server.serve_forever, args=(0.2,), name="local-api", daemon=True)
        serving.start()
        base = f"http://{HOST}:{server.port}"
        for api, consumer in consumers:
            consumer.gateway = consumer_gateway(api, os.environ.get("TOKEN_ISSUER") or base)
            consumer.gateway.load_handlers()
            threading.Thread(target=consumer.serve_forever, args=(0.2,), name=api, daemon=True).start()
            consumers_serving.append(consumer)
        print(f"API:  {base}  (stage {stage}; ready in {time.perf_counter() - started:.1f} s)", flush=True)
        print(f"Docs: {base}/docs", flush=True)
        print(f"Demo: {base}/  (the browser client)", flush=True)
        if backend is not None:
            print(f"Mail: {base}{OUTBOX_PATH}  (every mail sent; each is printed here too)", flush=True)
        for api, consumer in consumers:
            print(f"Consumer example ({api}, JWT authorizer): http://{HOST}:{consumer.port}/whoami", flush=True)
        print("Ctrl-C stops it.", flush=True)
        while not stop.wait(0.2):
            pass
        print("Stopping.", flush=True)
        return 0
    except StartupError as exc:
        return _fail(str(exc))
    finally:
        if serving is not None:
            server.shutdown()
        server.server_close()
        for consumer in consumers_serving:
            consumer.shutdown()
        for _, consumer in consumers:
            consumer.server_close()
        if backend is not None:
            backend.stop()


if __name__ == "__main__":
    sys.exit(main())
