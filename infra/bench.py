"""`make bench`: every performance figure of the service beside its floor, as ratios measured in one run.

1. bytecode: the `sam build` output ships a .pyc for every module, and a fresh import compiles nothing;
2. cold start: a fresh process imports a handler from the build output and answers one event against the embedded
   backend, beside a naive handler (jwt, boto3 + a DynamoDB client, Powertools' validating resolver, Logger) and
   `python -c pass`;
3. warm authorizer: one invocation beside one P-256 signature verification (cryptography's) of the same token;
4. login: a warm login beside one bcrypt check at the configured cost plus one kms:Sign round trip (measured on the
   embedded moto; AWS adds 5 to 15 ms in-region); unknown email beside wrong password;
5. sizes of the layer and each function, unzipped;
6. memory sizing: login latency and cost per million logins for each memory size, and a cost model beside Cognito.

The build output's native modules are arm64 (Lambda's); to run them here, the layer is replayed for this machine from
the same lock (same packages, same layout, same compiled bytecode) in .aws-sam/bench/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auth_core.signing_keys import KeySet

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
REPLAY = ROOT / ".aws-sam" / "bench"
FUNCTIONS = {
    "AuthorizerFunction": "authorizer",
    "RegisterFunction": "register",
    "LoginFunction": "login",
    "RefreshFunction": "refresh",
    "LogoutFunction": "logout",
    "MeFunction": "me",
    "AdminFunction": "admin",
    "AccountFunction": "account",
    "JwksFunction": "jwks",
}
COLD_RUNS = 11
BCRYPT_COST = 12
# arm64 Lambda, us-east-1, as published in 2026: per GB-second and per request; Cognito user pools per MAU above the
# free 10,000 (Essentials tier; Lite is $0.0055). Check the current price pages before relying on them.
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
API_GATEWAY_REST_REQUEST = 3.50 / 1_000_000
DYNAMODB_READ = 0.125 / 1_000_000  # on-demand, per read request unit
DYNAMODB_WRITE = 0.625 / 1_000_000  # on-demand, per write request unit
KMS_ASYMMETRIC_REQUEST = 0.15 / 10_000  # kms:Sign with an ECC key (asymmetric requests)
KMS_KEY_MONTH = 1.00  # per customer-managed key; rotation keeps a current and a previous key
SES_EMAIL = 0.10 / 1_000
# SnapStart for Python: the cache, per GB-second while a published version is active (at least 3 hours), and each
# restore, per GB restored.
SNAPSTART_CACHE_GB_SECOND = 0.0000015046
SNAPSTART_RESTORE_GB = 0.0001397998
SECONDS_PER_MONTH = 30 * 86_400
COGNITO_ESSENTIALS_MAU = 0.015
COGNITO_FREE_MAU = 10_000
FULL_VCPU_MB = 1769

NAIVE_HANDLER = """
import json
import boto3
import jwt
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)
table = boto3.client("dynamodb")

@app.get("/me")
def me() -> dict:
    item = table.get_item(TableName=__import__("os").environ["USERS_TABLE_NAME"], Key={"email": {"S": "x@example.com"}})
    return {"found": "Item" in item}

def handler(event, context):
    return app.resolve(event, context)
"""

CHILD = """
import json, sys, time
start = time.perf_counter()
task_root, layer, event_file = sys.argv[1:4]
sys.path[:0] = [task_root, layer]
bcrypt_seconds = [0.0]

class TimeBcrypt:
    \"\"\"Wraps bcrypt's hashpw and checkpw if the handler imports bcrypt: its one check is reported apart.\"\"\"
    def find_spec(self, name, path=None, target=None):
        if name != "bcrypt":
            return None
        sys.meta_path.remove(self)
        import importlib.util
        spec = importlib.util.find_spec(name)
        exec_module = spec.loader.exec_module
        def timed_exec(module):
            exec_module(module)
            for function in ("hashpw", "checkpw"):
                real = getattr(module, function)
                def timed(*args, real=real):
                    started = time.perf_counter()
                    try:
                        return real(*args)
                    finally:
                        bcrypt_seconds[0] += time.perf_counter() - started
                setattr(module, function, timed)
        spec.loader.exec_module = timed_exec
        return spec

sys.meta_path.insert(0, TimeBcrypt())
import app
imported = time.perf_counter()
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
result = app.handler(json.load(open(event_file)), Context())
answered = time.perf_counter()
missing = [m.__name__ for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and m.__file__.endswith(".py") and m.__file__.startswith((task_root, layer))
           and not __import__("os").path.exists(__import__("importlib.util").util.cache_from_source(m.__file__))]
print(json.dumps({"seconds": answered - start, "import": imported - start, "bcrypt": bcrypt_seconds[0],
                  "uncompiled": missing,
                  "status": result.get("statusCode") if isinstance(result, dict) else None,
                  "effect": (result.get("policyDocument") or {}).get("Statement", [{}])[0].get("Effect")
                  if isinstance(result, dict) else None}))
"""


def median_seconds(samples: list[float]) -> float:
    return statistics.median(samples)


def row(name: str, value: float, floor: float, goal: str = "", unit: str = "ms") -> str:
    scale = {"ms": 1e3, "us": 1e6}[unit]
    ratio = value / floor if floor else float("nan")
    return f"| {name} | {value * scale:.1f} {unit} | {floor * scale:.1f} {unit} | {ratio:.2f}x | {goal} |"


# -- 1. bytecode ---------------------------------------------------------------------------------------------------


def bytecode_report() -> list[str]:
    lines = ["| artifact | modules | without .pyc |", "|---|---|---|"]
    for artifact in sorted(path for path in BUILD.iterdir() if path.is_dir()):
        sources = list(artifact.rglob("*.py"))
        missing = [path for path in sources if not _cached(path).exists()]
        lines.append(f"| {artifact.name} | {len(sources)} | {len(missing)} |")
    return lines


def _cached(source: Path) -> Path:
    import importlib.util

    return Path(importlib.util.cache_from_source(str(source)))


# -- the replayed layer --------------------------------------------------------------------------------------------


def replay_layer(python: str) -> Path:
    """The layer as `sam build` makes it, for this machine's architecture, compiled like `make build` compiles."""
    target = REPLAY / "layer" / "python"
    stamp = REPLAY / "layer" / ".requirements"
    requirements = (ROOT / "layers/shared/requirements.txt").read_text()
    if not (stamp.exists() and stamp.read_text() == requirements):
        shutil.rmtree(REPLAY / "layer", ignore_errors=True)
        target.mkdir(parents=True)
        uv = ROOT / ".tools" / "bin" / "uv"
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "--quiet",
                "--python",
                python,
                "--target",
                str(target),
                "--no-deps",
                "-r",
                str(ROOT / "layers/shared/requirements.txt"),
            ],
            check=True,
        )
        stamp.write_text(requirements)
    shutil.rmtree(target / "auth_core", ignore_errors=True)
    shutil.copytree(BUILD / "SharedLayer" / "python" / "auth_core", target / "auth_core")
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)], check=True
    )
    return target


# -- 2. cold start -------------------------------------------------------------------------------------------------


def cold_start(
    python: str, runs: list[tuple[Path, dict[str, Any]]], layer: Path, env: dict[str, str]
) -> list[dict[str, Any]]:
    """Fresh processes for each (task root, event) of `runs`, interleaved run by run so that the machine's noise falls
    on all of them alike (the naive handler is one of them); for each, the medians of COLD_RUNS, and the run-by-run
    wall times (`series`) for ratios taken pair by pair. The wall time counts the interpreter's start too, as
    Lambda's init does."""
    files = []
    for _, event in runs:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(event, handle)
        files.append(handle.name)
    samples: list[list[dict[str, Any]]] = [[] for _ in runs]
    for _ in range(COLD_RUNS):
        for index, ((task_root, _), event_file) in enumerate(zip(runs, files, strict=True)):
            samples[index].append(_child(python, task_root, layer, event_file, env))
    for name in files:
        os.unlink(name)
    results = []
    for series in samples:
        result = {key: median_seconds([sample[key] for sample in series]) for key in ("seconds", "import", "bcrypt")}
        results.append(series[-1] | result | {"series": series})
    return results


def _child(python: str, task_root: Path, layer: Path, event_file: str, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    completed = subprocess.run(
        [python, "-I", "-S", "-c", CHILD, str(task_root), str(layer), event_file],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{task_root.name}: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result | {"seconds": wall}


def _cold_row(logical_id: str, directory: str, result: dict[str, Any], naive: dict[str, Any], floor: float) -> str:
    """The ratio is the median of the run-by-run ratios (each run beside the naive handler's run just before it), which
    the machine's slower and faster moments cancel out of; the times are the medians."""
    goal = "<= 0.5x" if logical_id == "AuthorizerFunction" else "<= 0.8x"
    pairs = list(zip(result["series"], naive["series"], strict=True))

    def line(name: str, without_bcrypt: bool, goal: str) -> str:
        seconds = result["seconds"] - (result["bcrypt"] if without_bcrypt else 0.0)
        ratio = median_seconds(
            [(run["seconds"] - (run["bcrypt"] if without_bcrypt else 0.0)) / base["seconds"] for run, base in pairs]
        )
        return (
            f"| {name} | {seconds * 1000:.0f} ms | {naive['seconds'] * 1000:.0f} ms | {ratio:.2f}x | {goal} | "
            f"{result['import'] * 1000:.0f} ms | {seconds / floor:.1f}x | {len(result['uncompiled'])} modules |"
        )

    if logical_id not in ("LoginFunction", "RegisterFunction"):
        return line(directory, False, goal)
    return "\n".join(
        [
            line(f"{directory} (with its bcrypt at cost {BCRYPT_COST}: {result['bcrypt'] * 1000:.0f} ms)", False, ""),
            line(f"{directory} without its bcrypt", True, goal),
        ]
    )


def import_breakdown(
    python: str, task_root: Path, layer: Path, event: dict[str, Any], env: dict[str, str]
) -> list[str]:
    """`python -X importtime` of one cold start, best of COLD_RUNS per module: self time summed per top-level package
    (what each dependency costs), and the slowest modules by their own time."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(event, handle)
    best: dict[str, int] = {}
    for _ in range(COLD_RUNS):
        completed = subprocess.run(
            [python, "-I", "-S", "-X", "importtime", "-c", CHILD, str(task_root), str(layer), handle.name],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        for line in completed.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, _, name = line.removeprefix("import time:").split("|")
            module = name.strip()
            best[module] = min(best.get(module, 1 << 62), int(own))
    os.unlink(handle.name)
    packages: dict[str, int] = {}
    for module, micros in best.items():
        top = module.split(".")[0]
        packages[top] = packages.get(top, 0) + micros
    total = sum(packages.values())
    lines = [f"All imports: {total / 1000:.0f} ms (best of {COLD_RUNS} per module, self times summed).", ""]
    lines += ["| package (self time summed) | ms | share |", "|---|---|---|"]
    for top, micros in sorted(packages.items(), key=lambda item: -item[1])[:12]:
        lines.append(f"| {top} | {micros / 1000:.1f} | {micros / total:.0%} |")
    lines += ["", "| slowest modules (own time) | ms |", "|---|---|"]
    for module, micros in sorted(best.items(), key=lambda item: -item[1])[:10]:
        lines.append(f"| {module} | {micros / 1000:.1f} |")
    return lines


def python_pass(python: str) -> float:
    samples = []
    for _ in range(COLD_RUNS):
        started = time.perf_counter()
        subprocess.run([python, "-I", "-S", "-c", "pass"], check=True)
        samples.append(time.perf_counter() - started)
    return median_seconds(samples)


# -- events --------------------------------------------------------------------------------------------------------


def events(backend_user: dict[str, str]) -> dict[str, dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
        return event

    authorizer = load("authorizer-token")
    authorizer["authorizationToken"] = f"Bearer {backend_user['access_token']}"
    login = load("login")
    login["body"] = json.dumps({"email": backend_user["email"], "password": backend_user["password"]})
    register = load("register")
    register["body"] = json.dumps({"email": "bench-new@example.com", "password": backend_user["password"]})
    refresh = load("refresh")
    refresh["body"] = json.dumps({"refresh_token": backend_user["refresh_token"]})
    context = {
        "principalId": backend_user["user_id"],
        "sub": backend_user["user_id"],
        "email": backend_user["email"],
        "role": "admin",
        "sid": backend_user["refresh_token"].split(".")[1],
        "integrationLatency": 0,
    }
    protected = {}
    for name in ("me", "admin-list-users", "logout-all"):
        protected[name] = load(name)
        protected[name]["requestContext"]["authorizer"] = context
    logout = load("logout")
    logout["body"] = json.dumps({})
    jwks = load("jwks")
    verify_email = load("verify-email")  # an unknown link: the account function's cheapest full path (a 400)
    return {
        "AuthorizerFunction": authorizer,
        "RegisterFunction": register,
        "LoginFunction": login,
        "RefreshFunction": refresh,
        "LogoutFunction": logout,
        "MeFunction": protected["me"],
        "AdminFunction": protected["admin-list-users"],
        "AccountFunction": verify_email,
        "JwksFunction": jwks,
    }


# -- 3. warm authorizer --------------------------------------------------------------------------------------------


def warm_authorizer(token: str) -> tuple[float, float]:
    """One warm authorizer invocation (public keys cached, revocation read from an in-process fake) and the floor:
    one ES256 verification of the same token by cryptography, the key already loaded."""
    from unittest.mock import patch

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from auth_core import container
    from auth_core.access import AccessVerifier
    from auth_core.es256 import b64url_decode, verifying_key
    from auth_core.records import UserRecord
    from auth_core.sessions import Session
    from functions.authorizer import app as authorizer_app

    claims = json.loads(b64url_decode(token.split(".")[1]))
    key_set = container.key_registry().read()

    class FakeSessions:
        def access_state(self, *, jti: str, session_id: str, email: str) -> tuple[bool, Session, UserRecord, KeySet]:
            session = Session(session_id, claims["sub"], "active", 1.0, float("inf"), float("inf"))
            user = UserRecord(claims["sub"], email, "admin", "active", "2026-01-01T00:00:00Z")
            return False, session, user, key_set

    verifier = AccessVerifier(container.token_service(), FakeSessions(), container.public_keys())  # type: ignore[arg-type]
    event = json.loads((ROOT / "events" / "authorizer-token.json").read_text())
    event["authorizationToken"] = f"Bearer {token}"

    class Context(LambdaContext):
        """The part of Lambda's context the authorizer's logger reads."""

        _function_name, _memory_limit_in_mb, _aws_request_id = "bench", 512, "bench"
        _invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    container.access_verifier.cache_clear()
    with patch.object(container, "access_verifier", lambda: verifier):
        assert authorizer_app.handler(event, Context())["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        invocation = _per_call(lambda: authorizer_app.handler(event, Context()), 2000)

    signing_input, _, signature = token.rpartition(".")
    current = key_set.current
    assert current is not None
    public_key = verifying_key(current.jwk)
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def floor() -> None:
        public_key.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))

    return invocation, _per_call(floor, 2000)


def _per_call(call: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        best = min(best, (time.perf_counter() - started) / repeat)
    return best


# -- 4. login ------------------------------------------------------------------------------------------------------


def login_figures(email: str, password: str) -> dict[str, float]:
    import bcrypt

    from auth_core import container
    from auth_core.errors import InvalidCredentialsError
    from auth_core.passwords import _prehash

    service = container.auth_service()
    stored = bcrypt.hashpw(_prehash(password), bcrypt.gensalt(BCRYPT_COST))

    def timed(call: Any, runs: int = 5) -> float:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
        return median_seconds(samples)

    def failing(login_email: str) -> None:
        with contextlib.suppress(InvalidCredentialsError):
            service.login(email=login_email, password="wrong password 123")

    service.login(email=email, password=password)  # warm
    signer = container.kms_signer()
    key = signer.current(container.key_registry().read())
    return {
        "sign": timed(lambda: signer.sign(key, b"header.payload"), 20),
        "round_trip": timed(container.key_registry().read, 20),  # one GetItem
        "bcrypt": timed(lambda: bcrypt.checkpw(_prehash(password), stored)),
        "login": timed(lambda: service.login(email=email, password=password)),
        # Each failure counts toward the throttle: four of each stay under the five free failures.
        "unknown": timed(lambda: failing("nobody-at-all@example.com"), 4),
        "wrong": timed(lambda: failing(email), 4),
    }


def forgot_figures(password: str, runs: int = 8) -> dict[str, float]:
    """POST /auth/password/forgot's service, for addresses with an account (each gets its first mail: the most work
    the route does) and without, interleaved; and the known path's own work, without the response-time floor."""
    from botocore.exceptions import ClientError

    from auth_core import container
    from auth_core.settings import get_settings

    with contextlib.suppress(ClientError):  # the embedded SES may already know the sender
        container.sesv2().create_email_identity(EmailIdentity=get_settings().SENDER_EMAIL)
    service = container.auth_service()
    account = container.account_service()
    known = [
        service.create_admin(email=f"bench-forgot-{i}@example.com", password=password).email for i in range(3 * runs)
    ]

    def timed(email: str) -> float:
        started = time.perf_counter()
        account.forgot_password(email=email)
        return time.perf_counter() - started

    known_samples, unknown_samples = [], []
    for i in range(runs):
        known_samples.append(timed(known[i]))
        unknown_samples.append(timed(f"bench-nobody-{i}@example.com"))
    floor = account._floor
    account._floor = 0.0
    try:
        work = median_seconds([timed(email) for email in known[runs : 2 * runs]])
        unpadded_unknown = median_seconds([timed(f"bench-nobody-x{i}@example.com") for i in range(runs)])
    finally:
        account._floor = floor
    return {
        "known": median_seconds(known_samples),
        "unknown": median_seconds(unknown_samples),
        "work": work,
        "unpadded_unknown": unpadded_unknown,
        "floor": floor,
    }


# -- 5. sizes ------------------------------------------------------------------------------------------------------


def size_report() -> list[str]:
    lines = ["| artifact | unzipped | files |", "|---|---|---|"]
    for artifact in sorted(path for path in BUILD.iterdir() if path.is_dir()):
        files = [path for path in artifact.rglob("*") if path.is_file()]
        size = sum(path.stat().st_size for path in files)
        lines.append(f"| {artifact.name} | {size / 1_048_576:.1f} MiB | {len(files)} |")
    return lines


# -- 6. memory and cost --------------------------------------------------------------------------------------------


def memory_report(login_seconds_one_vcpu: float) -> list[str]:
    lines = [
        "| memory | vCPU share | login latency (model) | cost per million logins (Lambda compute + request) |",
        "|---|---|---|---|",
    ]
    for memory in (256, 512, 1024, 1769, 2048):
        share = min(1.0, memory / FULL_VCPU_MB)
        seconds = login_seconds_one_vcpu / share
        cost = 1_000_000 * (seconds * memory / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST)
        lines.append(f"| {memory} MB | {share:.2f} | {seconds * 1000:.0f} ms | ${cost:.2f} |")
    return lines


def cost_model(login_seconds_one_vcpu: float) -> list[str]:
    """Per million API requests (a typical mix) and per month for 10,000 and 1,000,000 users: Lambda, API Gateway,
    DynamoDB, a kms:Sign per login and refresh, the mails (a verification per new user, a reset now and then), the
    signing keys, and what SnapStart would add."""
    login_memory, other_memory = 1769, 512
    login = login_seconds_one_vcpu * login_memory / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST + KMS_ASYMMETRIC_REQUEST
    refresh = 0.030 * other_memory / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST + KMS_ASYMMETRIC_REQUEST
    # authorizer + handler for a protected call, ~30 ms each at 512 MB
    protected = 2 * (0.030 * other_memory / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST) + DYNAMODB_READ * 2
    per_request = API_GATEWAY_REST_REQUEST
    # a monthly active user: 4 logins, 60 refreshes, 300 protected calls, 0.2 mails (a new user's verification,
    # a password reset now and then)
    per_user = 4 * (login + per_request + 2 * DYNAMODB_WRITE) + 60 * (refresh + per_request + 2 * DYNAMODB_WRITE)
    per_user += 300 * (protected + per_request) + 0.2 * SES_EMAIL
    keys = 2 * KMS_KEY_MONTH
    lines = [
        "| monthly active users | this service (Lambda, API Gateway, DynamoDB, KMS, SES) | of which kms:Sign | "
        "Cognito Essentials |",
        "|---|---|---|---|",
    ]
    for users in (10_000, 1_000_000):
        cognito = max(0, users - COGNITO_FREE_MAU) * COGNITO_ESSENTIALS_MAU
        signing = users * 64 * KMS_ASYMMETRIC_REQUEST + keys
        lines.append(f"| {users:,} | ${users * per_user + keys:,.0f} | ${signing:,.0f} | ${cognito:,.0f} |")
    # SnapStart: a cache per function with a published version (all month), and a restore per new environment.
    functions = len(FUNCTIONS)
    cache = functions * other_memory / 1024 * SECONDS_PER_MONTH * SNAPSTART_CACHE_GB_SECOND
    restore = other_memory / 1024 * SNAPSTART_RESTORE_GB
    lines += [
        "",
        f"One protected API call costs ${(protected + per_request) * 1e6:.2f} per million, "
        f"one login ${(login + per_request) * 1e6:.2f} per million, of which kms:Sign "
        f"${KMS_ASYMMETRIC_REQUEST * 1e6:.2f} (a user: 4 logins, 60 refreshes and 300 API calls a month; API "
        "Gateway REST is most of it, then kms:Sign; the two signing keys "
        f"${keys:.0f} a month).",
        "",
        f"SnapStart (off by default) would add ${cache:,.2f} a month of cache for {functions} functions at "
        f"{other_memory} MB, and ${restore * 1e6:,.0f} per million restores (one per new environment), on top of "
        "the invocations.",
    ]
    return lines


# -- the run -------------------------------------------------------------------------------------------------------


def main() -> int:
    if not BUILD.is_dir():
        print("run `make build` first", file=sys.stderr)
        return 1
    python = os.environ.get("PY313") or shutil.which("python3.13") or sys.executable
    # The interpreter itself, not a version manager's shim (pyenv's is a bash script: ~0.1 s per start, not Lambda's).
    python = subprocess.run(
        [python, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    report: list[str] = ["## Bytecode (sam build output, after make build)", "", *bytecode_report(), ""]

    from infra.backend import EmbeddedBackend, apply_local_defaults
    from infra.cfn import load_template

    template = load_template()
    os.environ.update(
        {"BCRYPT_COST": str(BCRYPT_COST), "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    )
    backend = EmbeddedBackend(template, stage="bench")
    backend.start()
    apply_local_defaults(template, port=3000)
    try:
        from auth_core import container

        container.reset()
        password = "correct horse battery staple 42"
        user = container.auth_service().create_admin(email="bench@example.com", password=password)
        issued = container.auth_service().login(email="bench@example.com", password=password)
        backend_user = {
            "email": user.email,
            "password": password,
            "user_id": user.id,
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
        }
        layer = replay_layer(python)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
        floor = python_pass(python)
        naive_event = json.loads((ROOT / "events" / "me.json").read_text())
        function_events = events(backend_user)
        function_events["RefreshFunction"]["body"] = json.dumps(  # a token of its own, not the authorizer's session's
            {"refresh_token": container.auth_service().login(email=user.email, password=password).refresh_token}
        )
        rows, naive_medians = [], []
        with tempfile.TemporaryDirectory() as naive_root:
            Path(naive_root, "app.py").write_text(NAIVE_HANDLER)
            for logical_id, directory in FUNCTIONS.items():
                naive, result = cold_start(
                    python,
                    [(Path(naive_root), naive_event), (BUILD / logical_id, function_events[logical_id])],
                    layer,
                    env,
                )
                naive_medians.append(naive["seconds"])
                rows.append(_cold_row(logical_id, directory, result, naive, floor))
                if logical_id == "AuthorizerFunction":
                    breakdown = import_breakdown(python, BUILD / logical_id, layer, function_events[logical_id], env)
                    authorizer = result
        baseline = median_seconds(naive_medians)
        report += [
            f"## Cold start (fresh process: start Python, import from the build output, answer one event; median of "
            f"{COLD_RUNS}, each function's runs interleaved with the naive handler's; the ratio: the median of the "
            "run-by-run ratios)",
            "",
            f"Floors: `python -c pass` {floor * 1000:.0f} ms; naive handler {baseline * 1000:.0f} ms "
            f"({baseline / floor:.1f}x python -c pass; median over the functions' interleaved series). Register and "
            "login also appear without the time their one bcrypt call took (measured inside the same process).",
            "",
            "| function | cold start | naive handler | ratio | goal | of which import | x python -c pass | "
            "compiled on import |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"### The authorizer's cold start: {authorizer['seconds'] * 1000:.0f} ms = Python's start "
            f"{floor * 1000:.0f} ms + imports {authorizer['import'] * 1000:.0f} ms + the first invocation "
            f"{(authorizer['seconds'] - floor - authorizer['import']) * 1000:.0f} ms (one DynamoDB client, a GetItem "
            "of the key registry, one BatchGetItem, one P-256 verify)",
            "",
            *breakdown,
        ]
        invocation, verify_floor = warm_authorizer(issued.access_token)
        report += [
            "",
            "## Warm authorizer",
            "",
            "| measure | time | floor | ratio | goal |",
            "|---|---|---|---|---|",
            row(
                "one invocation (public keys cached, revocation fake) vs one P-256 verify",
                invocation,
                verify_floor,
                "<= 3x",
                "us",
            ),
        ]
        figures = login_figures(user.email, password)
        report += [
            "",
            f"## Login (bcrypt cost {BCRYPT_COST}, embedded backend)",
            "",
            "| measure | time | floor | ratio | goal |",
            "|---|---|---|---|---|",
            row(
                "warm login vs one bcrypt check + one kms:Sign",
                figures["login"],
                figures["bcrypt"] + figures["sign"],
                "<= 1.05x",
            ),
            row(
                "one kms:Sign round trip (embedded moto; AWS in-region adds 5-15 ms)", figures["sign"], figures["sign"]
            ),
            row("one DynamoDB round trip (embedded moto: a GetItem)", figures["round_trip"], figures["round_trip"]),
            row(
                "warm login vs the same floor + its 3 DynamoDB round trips (what our code adds)",
                figures["login"],
                figures["bcrypt"] + figures["sign"] + 3 * figures["round_trip"],
            ),
            row("unknown email vs wrong password", figures["unknown"], figures["wrong"], "0.95x to 1.05x"),
        ]
        forgot = forgot_figures(password)
        report += [
            "",
            f"## Forgot password (MAIL_RESPONSE_SECONDS={forgot['floor']}, embedded backend)",
            "",
            "| measure | time | floor | ratio | goal |",
            "|---|---|---|---|---|",
            row("known email (a mail sent) vs unknown email", forgot["known"], forgot["unknown"], "0.95x to 1.05x"),
            row("known email's own work vs the response-time floor", forgot["work"], forgot["floor"], "< 1x"),
            row("unpadded: known vs unknown (what the floor hides)", forgot["work"], forgot["unpadded_unknown"], ""),
        ]
        print(f"forgot known/unknown ratio: {forgot['known'] / forgot['unknown']:.3f}", file=sys.stderr)
        report += ["", "## Sizes (unzipped)", "", *size_report()]
        report += [
            "",
            "## Memory sizing (login is one bcrypt check; Lambda: 1 vCPU at 1,769 MB, CPU in proportion below)",
            "",
            *memory_report(figures["bcrypt"]),
        ]
        report += ["", "## Cost model", "", *cost_model(figures["bcrypt"])]
    finally:
        backend.stop()
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
