"""auth_core.botocore_data: botocore's data cut to our services, and no client that reads it behaves differently.

Fails when the committed data is not what the installed botocore gives (`make botocore-data`), when botocore starts
creating clients of a service it lacks, and when a client made from it sends a request anywhere else, or signs it for
another scope, than a client made from botocore's own data, in every partition and endpoint variant.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
from botocore.config import Config
from botocore.loaders import Loader

from auth_core import botocore_data, container
from auth_core.botocore_data import SERVICES, TrimmedDataLoader, data_directory
from infra.botocore_data import generate

BOTOCORE = Path(botocore.__file__).parent
REGIONS = ("us-east-1", "eu-west-3", "ap-southeast-5", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "eusc-de-east-1")
VARIANTS = {
    "standard": {},
    "fips": {"use_fips_endpoint": True},
    "dualstack": {"use_dualstack_endpoint": True},
}


@pytest.fixture(autouse=True)
def no_operator_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Whatever this machine's ~/.aws/models or AWS_DATA_PATH hold, the tests start without them."""
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    monkeypatch.setattr(Loader, "CUSTOMER_DATA_PATH", str(tmp_path / "no-models-here"))


def files(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes() for path in directory.rglob("*") if path.is_file()
    }


def test_the_committed_data_is_what_the_installed_botocore_gives(tmp_path: Path) -> None:
    committed = data_directory()
    assert committed.is_dir(), f"no data for botocore {botocore.__version__}: run `make botocore-data`"
    assert [path.name for path in committed.parent.iterdir() if path.is_dir()] == [botocore.__version__]
    generate(tmp_path / "data")
    assert files(tmp_path / "data") == files(committed)


def test_the_data_has_every_service_of_ours_and_nothing_else() -> None:
    directory = data_directory()
    assert sorted(path.name for path in directory.iterdir() if path.is_dir()) == sorted(SERVICES)
    loader = botocore_data.loader()
    assert isinstance(loader, TrimmedDataLoader)
    assert loader.list_available_services("service-2") == sorted(SERVICES)


def test_botocore_creates_no_client_of_a_service_the_data_lacks() -> None:
    """Credential and token providers create clients of their own (STS, SSO, sign-in) with the session's loader."""
    pattern = re.compile(r"""(?:client_creator|create_nested_client)\((?:\s*self\._session,)?\s*['"]([a-z0-9-]+)['"]""")
    created = set()
    for path in BOTOCORE.rglob("*.py"):
        if path.name not in ("stub.py", "eventstream.py") and "docs" not in path.parts:
            created |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert created, "the pattern no longer finds botocore's own clients"
    assert created <= set(SERVICES)


class SentError(Exception):
    """Raised by the before-send hook: the request was built and signed; nothing leaves the test."""


def first_request(loader: Any, service: str, region: str, variant: dict[str, bool]) -> tuple[str, str]:
    """The URL and the credential scope (without the date) of the first operation whose required input is strings."""
    session = botocore.session.Session()
    if loader is not None:
        session.register_component("data_loader", loader)
    client = session.create_client(
        service,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}, **variant),
    )
    model = client.meta.service_model
    operation, params = next(
        (name, {member: "x" * shape.members[member].metadata.get("min", 1) for member in required})
        for name in sorted(model.operation_names)
        for shape in [model.operation_model(name).input_shape]
        for required in [shape.required_members if shape else []]
        if all(shape.members[member].type_name == "string" for member in required)
    )
    seen: list[tuple[str, str]] = []

    def capture(request: Any, **_: Any) -> None:
        authorization = request.headers.get("Authorization", b"")
        scope = re.search(rb"Credential=[^/]+/\d{8}/([^,]+),", authorization)
        seen.append((request.url, scope.group(1).decode() if scope else "unsigned"))
        raise SentError

    client.meta.events.register("before-send", capture)
    method = getattr(client, botocore.xform_name(operation))
    with pytest.raises(SentError):
        method(**params)
    return seen[0]


@pytest.mark.parametrize("service", SERVICES)
def test_a_client_sends_and_signs_exactly_as_with_botocores_own_data(service: str) -> None:
    trimmed = TrimmedDataLoader(data_directory())
    compared = 0
    for region in REGIONS:
        for variant in VARIANTS.values():
            try:
                expected = first_request(None, service, region, variant)
            except botocore.exceptions.EndpointResolutionError:
                with pytest.raises(botocore.exceptions.EndpointResolutionError):
                    first_request(trimmed, service, region, variant)
                continue
            assert first_request(trimmed, service, region, variant) == expected, (region, variant)
            compared += 1
    assert compared >= len(REGIONS)


def test_botocore_data_of_the_operators_own_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AWS_DATA_PATH (or the config file's data_path) and ~/.aws/models: botocore's own loader reads them first, so
    an endpoints.json there (a proxy, say) must keep routing the service's clients."""
    proxied = json.loads((Path(Loader.BUILTIN_DATA_PATH) / "endpoints.json").read_text())
    proxied["partitions"][0]["services"]["dynamodb"]["endpoints"]["us-east-1"] = {"hostname": "dynamodb.proxy.example"}
    (tmp_path / "endpoints.json").write_text(json.dumps(proxied))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    container.reset()
    try:
        assert container.dynamodb().meta.endpoint_url == "https://dynamodb.proxy.example"
    finally:
        container.reset()
    monkeypatch.delenv("AWS_DATA_PATH")
    assert isinstance(botocore_data.loader(), TrimmedDataLoader)
    monkeypatch.setattr(Loader, "CUSTOMER_DATA_PATH", str(tmp_path))  # ~/.aws/models exists
    assert botocore_data.loader() is None


def test_without_data_for_the_installed_botocore_the_clients_read_botocores_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(botocore_data, "DATA", tmp_path)
    assert botocore_data.loader() is None
