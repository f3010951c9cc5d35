"""Table and bucket keys behave as on the clouds (issue 16, findings 7 and 8): one key rule per kind,
enforced with the same error by every cloud's client, and a local bucket whose files are named by an
encoding of the keys (dotfiles listed, `c1` beside `c1/x`, 1,024-byte keys, no path traversal).
End to end through a handler in a real local cloud; the other clouds' clients are checked directly (the
rule is applied before any SDK is imported, so no emulator is needed)."""

from __future__ import annotations

import importlib
import json

import httpx
import pytest
from test_local_helpers import Stage, objects, write_blueprint

from deployer.runtime.types import InvalidKey

pytestmark = pytest.mark.slow

BLUEPRINT = """
name: keys
stores:
  items: {kind: table, key: id}
  files: {kind: bucket}
functions:
  store:
    code: fn
    handler: main.store
    uses: {items: read-write, files: read-write}
    triggers: [{http: POST /op}]
"""

CODE = '''
from deployer.runtime import stores

def decode(value):
    return tuple(value["tuple"]) if isinstance(value, dict) and "tuple" in value else value

def store(request):
    op = request.json()
    target = stores.table("items") if op["store"] == "table" else stores.bucket("files")
    args = [decode(a) for a in op["args"]]
    if op["store"] == "bucket" and op["method"] == "put":
        args[1] = args[1].encode()
    try:
        result = getattr(target, op["method"])(*args)
    except ValueError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"result": result.decode() if isinstance(result, bytes) else result}
'''


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    s = Stage(write_blueprint(tmp_path_factory.mktemp("keys"), BLUEPRINT, {"fn/main.py": CODE})).start()
    yield s
    s.stop()


def call(cloud, store: str, method: str, *args):
    r = httpx.post(f"{cloud.url}/op", json={"store": store, "method": method, "args": list(args)}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("key", [1, None, {"tuple": ["a"]}, "", "a\u0000b", "tab\there", "x" * 171])
def test_a_bad_table_key_is_refused_with_the_key_rule(cloud, key):
    answer = call(cloud, "table", "put", key, {"v": 1})
    assert answer["error"].startswith("InvalidKey: bad table key")
    assert "table keys are non-empty strings of at most 170 characters" in answer["error"]


def test_put_1_is_not_the_row_of_get_1_and_the_key_attribute_is_the_key(cloud):
    assert "bad table key 1: not a string but int" in call(cloud, "table", "put", 1, {"v": 1})["error"]
    assert call(cloud, "table", "get", "1") == {"result": None}
    call(cloud, "table", "put", "k1", {"id": "other", "v": 2})
    assert call(cloud, "table", "get", "k1") == {"result": {"id": "k1", "v": 2}}
    longest = "é" * 170
    call(cloud, "table", "put", longest, {"v": 3})
    assert call(cloud, "table", "get", longest)["result"] == {"id": longest, "v": 3}
    assert cloud.table("items")["k1"] == {"id": "k1", "v": 2}


def test_dotfiles_and_dotted_keys_are_stored_and_listed(cloud):
    keys = [".hidden", "dir/.hid", "...", "..a", "a.b/c.d"]
    for key in keys:
        call(cloud, "bucket", "put", key, f"data of {key}")
    listed = call(cloud, "bucket", "list", "")["result"]
    assert set(keys) <= set(listed)
    assert call(cloud, "bucket", "list", "dir/")["result"] == ["dir/.hid"]
    assert call(cloud, "bucket", "get", "...") == {"result": "data of ..."}


def test_a_key_and_a_longer_key_under_it_both_exist(cloud):
    call(cloud, "bucket", "put", "c1", "one")
    call(cloud, "bucket", "put", "c1/x", "under")
    assert call(cloud, "bucket", "get", "c1") == {"result": "one"}
    assert call(cloud, "bucket", "get", "c1/x") == {"result": "under"}
    call(cloud, "bucket", "put", "c2/x", "only under")
    assert call(cloud, "bucket", "delete", "c2") == {"result": None}  # a "prefix" is no object: nothing to do
    assert call(cloud, "bucket", "get", "c2/x") == {"result": "only under"}
    assert call(cloud, "bucket", "get", "c2") == {"result": None}


def test_keys_up_to_1024_bytes_work_and_longer_ones_are_refused(cloud):
    for key in ["k" * 300, "p/" * 253 + "k" * 518, "é" * 512]:
        assert len(key.encode()) <= 1024
        call(cloud, "bucket", "put", key, "long")
        assert call(cloud, "bucket", "get", key) == {"result": "long"}
        assert key in call(cloud, "bucket", "list", key[:10])["result"]
        call(cloud, "bucket", "delete", key)
        assert call(cloud, "bucket", "get", key) == {"result": None}
    answer = call(cloud, "bucket", "put", "é" * 513, "too long")
    assert "bad object key" in answer["error"] and "1026 bytes" in answer["error"]
    answer = call(cloud, "bucket", "put", "p/" * 254 + "k", "too deep")
    assert "bad object key" in answer["error"] and "255 segments" in answer["error"]


@pytest.mark.parametrize("key", ["../x", "a/../../b", "/etc/passwd", "a//b", "a\\b", "", "nul\u0000"])
def test_keys_that_are_no_plain_relative_name_are_refused_and_nothing_escapes(cloud, key):
    answer = call(cloud, "bucket", "put", key, "evil")
    assert answer["error"].startswith("InvalidKey: bad object key")
    assert not list(cloud.state.glob("**/x")) and not list(cloud.state.parent.glob("**/b"))


def test_objects_are_files_named_by_encoded_keys_inside_the_bucket(cloud):
    call(cloud, "bucket", "put", "enc/a b.txt", "spaced")
    assert objects(cloud.state, "files", "enc/") == {"enc/a b.txt": b"spaced"}
    names = [p.name for p in (cloud.state / "buckets" / "files").iterdir()]
    assert "enc%2Fa%20b%2Etxt" in names


# -- the same rule in every cloud's client -----------------------------------------------------------

CLOUDS = ["local", "aws", "gcp", "azure"]


def error_of(action) -> str:
    with pytest.raises(InvalidKey) as caught:
        action()
    return str(caught.value)


@pytest.mark.parametrize("bad", [1, "", "x" * 171, "a\u0000b"])
def test_every_client_refuses_a_bad_table_key_with_the_same_error(bad, tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LOCAL_STATE", str(tmp_path))
    errors = set()
    for cloud in CLOUDS:
        table = importlib.import_module(f"deployer.runtime.clients.{cloud}").Table("items", "items-x", "id")
        errors |= {error_of(lambda: table.put(bad, {})), error_of(lambda: table.get(bad)),
                   error_of(lambda: table.delete(bad))}
    assert len(errors) == 1, errors


@pytest.mark.parametrize("bad", ["../x", "é" * 513, "", "a\nb"])
def test_every_client_refuses_a_bad_object_key_with_the_same_error(bad, tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LOCAL_STATE", str(tmp_path))
    errors = set()
    for cloud in CLOUDS:
        bucket = importlib.import_module(f"deployer.runtime.clients.{cloud}").Bucket("files", "files-x")
        errors |= {error_of(lambda: bucket.put(bad, b"")), error_of(lambda: bucket.get(bad)),
                   error_of(lambda: bucket.delete(bad))}
    assert len(errors) == 1, errors


def test_the_gcp_client_escapes_the_document_ids_firestore_reserves():
    from deployer.runtime.clients.gcp import document_id

    ids = {key: document_id(key) for key in [".", "..", "__x__", "a/b", "100%", "_x_", "plain"]}
    assert ids == {".": "%2E", "..": "%2E%2E", "__x__": "%5F_x__", "a/b": "a%2Fb", "100%": "100%25",
                   "_x_": "_x_", "plain": "plain"}
    assert len(set(ids.values())) == len(ids)
    assert json.dumps(ids)  # plain strings
