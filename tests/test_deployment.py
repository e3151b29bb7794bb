"""The deployment of the README: `make serve` (gunicorn's gevent worker), and the same with
several workers sharing the rooms through Redis behind nginx's TLS proxy (deploy/nginx.conf).
A call and an echo peer go through them as through `flask run`."""

import os
import ssl
import subprocess
import sys
import urllib.request

import pytest
from werkzeug.serving import make_ssl_devcert

from servers import ROOT, free_port, installed, wait_for_port
from harness import start_call

NGINX_SITE = ROOT / "deploy" / "nginx.conf"


def gunicorn_gevent(workers=1):
    """What `make serve WORKERS=n` runs (Makefile), on a test port."""
    return lambda port: [
        sys.executable, "-m", "gunicorn", "--worker-class", "gevent", "--worker-connections",
        "100", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "app:create_app()"]


@pytest.fixture
def gunicorn_server(server_process):
    return server_process(command=gunicorn_gevent())


def test_a_call_through_gunicorns_gevent_worker(gunicorn_server, meet):
    for someone in meet(gunicorn_server.url):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()


def test_the_echo_peer_under_gunicorns_gevent_worker(gunicorn_server, person, room):
    ana = person("ana", gunicorn_server.url).join(room)
    ana.expect_state("waiting")
    ana.click("Call the echo peer")
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)
    ana.wait_for_sound()


def test_make_serve_refuses_several_workers_without_redis():
    environment = {name: value for name, value in os.environ.items() if name != "FLASK_REDIS_URL"}
    result = subprocess.run(["make", "serve", "WORKERS=2", "PORT=1"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "WORKERS=2 needs FLASK_REDIS_URL" in result.stdout  # each would have rooms of its own


class Nginx:
    """deploy/nginx.conf as the README tells to install it, with this test's ports and
    certificate in place of the example's."""

    def __init__(self, executable, app_port, directory):
        certificate, key = make_ssl_devcert(str(directory / "cert"), host="*")
        self.port = free_port()
        site = NGINX_SITE.read_text()
        for example, real in [("server 127.0.0.1:5000;", f"server 127.0.0.1:{app_port};"),
                              ("listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;"),
                              ("listen 80;", f"listen 127.0.0.1:{free_port()};"),
                              ("/etc/letsencrypt/live/call.example.com/fullchain.pem", certificate),
                              ("/etc/letsencrypt/live/call.example.com/privkey.pem", key)]:
            assert site.count(example) == 1, f"deploy/nginx.conf no longer has {example!r}"
            site = site.replace(example, real)
        (directory / "site.conf").write_text(site)
        (directory / "nginx.conf").write_text(
            f"daemon off; pid {directory}/nginx.pid; error_log {directory}/error.log;\n"
            f"events {{}}\nhttp {{ access_log off; include {directory}/site.conf; }}\n")
        self.url = f"https://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([executable, "-p", str(directory), "-c", "nginx.conf"])
        wait_for_port(self.port, self.process, "nginx")

    def stop(self):
        self.process.terminate()
        self.process.wait()


@pytest.fixture
def nginx(tmp_path):
    """nginx_for(app_port) puts deploy/nginx.conf in front of an app; skipped, with the
    reason, where nginx is not installed."""
    executable = installed("nginx", "nginx")
    proxies = []

    def nginx_for(app_port):
        proxies.append(Nginx(executable, app_port, tmp_path))
        return proxies[-1]

    yield nginx_for
    for proxy in proxies:
        proxy.stop()


def test_a_call_through_nginx_to_gunicorn_workers_sharing_redis(
        redis_server, server_process, nginx, person, room):
    app = server_process({"FLASK_REDIS_URL": redis_server.url, "FLASK_SECRET_KEY": "shared by the workers, 32 characters or more",
                          "FLASK_PROXIES": "1"}, command=gunicorn_gevent(workers=2))
    proxy = nginx(app.port)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(f"{proxy.url}/", context=context) as page:
        headers = page.headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["Server"] == "nginx"  # no version, and not gunicorn's banner
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]  # the app's own pass
    ana, ben = (person(name, proxy.url, ignore_https_errors=True) for name in ("ana", "ben"))
    sockets = []
    ana.page.on("websocket", lambda socket: sockets.append(socket.url))
    start_call(ana, ben, room)
    for someone in (ana, ben):
        someone.wait_for_sound()
    assert sockets == [f"wss://127.0.0.1:{proxy.port}/ws/{room}"]  # through the proxy
    ben.hang_up()
    ana.expect_state("waiting")
