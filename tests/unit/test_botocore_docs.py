"""auth_core.botocore_docs: botocore without botocore.docs on a cold start, and nothing else different.

The first tests fail when botocore changes under the stand-ins (a new import of botocore.docs anywhere outside it,
another docstring class, a docstring class that stops being botocore's lazy kind); the last ones make a DynamoDB
client under the stand-ins in a fresh process and prove it works on moto and documents exactly what it would have.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import botocore
import botocore.docs.docstring

from auth_core.botocore_docs import DOCSTRING, DOCSTRING_CLASSES

BOTOCORE = Path(botocore.__file__).parent
# Every import of botocore.docs by botocore's own modules outside botocore/docs/, as the stand-ins expect them:
# botocore.docs.utils is imported for real (only its package __init__ is deferred); the docstring classes deferred.
EXPECTED = {
    ("client.py", DOCSTRING): {"ClientMethodDocstring", "PaginatorDocstring"},
    ("waiter.py", DOCSTRING): {"WaiterDocstring"},
    ("handlers.py", "botocore.docs.utils"): {
        "AppendParamDocumentation",
        "AutoPopulatedParam",
        "DocumentModifiedShape",
        "HideParamFromOperations",
    },
}


def docs_imports() -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for path in BOTOCORE.rglob("*.py"):
        relative = path.relative_to(BOTOCORE).as_posix()
        if relative.startswith("docs/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("botocore.docs"):
                found.setdefault((relative, str(node.module)), set()).update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("botocore.docs"):
                        found.setdefault((relative, alias.name), set()).add("*")
    return found


def test_botocore_imports_from_docs_only_what_the_stand_ins_cover() -> None:
    assert docs_imports() == EXPECTED
    assert set(DOCSTRING_CLASSES) == EXPECTED[("client.py", DOCSTRING)] | EXPECTED[("waiter.py", DOCSTRING)]


def test_botocore_docstring_classes_are_lazy_strings_built_from_their_arguments() -> None:
    for name in DOCSTRING_CLASSES:
        real = getattr(botocore.docs.docstring, name)
        assert issubclass(real, botocore.docs.docstring.LazyLoadedDocstring)
        assert str.__str__(real(operation_model=None)) == ""  # nothing generated until read


CHILD = """
import json, os, sys
shimmed = sys.argv[1] == "shim"
if shimmed:
    from auth_core.botocore_docs import install
    install()
import botocore.session
from botocore.config import Config
loaded = sorted(name for name in sys.modules if name.startswith("botocore.docs"))
from moto import mock_aws
with mock_aws():
    client = botocore.session.get_session().create_client("dynamodb", config=Config(retries={"max_attempts": 1}))
    client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    client.put_item(TableName="t", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    item = client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    import inspect
    import botocore.docs
    print(json.dumps({"loaded": loaded, "item": item, "doc": inspect.getdoc(client.batch_get_item),
                      "waiter_doc": str(client.get_waiter("table_exists").wait.__doc__),
                      "paginator_doc": str(client.get_paginator("scan").paginate.__doc__),
                      "documenter": botocore.docs.ServiceDocumenter.__module__}))
"""


def run(mode: str) -> dict[str, object]:
    env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1", "PATH": ""}
    completed = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, env=env, check=True)
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def test_client_under_stand_ins_loads_no_documenter_works_and_documents_the_same() -> None:
    shimmed, plain = run("shim"), run("plain")

    assert shimmed["loaded"] == ["botocore.docs", "botocore.docs.utils"]
    assert "botocore.docs.service" in plain["loaded"]
    assert shimmed["item"] == plain["item"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    for name in ("doc", "waiter_doc", "paginator_doc", "documenter"):
        assert shimmed[name] == plain[name]
    assert "RequestItems" in str(shimmed["doc"])
