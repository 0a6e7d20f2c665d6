"""Tests of lstosa_snake.web.publish: credentials, retries, errors, idempotence.

Unit tests use a tiny scripted http.server on 127.0.0.1; the ``web`` tests publish
to a real nginx WebDAV server with basic auth (fixture ``nginx_dav``)."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from lstosa_snake.web import publish
from lstosa_snake.web.publish import (
    MANIFEST_NAME,
    AuthError,
    Credentials,
    PublishError,
    UnreachableError,
    find_credentials,
    publish_dir,
)

SECRET = "s3cr3t-Pa55-do-not-leak"


# --------------------------------------------------------------------------- helpers


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "datacheck_01874.pdf": b"%PDF-1.4\n" + bytes(range(256)) * 40,
        "plots/run01874/charge.png": b"\x89PNG\r\n\x1a\n" + os.urandom(3000),
        "plots/run01874/pedestal.png": b"\x89PNG\r\n\x1a\n" + os.urandom(500),
        "summary.txt": b"night 2020-01-27\n",
        "name with space & #.txt": b"odd name\n",
        "empty.log": b"",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


class Stub:
    """A scripted HTTP server: ``responses`` is consumed per request (last one repeats)."""

    def __init__(self, responses=(201,)):
        self.responses = list(responses)
        self.requests: list[tuple[str, str, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                stub.requests.append((self.command, self.path, dict(self.headers)))
                code = stub.responses.pop(0) if len(stub.responses) > 1 else stub.responses[0]
                if code == 401:
                    body = b"unauthorized"
                else:
                    body = b""
                self.send_response(code)
                if code == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="stub"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_PUT = do_MKCOL = do_GET = do_HEAD = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/night/"

    def methods(self, method):
        return [r for r in self.requests if r[0] == method]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    servers = []

    def make(*responses):
        s = Stub(responses or (201,))
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def no_env_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("LSTOSA_WEB_USER", raising=False)
    monkeypatch.delenv("LSTOSA_WEB_PASSWORD", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-such-netrc"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- credentials


def test_credentials_from_env_take_precedence(tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine web.example.org login nuser password npass\n")
    env = {"LSTOSA_WEB_USER": "euser", "LSTOSA_WEB_PASSWORD": "epass", "NETRC": str(netrc)}
    c = find_credentials("https://web.example.org/datacheck/", environ=env)
    assert (c.user, c.password, c.origin) == ("euser", "epass", "env")


def test_credentials_from_netrc_env_file(tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine other.example.org login ouser password opass\n"
        "machine web.example.org login nuser password npass\n"
    )
    env = {"NETRC": str(netrc)}
    c = find_credentials("https://web.example.org:8443/datacheck/", environ=env)
    assert (c.user, c.password) == ("nuser", "npass")
    assert c.origin == f"netrc:{netrc}"
    assert find_credentials("https://nowhere.example.org/", environ=env) is None
    # half-set env vars are ignored, netrc still used
    c = find_credentials("https://web.example.org/", environ={**env, "LSTOSA_WEB_USER": "x"})
    assert c.user == "nuser"


def test_credentials_netrc_default_entry_and_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.delenv("LSTOSA_WEB_USER", raising=False)
    monkeypatch.delenv("LSTOSA_WEB_PASSWORD", raising=False)
    assert find_credentials("https://web.example.org/") is None
    (tmp_path / ".netrc").write_text("default login duser password dpass\n")
    (tmp_path / ".netrc").chmod(0o600)
    c = find_credentials("https://web.example.org/")
    assert (c.user, c.password) == ("duser", "dpass")


def test_credentials_repr_hides_password():
    c = Credentials("u", SECRET, "env")
    assert SECRET not in repr(c) and SECRET not in str(c)


def test_bad_netrc_error_does_not_quote_it(tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine web.example.org login u password {SECRET} bogus_token\n")
    with pytest.raises(PublishError) as info:
        find_credentials("https://web.example.org/", environ={"NETRC": str(netrc)})
    assert SECRET not in str(info.value)


def test_url_with_userinfo_is_refused(tmp_path):
    with pytest.raises(PublishError) as info:
        publish_dir(tmp_path, f"http://user:{SECRET}@127.0.0.1:1/x/")
    assert SECRET not in str(info.value)


# --------------------------------------------------------------------------- stub server


def test_password_never_in_logs_or_errors(tmp_path, stub, monkeypatch, caplog, capsys):
    make_tree(tmp_path)
    s = stub(401)
    monkeypatch.setenv("LSTOSA_WEB_USER", "alice")
    monkeypatch.setenv("LSTOSA_WEB_PASSWORD", SECRET)
    caplog.set_level(logging.DEBUG)  # includes urllib3's connection debug logging
    with pytest.raises(AuthError) as info:
        publish_dir(tmp_path, s.url, sleep=lambda _s: None)
    err = info.value
    assert err.status == 401 and err.url.startswith(s.url)
    msg = str(err)
    assert "\n" not in msg and "401" in msg and s.url in msg
    assert SECRET not in msg
    assert SECRET not in caplog.text
    import base64

    token = base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert token not in caplog.text and token not in msg
    # the header did go out (so the test is meaningful)
    assert s.requests[0][2].get("Authorization") == f"Basic {token}"

    assert publish.main([str(tmp_path), s.url, "-v"]) == 2
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err and token not in out.out + out.err
    assert SECRET not in caplog.text


def test_no_credentials_hint_on_401(tmp_path, stub, no_env_credentials):
    make_tree(tmp_path)
    s = stub(401)
    with pytest.raises(AuthError, match="no credentials found"):
        publish_dir(tmp_path, s.url)
    assert "Authorization" not in s.requests[0][2]


def test_5xx_is_retried_with_backoff(tmp_path, stub):
    (tmp_path / "a.txt").write_text("a")
    # MKCOL of the base: 201; PUT: 503, 503, then 201
    s = stub(201, 503, 503, 201)
    sleeps = []
    res = publish_dir(tmp_path, s.url, credentials=Credentials("u", "p"), retries=3, backoff=0.5, sleep=sleeps.append)
    assert res.sent == ["a.txt"] and res.ok
    assert len(s.methods("PUT")) == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_fails_the_file_not_the_run(tmp_path, stub, capsys, no_env_credentials):
    (tmp_path / "a.txt").write_text("a")
    s = stub(201, 500)
    sleeps = []
    res = publish_dir(tmp_path, s.url, retries=2, backoff=1, sleep=sleeps.append)
    assert res.failed == ["a.txt"] and not res.ok
    assert "HTTP 500" in res.errors["a.txt"]
    assert len(s.methods("PUT")) == 3 and sleeps == [1, 2]
    # failed file is not recorded as published
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["files"] == {}
    s.responses = [201]
    assert publish.main([str(tmp_path), s.url, "--retries", "0"]) == 0
    assert "sent 1, unchanged 0, failed 0" in capsys.readouterr().out


def test_cli_exit_1_on_failed_file(tmp_path, stub, capsys, no_env_credentials):
    (tmp_path / "a.txt").write_text("a")
    s = stub(201, 413)
    assert publish.main([str(tmp_path), s.url, "--retries", "0"]) == 1
    out = capsys.readouterr()
    assert "sent 0, unchanged 0, failed 1" in out.out
    assert "HTTP 413" in out.err


def test_unreachable_host_is_a_clear_error_quickly(tmp_path, no_env_credentials):
    make_tree(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/night/"
    sleeps = []
    t0 = time.monotonic()
    with pytest.raises(UnreachableError) as info:
        publish_dir(tmp_path, url, retries=2, sleep=sleeps.append, timeout=2)
    assert time.monotonic() - t0 < 5
    msg = str(info.value)
    assert "unreachable" in msg and url in msg and "\n" not in msg
    assert sleeps == [1.0, 2.0]  # bounded: retries + 1 attempts


def test_cli_unreachable_exit_3(tmp_path, capsys, no_env_credentials):
    make_tree(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/night/"
    t0 = time.monotonic()
    assert publish.main([str(tmp_path), url, "--retries", "1", "--backoff", "0.1", "--timeout", "2"]) == 3
    assert time.monotonic() - t0 < 5
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unreachable" in err and url in err


def test_timeout_is_retried_then_unreachable(tmp_path, no_env_credentials):
    (tmp_path / "a.txt").write_text("a")
    # A listening socket that never answers: connect works, the read times out.
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        url = f"http://127.0.0.1:{lsock.getsockname()[1]}/night/"
        sleeps = []
        t0 = time.monotonic()
        with pytest.raises(UnreachableError, match="Timeout"):
            publish_dir(tmp_path, url, retries=1, timeout=0.3, sleep=sleeps.append)
        assert time.monotonic() - t0 < 5
        assert sleeps == [1.0]


def test_dry_run_sends_nothing(tmp_path, capsys, no_env_credentials):
    files = make_tree(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/night/"  # nothing listens: no request may be made
    res = publish_dir(tmp_path, url, dry_run=True)
    assert sorted(res.sent) == sorted(files) and res.dry_run
    assert not (tmp_path / MANIFEST_NAME).exists()
    assert publish.main([str(tmp_path), url, "--dry-run"]) == 0
    assert f"would send {len(files)}, unchanged 0, failed 0" in capsys.readouterr().out


def test_idempotent_with_stub_and_corrupt_manifest(tmp_path, stub):
    files = make_tree(tmp_path)
    s = stub(201)
    creds = Credentials("u", "p")
    res = publish_dir(tmp_path, s.url, credentials=creds)
    assert len(res.sent) == len(files)
    n_put = len(s.methods("PUT"))
    res = publish_dir(tmp_path, s.url, credentials=creds)
    assert res.sent == [] and len(res.unchanged) == len(files)
    assert len(s.methods("PUT")) == n_put
    # another destination URL has its own record
    res = publish_dir(tmp_path, s.url + "mirror/", credentials=creds)
    assert len(res.sent) == len(files)
    # a corrupt manifest just means everything is sent again
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    res = publish_dir(tmp_path, s.url, credentials=creds)
    assert len(res.sent) == len(files)
    assert not list(tmp_path.glob(MANIFEST_NAME + ".*"))  # no temp files left behind


# --------------------------------------------------------------------------- real nginx


def _server_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.web
def test_publish_to_nginx_byte_identical(tmp_path, nginx_dav, dav_path, no_env_credentials):
    files = make_tree(tmp_path / "src")
    creds = Credentials(nginx_dav.user, nginx_dav.password)
    url = nginx_dav.url + dav_path + "20200127/"
    res = publish_dir(tmp_path / "src", url, credentials=creds)
    assert res.ok and sorted(res.sent) == sorted(files)
    assert _server_files(nginx_dav.root / dav_path / "20200127") == files
    # and through HTTP, with credentials
    r = requests.get(url + "plots/run01874/charge.png", auth=(nginx_dav.user, nginx_dav.password), timeout=5)
    assert r.status_code == 200 and r.content == files["plots/run01874/charge.png"]


@pytest.mark.web
def test_nginx_get_without_credentials_is_401(nginx_dav, dav_path, tmp_path, no_env_credentials):
    (tmp_path / "x.txt").write_text("x")
    publish_dir(tmp_path, nginx_dav.url + dav_path, credentials=Credentials(nginx_dav.user, nginx_dav.password))
    assert requests.get(nginx_dav.url + dav_path + "x.txt", timeout=5).status_code == 401
    assert requests.get(nginx_dav.url, timeout=5).status_code == 401
    assert requests.put(nginx_dav.url + dav_path + "y.txt", data=b"y", timeout=5).status_code == 401
    assert not (nginx_dav.root / dav_path / "y.txt").exists()


@pytest.mark.web
def test_nginx_wrong_credentials(tmp_path, nginx_dav, dav_path, monkeypatch, capsys):
    make_tree(tmp_path)
    url = nginx_dav.url + dav_path
    with pytest.raises(AuthError) as info:
        publish_dir(tmp_path, url, credentials=Credentials(nginx_dav.user, SECRET))
    assert info.value.status == 401 and url in str(info.value) and SECRET not in str(info.value)
    monkeypatch.setenv("LSTOSA_WEB_USER", nginx_dav.user)
    monkeypatch.setenv("LSTOSA_WEB_PASSWORD", SECRET)
    t0 = time.monotonic()
    assert publish.main([str(tmp_path), url]) == 2
    assert time.monotonic() - t0 < 5  # 401 is not retried
    out = capsys.readouterr()
    assert "authentication failed" in out.err and "401" in out.err and SECRET not in out.err + out.out
    assert not (nginx_dav.root / dav_path).exists()


@pytest.mark.web
def test_nginx_republish_is_idempotent(tmp_path, nginx_dav, dav_path, monkeypatch, capsys):
    files = make_tree(tmp_path)
    netrc = tmp_path.parent / f"{tmp_path.name}.netrc"
    netrc.write_text(f"machine 127.0.0.1 login {nginx_dav.user} password {nginx_dav.password}\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("LSTOSA_WEB_USER", raising=False)
    monkeypatch.delenv("LSTOSA_WEB_PASSWORD", raising=False)
    url = nginx_dav.url + dav_path
    uri = "/" + dav_path

    assert publish.main([str(tmp_path), url]) == 0
    assert f"sent {len(files)}, unchanged 0, failed 0" in capsys.readouterr().out
    assert nginx_dav.count("PUT", uri, 201) == len(files)
    assert (tmp_path / MANIFEST_NAME).exists()
    assert not (nginx_dav.root / dav_path / MANIFEST_NAME).exists()  # the manifest stays local

    # second run: nothing is sent (counted on the server and with a session hook)
    puts = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: puts.append(r) if r.request.method == "PUT" else None)
    before = nginx_dav.count("PUT", uri)
    res = publish_dir(tmp_path, url, session=session)
    assert res.sent == [] and len(res.unchanged) == len(files)
    assert puts == [] and nginx_dav.count("PUT", uri) == before
    assert publish.main([str(tmp_path), url]) == 0
    assert f"sent 0, unchanged {len(files)}, failed 0" in capsys.readouterr().out
    assert nginx_dav.count("PUT", uri) == before

    # a changed file (same size!) is re-sent, and only that one
    changed = tmp_path / "summary.txt"
    changed.write_bytes(files["summary.txt"].replace(b"27", b"28"))
    res = publish_dir(tmp_path, url, session=session)
    assert res.sent == ["summary.txt"] and len(puts) == 1
    assert nginx_dav.count("PUT", uri) == before + 1
    assert (nginx_dav.root / dav_path / "summary.txt").read_bytes() == changed.read_bytes()

    # a new file in a new sub-directory is sent (MKCOL + PUT)
    (tmp_path / "plots" / "run01875").mkdir()
    (tmp_path / "plots" / "run01875" / "new.png").write_bytes(b"\x89PNG new")
    res = publish_dir(tmp_path, url)
    assert res.sent == ["plots/run01875/new.png"]
    assert (nginx_dav.root / dav_path / "plots/run01875/new.png").read_bytes() == b"\x89PNG new"


@pytest.mark.web
def test_nginx_verify_remote_resends_deleted(tmp_path, nginx_dav, dav_path, no_env_credentials):
    files = make_tree(tmp_path)
    creds = Credentials(nginx_dav.user, nginx_dav.password)
    url = nginx_dav.url + dav_path
    publish_dir(tmp_path, url, credentials=creds)
    (nginx_dav.root / dav_path / "summary.txt").unlink()  # removed behind our back
    assert publish_dir(tmp_path, url, credentials=creds).sent == []  # manifest alone cannot know
    res = publish_dir(tmp_path, url, credentials=creds, verify_remote=True)
    assert res.sent == ["summary.txt"] and len(res.unchanged) == len(files) - 1
    assert _server_files(nginx_dav.root / dav_path) == files


def test_manifest_elsewhere(tmp_path, stub):
    src = tmp_path / "src"
    files = make_tree(src)
    s = stub(201)
    manifest = tmp_path / "state" / "night.json"
    manifest.parent.mkdir()
    creds = Credentials("u", "p")
    assert len(publish_dir(src, s.url, credentials=creds, manifest_path=manifest).sent) == len(files)
    assert manifest.exists() and not (src / MANIFEST_NAME).exists()
    assert publish_dir(src, s.url, credentials=creds, manifest_path=manifest).sent == []


def test_manifest_inside_source_is_not_published(tmp_path, stub):
    files = make_tree(tmp_path)
    s = stub(201)
    res = publish_dir(tmp_path, s.url, credentials=Credentials("u", "p"), manifest_path=tmp_path / "state.json")
    assert sorted(res.sent) == sorted(files)
    assert (tmp_path / "state.json").exists()
    assert not any(r[1].endswith("state.json") for r in s.requests)


def test_html_pages_are_sent_last(tmp_path, stub):
    (tmp_path / "index.html").write_text("<html></html>")
    (tmp_path / "20200127").mkdir()
    (tmp_path / "20200127" / "index.html").write_text("<html></html>")
    (tmp_path / "20200127" / "z.png").write_bytes(b"png")
    (tmp_path / "a.pdf").write_bytes(b"pdf")
    s = stub(201)
    publish_dir(tmp_path, s.url, credentials=Credentials("u", "p"))
    puts = [r[1] for r in s.methods("PUT")]
    assert sorted(puts[:2]) == ["/night/20200127/z.png", "/night/a.pdf"]
    assert sorted(puts[2:]) == ["/night/20200127/index.html", "/night/index.html"]
