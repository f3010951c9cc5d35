"""Routing as on API Gateway and bad answers answered well (issue 16, findings 6 and 9): greedy `{path+}`,
an encoded slash inside a segment, literal routes first; a handler's answer that HTTP cannot carry is a
500 with a request id and a log line saying what was wrong, and the connection is always answered.
Real daemon, real workers, real HTTP (and raw sockets where a client library would hide the bytes)."""

from __future__ import annotations

import socket

import httpx
import pytest
from test_local_helpers import Stage, write_blueprint

pytestmark = pytest.mark.slow

BLUEPRINT = """
name: routing
functions:
  files:
    code: fn
    handler: main.files
    triggers:
      - http: "GET /files/{path+}"
      - http: GET /files/special
      - http: "GET /echo/{id}"
      - http: "GET /users/{user}/docs/{rest+}"
  answers:
    code: fn
    handler: main.answers
    triggers: [{http: "GET /bad/{kind}"}, {http: POST /json}]
"""

CODE = '''
from deployer.runtime import Response

def files(request):
    return {"path": request.path, "params": dict(request.params)}

BAD = {
    "int-body": lambda: Response(200, 5),
    "body-on-204": lambda: Response(204, "s"),
    "body-on-304": lambda: Response(304, {"a": 1}),
    "status-0": lambda: Response(0, "x"),
    "status-999": lambda: Response(999, "x"),
    "crlf": lambda: Response(200, "x", {"X-Evil": "a\\r\\nSet-Cookie: pwned=1"}),
    "not-latin-1": lambda: Response(200, "x", {"X-Price": "10 \\u20ac"}),
    "ok": lambda: Response(200, "fine", {"X-Accent": "\\u00e9t\\u00e9"}),
    "no-content": lambda: Response(204),
}

def answers(request):
    if request.path == "/json":
        return {"got": request.json()}
    return BAD[request.params["kind"]]()
'''


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    s = Stage(write_blueprint(tmp_path_factory.mktemp("routing"), BLUEPRINT, {"fn/main.py": CODE})).start()
    yield s
    s.stop()


def test_a_greedy_path_parameter_takes_the_rest_of_the_path(cloud):
    r = httpx.get(f"{cloud.url}/files/a/b/c.txt")
    assert r.status_code == 200 and r.json()["params"] == {"path": "a/b/c.txt"}
    assert httpx.get(f"{cloud.url}/files/abc").json()["params"] == {"path": "abc"}
    assert httpx.get(f"{cloud.url}/files/").status_code == 404  # greedy means one segment at least
    assert httpx.get(f"{cloud.url}/users/u1/docs/x/y").json()["params"] == {"user": "u1", "rest": "x/y"}


def test_a_literal_route_wins_over_a_greedy_one_declared_before_it(cloud):
    assert httpx.get(f"{cloud.url}/files/special").json()["params"] == {}


def test_an_encoded_slash_stays_inside_its_segment(cloud):
    r = httpx.get(f"{cloud.url}/echo/a%2Fb")
    assert r.status_code == 200 and r.json()["params"] == {"id": "a/b"}
    assert httpx.get(f"{cloud.url}/echo/100%25%2f").json()["params"] == {"id": "100%/"}
    assert httpx.get(f"{cloud.url}/echo/a/b").status_code == 404
    assert httpx.get(f"{cloud.url}/files/x%2Fy/z").json()["params"] == {"path": "x/y/z"}
    assert httpx.get(f"{cloud.url}/echo/%C3%A9t%C3%A9").json()["params"] == {"id": "été"}


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                text = b"".join(chunks)
                head, _, body = text.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if _ and length and len(body) >= length[0]:
                    break
        except socket.timeout:
            pass
        return b"".join(chunks)


@pytest.mark.parametrize("kind, why", [
    ("int-body", "a body of type int"),
    ("body-on-204", "status 204 has no body"),
    ("body-on-304", "status 304 has no body"),
    ("status-0", "status 0 is not a final HTTP status"),
    ("status-999", "status 999 is not a final HTTP status"),
    ("crlf", "header 'X-Evil' has a control character"),
    ("not-latin-1", "header 'X-Price' has a value HTTP cannot carry"),
])
def test_a_bad_answer_is_a_500_with_a_request_id_and_a_log_line(cloud, kind, why):
    answer = raw(cloud.info["port"], f"GET /bad/{kind} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 500"), answer[:200]
    assert b"pwned" not in answer
    r = httpx.get(f"{cloud.url}/bad/{kind}")
    assert r.status_code == 500 and r.json()["error"] == "internal error"
    rid = r.json()["request_id"]
    log = cloud.log("answers")
    line = next(line for line in log.splitlines() if rid in line)
    assert "returned a bad response" in line and why in line
    assert httpx.get(f"{cloud.url}/bad/ok").headers["x-accent"] == "été"  # the worker serves on


def test_answers_that_http_can_carry_are_unchanged(cloud):
    r = httpx.get(f"{cloud.url}/bad/no-content")
    assert r.status_code == 204 and r.content == b""
    assert httpx.get(f"{cloud.url}/bad/ok").text == "fine"


def test_deeply_nested_json_is_the_clients_mistake_400(cloud):
    r = httpx.post(f"{cloud.url}/json", content=b"[" * 100000, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]
    assert httpx.post(f"{cloud.url}/json", json=[[1]]).json() == {"got": [[1]]}
