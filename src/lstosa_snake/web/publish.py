"""Publish a night's datacheck directory to a password-protected web server (WebDAV).

Every regular file below ``source_dir`` is uploaded with an HTTP ``PUT`` to the same
relative path below ``base_url``; the collections (directories) leading to it are
created first with ``MKCOL``.  Authentication is HTTP basic auth.

Credentials
-----------
Never taken from a config file, from the repository, nor from the URL (a URL with
``user:password@`` is refused).  Looked up, in this order:

1. the environment variables ``LSTOSA_WEB_USER`` and ``LSTOSA_WEB_PASSWORD``
   (both must be set);
2. the netrc file (``$NETRC`` if set, else ``~/.netrc``), the ``machine`` entry for
   the URL's host name (or the ``default`` entry).

If none is found the requests go out without authentication (a server that needs it
answers 401, which is reported as :class:`AuthError`).  The password is never logged
and never appears in an exception message: messages only name the URL (without
user info) and the HTTP status.

Idempotence
-----------
A manifest ``.published.json`` in ``source_dir`` maps each remote URL to the sha256
and size of the content last uploaded there successfully.  A file whose sha256 is
the one recorded for its URL is not sent again; a changed or new file is.  The
manifest is written atomically (temporary file + ``os.replace``) after the run,
also when the run stops on an error, so that the files sent so far are not re-sent.
Keying by the full URL means publishing the same directory to two servers keeps two
independent records.

Why a local manifest rather than comparing the remote ``ETag``/``Content-Length``:
nginx' ETag is derived from mtime and size, not from the content, so it cannot tell
whether the content changed, and a size comparison misses same-size edits (common for
re-made PNG plots and PDFs).  A content hash can only be compared locally, and it
costs no request for the unchanged files.  The weak point of the manifest is a
server whose files were removed behind our back; ``verify_remote=True``
(``--verify-remote``) covers that with one ``HEAD`` per unchanged file, re-sending
those that are missing or whose ``Content-Length`` differs.

Errors and retries
------------------
5xx answers, timeouts and connection errors are retried with exponential backoff
(``backoff * 2**attempt`` seconds, ``retries`` extra attempts; the sleep function is
injectable for tests).  401/403 raise :class:`AuthError`; a host that cannot be
reached after the retries raises :class:`UnreachableError`; both are
:class:`PublishError` with a one-line message naming the URL and the status.
Any other failure of a single file (e.g. a 5xx that persists, a 413) is counted as
failed and the other files are still sent.

CLI: ``lstosa-publish SOURCE_DIR URL [--dry-run] [--timeout S] [--retries N]``;
exit 0 on success, 2 on an authentication error, 3 when the host is unreachable,
1 for anything else (including individual failed files).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import netrc
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from lstosa_snake.core import atomic

log = logging.getLogger(__name__)

MANIFEST_NAME = ".published.json"
MANIFEST_VERSION = 1
ENV_USER = "LSTOSA_WEB_USER"
ENV_PASSWORD = "LSTOSA_WEB_PASSWORD"

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 1.0
CHUNK = 1 << 20


class PublishError(Exception):
    """A publication failed.  ``str(err)`` is a one-line message naming URL and status."""

    exit_code = 1

    def __init__(self, message: str, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class AuthError(PublishError):
    """The server refused the credentials (401) or the access (403)."""

    exit_code = 2


class UnreachableError(PublishError):
    """The host could not be reached (DNS failure, refused connection, timeouts)."""

    exit_code = 3


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)
    origin: str = ""  # where they came from, e.g. "env" or "netrc:/root/.netrc"

    def __repr__(self) -> str:  # never show the password
        return f"Credentials(user={self.user!r}, password='***', origin={self.origin!r})"

    def as_auth(self) -> requests.auth.HTTPBasicAuth:
        return requests.auth.HTTPBasicAuth(self.user, self.password)


@dataclass
class PublishResult:
    sent: list[str] = field(default_factory=list)  # relative paths uploaded (or, dry run: to upload)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # relative path -> one-line reason
    bytes_sent: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        text = (
            f"{verb} {len(self.sent)}, unchanged {len(self.unchanged)}, "
            f"failed {len(self.failed)} ({self.bytes_sent} bytes)"
        )
        return text


# --------------------------------------------------------------------------- credentials


def _netrc_path() -> Path:
    env = os.environ.get("NETRC")
    return Path(env).expanduser() if env else Path("~/.netrc").expanduser()


def find_credentials(url: str, environ: dict | None = None, netrc_file: str | os.PathLike | None = None) -> Credentials | None:
    """Credentials for ``url``: env ``LSTOSA_WEB_USER``/``LSTOSA_WEB_PASSWORD``, else netrc."""
    env = os.environ if environ is None else environ
    user, password = env.get(ENV_USER), env.get(ENV_PASSWORD)
    if user and password:
        return Credentials(user, password, "env")
    if user or password:
        log.warning("only one of %s/%s is set; ignoring them", ENV_USER, ENV_PASSWORD)

    if netrc_file is not None:
        path = Path(netrc_file)
    elif environ is not None and environ.get("NETRC"):
        path = Path(environ["NETRC"]).expanduser()
    else:
        path = _netrc_path()
    host = urlsplit(url).hostname
    if not host or not path.is_file():
        return None
    try:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            log.warning("netrc file %s is readable by others; chmod 600 it", path)
        entries = netrc.netrc(str(path))
    except (netrc.NetrcParseError, OSError) as exc:
        # The parse error message may quote the offending line; print only where.
        lineno = getattr(exc, "lineno", None)
        raise PublishError(f"cannot read netrc file {path}" + (f" (line {lineno})" if lineno else "")) from None
    found = entries.authenticators(host)
    if not found:
        return None
    login, _account, password = found
    if not login or password is None:
        return None
    return Credentials(login, password, f"netrc:{path}")


# --------------------------------------------------------------------------- helpers


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(f"not an http(s) URL: {_safe_url(base_url)}")
    if parts.username is not None or parts.password is not None:
        raise PublishError(
            f"credentials in the URL are not accepted ({_safe_url(base_url)}); "
            f"use ~/.netrc or {ENV_USER}/{ENV_PASSWORD}"
        )
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _safe_url(url: str) -> str:
    """The URL without any user info, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _file_url(base: str, rel: str) -> str:
    return base + "/".join(quote(p) for p in rel.split("/"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _iter_files(source: Path, exclude: Path | None = None) -> list[str]:
    """Relative POSIX paths of the regular files to publish, sorted, manifest(s) excluded."""
    out = []
    exclude = exclude.resolve() if exclude else None
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if name == MANIFEST_NAME or name.startswith(MANIFEST_NAME + "."):
                continue
            full = Path(dirpath, name)
            if not full.is_file():  # broken symlinks, sockets, ...
                continue
            if exclude is not None and (
                full.resolve() == exclude
                or (full.parent.resolve() == exclude.parent and name.startswith(exclude.name + ".") and name.endswith(".tmp"))
            ):
                continue  # the manifest and its temporary files
            out.append(full.relative_to(source).as_posix())
    return out


def load_manifest(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("ignoring unreadable manifest %s; every file will be sent", path)
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}
    files = data.get("files")
    return dict(files) if isinstance(files, dict) else {}


def write_manifest(path: Path, files: dict[str, dict]) -> None:
    """Write the manifest atomically (same-directory temp file + os.replace)."""
    payload = json.dumps({"version": MANIFEST_VERSION, "files": dict(sorted(files.items()))}, indent=1)
    atomic.write_text(path, payload + "\n")


class _Client:
    """One authenticated session with bounded retries."""

    def __init__(self, session, auth, timeout, retries, backoff, sleep, have_credentials):
        self.session = session
        self.auth = auth
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.sleep = sleep
        self.have_credentials = have_credentials

    def request(self, method: str, url: str, body_path: Path | None = None) -> requests.Response:
        attempts = self.retries + 1
        last_exc: Exception | None = None
        resp = None
        for attempt in range(attempts):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1)
                log.info("retrying %s %s in %.1f s (attempt %d/%d)", method, url, delay, attempt + 1, attempts)
                self.sleep(delay)
            try:
                if body_path is not None:
                    # Stream the file.  requests sends an empty file object chunked
                    # (which nginx' WebDAV refuses): empty files go as b"".
                    with open(body_path, "rb") as body:
                        size = os.fstat(body.fileno()).st_size
                        resp = self.session.request(
                            method, url, data=body if size else b"", auth=self.auth,
                            timeout=self.timeout, allow_redirects=False,
                        )
                else:
                    resp = self.session.request(
                        method, url, auth=self.auth, timeout=self.timeout, allow_redirects=False
                    )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_exc = exc
                resp = None
                log.warning("%s %s: %s", method, url, type(exc).__name__)
                continue
            if resp.status_code in (401, 403):
                hint = "" if self.have_credentials else f"; no credentials found (~/.netrc or {ENV_USER}/{ENV_PASSWORD})"
                what = "authentication failed" if resp.status_code == 401 else "access forbidden"
                raise AuthError(f"{what}: {method} {url} -> HTTP {resp.status_code}{hint}", url, resp.status_code)
            if resp.status_code >= 500:
                log.warning("%s %s -> HTTP %d", method, url, resp.status_code)
                continue
            return resp
        if resp is not None:
            return resp  # a 5xx that persisted: the caller reports it
        kind = type(last_exc).__name__ if last_exc else "error"
        raise UnreachableError(f"host unreachable: {method} {url} -> {kind} after {attempts} attempt(s)", url, None)


def _ensure_collection(client: _Client, url: str, known: set[str]) -> None:
    """MKCOL ``url`` (ending in '/'); on 409 (parent missing) create the parents first."""
    if url in known or urlsplit(url).path in ("", "/"):
        return
    resp = client.request("MKCOL", url)
    code = resp.status_code
    if code == 409:
        parent = url[: url.rstrip("/").rfind("/") + 1]
        _ensure_collection(client, parent, known)
        resp = client.request("MKCOL", url)
        code = resp.status_code
    # 201 created; 405 (and some servers 301/200/204) = exists already.
    if code in (200, 201, 204, 301, 405):
        known.add(url)
        return
    raise PublishError(f"cannot create collection: MKCOL {url} -> HTTP {code}", url, code)


def publish_dir(
    source_dir: str | os.PathLike,
    base_url: str,
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
    session: requests.Session | None = None,
    credentials: Credentials | None = None,
    verify_remote: bool = False,
    mkcol: bool = True,
    manifest_path: str | os.PathLike | None = None,
) -> PublishResult:
    """Upload every file below ``source_dir`` to ``base_url`` (a WebDAV collection).

    Returns a :class:`PublishResult`.  Raises :class:`AuthError` (401/403),
    :class:`UnreachableError` (host not reachable after the retries) or
    :class:`PublishError` (bad arguments, a collection that cannot be created).
    Per-file failures are listed in ``result.failed``/``result.errors``.
    ``credentials`` defaults to :func:`find_credentials`; ``session`` lets tests
    count requests (e.g. with a response hook).  ``manifest_path`` defaults to
    ``source_dir/.published.json`` (give another path for a read-only source).
    """
    source = Path(source_dir)
    if not source.is_dir():
        raise PublishError(f"source directory not found: {source}")
    base = _check_base_url(base_url)
    manifest_path = Path(manifest_path) if manifest_path else source / MANIFEST_NAME
    manifest = load_manifest(manifest_path)
    result = PublishResult(dry_run=dry_run)

    todo: list[tuple[str, str, str, int]] = []  # rel, url, sha, size
    for rel in _iter_files(source, manifest_path):
        path = source / rel
        url = _file_url(base, rel)
        digest = sha256_file(path)
        size = path.stat().st_size
        rec = manifest.get(url)
        if rec and rec.get("sha256") == digest and rec.get("size") == size:
            result.unchanged.append(rel)
        else:
            todo.append((rel, url, digest, size))

    if dry_run:
        for rel, _url, _digest, size in todo:
            result.sent.append(rel)
            result.bytes_sent += size
        return result

    if credentials is None:
        credentials = find_credentials(base)
    if credentials is None:
        log.warning("no credentials found for %s; sending without authentication", urlsplit(base).hostname)
    else:
        log.info("publishing to %s as %s (credentials from %s)", base, credentials.user, credentials.origin)
    own_session = session is None
    session = session or requests.Session()
    client = _Client(
        session,
        credentials.as_auth() if credentials else None,
        timeout,
        retries,
        backoff,
        sleep,
        credentials is not None,
    )
    known: set[str] = set()
    try:
        if verify_remote:
            still_unchanged = []
            for rel in result.unchanged:
                path = source / rel
                url = _file_url(base, rel)
                resp = client.request("HEAD", url)
                length = resp.headers.get("Content-Length")
                if resp.status_code == 200 and length is not None and int(length) == path.stat().st_size:
                    still_unchanged.append(rel)
                else:
                    log.info("%s missing or different on the server (HTTP %d); re-sending", rel, resp.status_code)
                    todo.append((rel, url, sha256_file(path), path.stat().st_size))
            result.unchanged = still_unchanged

        # HTML pages last, so a page never references a plot not uploaded yet.
        todo.sort(key=lambda t: t[0].lower().endswith((".html", ".htm")))
        for rel, url, digest, size in todo:
            if mkcol:
                dirs = rel.split("/")[:-1]
                _ensure_collection(client, base, known)
                for i in range(len(dirs)):
                    _ensure_collection(client, _file_url(base, "/".join(dirs[: i + 1])) + "/", known)
            resp = client.request("PUT", url, body_path=source / rel)
            if resp.status_code in (200, 201, 204):
                result.sent.append(rel)
                result.bytes_sent += size
                manifest[url] = {"sha256": digest, "size": size}
                log.debug("PUT %s -> HTTP %d", url, resp.status_code)
            else:
                msg = f"PUT {url} -> HTTP {resp.status_code}"
                log.error(msg)
                result.failed.append(rel)
                result.errors[rel] = msg
                manifest.pop(url, None)
    finally:
        if result.sent or result.failed:
            try:
                write_manifest(manifest_path, manifest)
            except OSError as exc:
                log.warning("cannot write manifest %s (%s): the next run will re-send these files",
                            manifest_path, exc.strerror or type(exc).__name__)
        if own_session:
            session.close()
    return result


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lstosa-publish",
        description=(
            "Upload a night's datacheck directory to a WebDAV web server (PUT/MKCOL, basic auth). "
            f"Credentials: env {ENV_USER}/{ENV_PASSWORD}, else ~/.netrc (or $NETRC) for the host."
        ),
    )
    parser.add_argument("source_dir", metavar="SOURCE_DIR")
    parser.add_argument("url", metavar="URL", help="base URL of the destination collection")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be sent")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per-request timeout in s (default %(default)s)")
    parser.add_argument("--retries", type=int, default=DEFAULT_RETRIES, help="extra attempts on 5xx/timeouts/connection errors (default %(default)s)")
    parser.add_argument("--backoff", type=float, default=DEFAULT_BACKOFF, help="first retry delay in s, doubled each time (default %(default)s)")
    parser.add_argument("--verify-remote", action="store_true", help="HEAD unchanged files and re-send those missing on the server")
    parser.add_argument("--manifest", help=f"manifest file (default SOURCE_DIR/{MANIFEST_NAME})")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = publish_dir(
            args.source_dir,
            args.url,
            dry_run=args.dry_run,
            timeout=args.timeout,
            retries=args.retries,
            backoff=args.backoff,
            verify_remote=args.verify_remote,
            manifest_path=args.manifest,
        )
    except PublishError as exc:
        print(f"lstosa-publish: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for rel, msg in result.errors.items():
        print(f"lstosa-publish: failed: {rel}: {msg}", file=sys.stderr)
    print(f"lstosa-publish: {result.summary()}")
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
