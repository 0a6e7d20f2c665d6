"""A throw-away nginx WebDAV server with basic auth, for the publishing tests.

Everything lives in one temporary prefix directory: config, htpasswd, pid, logs,
body temp dirs and the document root.  nginx listens on 127.0.0.1 only, on a free
port, runs in the foreground (``daemon off``) as a child process and is stopped by
its PID.  Needs Debian's ``nginx`` package (its binary has ``--with-http_dav_module``;
see tests/infra/install_web.sh).

Served:

* ``http://127.0.0.1:PORT/``: the document root, basic auth on the whole site and
  every method (GET included), ``dav_methods PUT DELETE MKCOL``,
  ``create_full_put_path on``;
* ``http://127.0.0.1:PUBLIC_PORT/`` (only with ``public=True``): a second server on
  its own port with the same root, read-only (GET/HEAD) and without auth -- for the
  headless browser test, which cannot answer an auth prompt.

Manual use::

    python tests/infra/nginx.py [ROOT]     # serves until Ctrl-C, prints URL and credentials
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")
ACCESS_LOG_FORMAT = "$server_port $request_method $status $remote_user $uri"


def find_nginx() -> str | None:
    for cand in NGINX_CANDIDATES:
        path = shutil.which(cand) or (cand if os.path.isabs(cand) and os.access(cand, os.X_OK) else None)
        if path:
            return path
    return None


def nginx_has_dav(nginx: str) -> bool:
    out = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=False)
    return "--with-http_dav_module" in (out.stdout + out.stderr)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def htpasswd_line(user: str, password: str) -> str:
    """An htpasswd line: apr1 via ``openssl passwd`` if available, else nginx' {SSHA}."""
    openssl = shutil.which("openssl")
    if openssl:
        res = subprocess.run(
            [openssl, "passwd", "-apr1", "-stdin"], input=password + "\n", capture_output=True, text=True, check=False
        )
        if res.returncode == 0 and res.stdout.startswith("$apr1$"):
            return f"{user}:{res.stdout.strip()}"
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}"


CONFIG = """\
{user_line}
worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;

events {{
    worker_connections 64;
}}

http {{
    log_format lstosa '{log_format}';
    access_log {prefix}/logs/access.log lstosa;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    types {{
        text/html html htm;
        text/css css;
        image/png png;
        application/pdf pdf;
        application/json json;
        text/plain txt log;
    }}
    default_type application/octet-stream;
    sendfile on;
    client_max_body_size 0;

    server {{
        listen 127.0.0.1:{port};
        server_name localhost;

        location / {{
            root {root};
            autoindex on;
            dav_methods PUT DELETE MKCOL;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
            auth_basic "lstosa datacheck (test)";
            auth_basic_user_file {prefix}/htpasswd;
        }}
    }}
{public_block}}}
"""

PUBLIC_BLOCK = """
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        location / {{
            root {root};
            autoindex on;
            limit_except GET {{
                deny all;
            }}
        }}
    }}
"""


@dataclass
class NginxServer:
    """A running test nginx.  Use :func:`start_nginx` (or the pytest fixture)."""

    prefix: Path
    root: Path
    port: int
    user: str
    password: str
    process: subprocess.Popen
    public_port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def public_url(self) -> str:
        if self.public_port is None:
            raise RuntimeError("server started without public=True")
        return f"http://127.0.0.1:{self.public_port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    def log_entries(self, port: int | None = None) -> list[tuple[str, int, str, str]]:
        """(method, status, remote_user, uri) of each request served so far on ``port``
        (default: the authenticated server's)."""
        port = self.port if port is None else port
        out = []
        if not self.access_log.exists():
            return out
        for line in self.access_log.read_text().splitlines():
            parts = line.split(" ", 4)
            if len(parts) == 5 and parts[0] == str(port):
                out.append((parts[1], int(parts[2]), parts[3], parts[4]))
        return out

    def count(self, method: str, uri_prefix: str = "/", status: int | None = None, port: int | None = None) -> int:
        """Number of ``method`` requests below ``uri_prefix`` (with ``status``) on ``port``."""
        return sum(
            1
            for m, s, _u, uri in self.log_entries(port)
            if m == method and uri.startswith(uri_prefix) and (status is None or s == status)
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop by PID: SIGQUIT (graceful), then SIGTERM, then SIGKILL."""
        proc = self.process
        if proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGQUIT, timeout / 2), (signal.SIGTERM, timeout / 2), (signal.SIGKILL, 5)):
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_nginx(
    prefix: str | os.PathLike | None = None,
    *,
    root: str | os.PathLike | None = None,
    user: str = "lstosa",
    password: str | None = None,
    public: bool = False,
    startup_timeout: float = 10.0,
) -> NginxServer:
    """Write a config into ``prefix`` (a new temp dir by default) and start nginx."""
    nginx = find_nginx()
    if nginx is None:
        raise RuntimeError("nginx not installed (run tests/infra/install_web.sh)")
    prefix = Path(prefix) if prefix else Path(tempfile.mkdtemp(prefix="lstosa-nginx-"))
    prefix = prefix.resolve()
    root = Path(root).resolve() if root else prefix / "root"
    for d in (prefix / "logs", prefix / "tmp", root):
        d.mkdir(parents=True, exist_ok=True)
    password = password or secrets.token_urlsafe(12)
    (prefix / "htpasswd").write_text(htpasswd_line(user, password) + "\n")
    (prefix / "htpasswd").chmod(0o644)

    # As root, nginx' workers would switch to 'nobody', who cannot write into our
    # private temp dirs: keep them root.  As another user the directive is ignored.
    user_line = "user root root;" if os.geteuid() == 0 else "# (not root: workers run as the current user)"

    last_error = ""
    for _ in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        public_port = free_port() if public else None
        while public_port == port:
            public_port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(
            CONFIG.format(
                user_line=user_line,
                prefix=prefix,
                root=root,
                port=port,
                log_format=ACCESS_LOG_FORMAT,
                public_block=PUBLIC_BLOCK.format(root=root, port=public_port) if public else "",
            )
        )
        test = subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(prefix)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx config test failed: {test.stderr.strip()}")
        errfile = open(prefix / "logs" / "stderr.log", "ab")
        proc = subprocess.Popen(
            [nginx, "-c", str(conf), "-p", str(prefix)],
            stdin=subprocess.DEVNULL,
            stdout=errfile,
            stderr=errfile,
            start_new_session=True,
        )
        errfile.close()
        server = NginxServer(prefix, root, port, user, password, proc, public_port)
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                for p in (port, public_port):
                    if p is not None:
                        with socket.create_connection(("127.0.0.1", p), timeout=0.5):
                            pass
                return server
            except OSError:
                time.sleep(0.05)
        server.stop()
        last_error = (prefix / "logs" / "stderr.log").read_text(errors="replace")
        if server.error_log.exists():
            last_error += server.error_log.read_text(errors="replace")
        if "Address already in use" not in last_error:
            break
    raise RuntimeError(f"nginx did not start: {last_error.strip()[-2000:]}")


if __name__ == "__main__":
    srv = start_nginx(root=sys.argv[1] if len(sys.argv) > 1 else None, public=True)
    print(f"nginx pid {srv.pid} serving {srv.root}\n  {srv.url} (user {srv.user}, password {srv.password})\n  {srv.public_url} (no auth, read-only)")
    try:
        srv.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
