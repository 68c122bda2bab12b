"""The gateway stand-in itself: async route, drops, repeats, sync proxy, idle wait."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest
from functions_harness import call
from gateway_harness import Gateway


@pytest.fixture
def echo() -> Iterator[tuple[Gateway, list[tuple[bytes, str | None]]]]:
    """A function app that records each POST and answers with its body; "slow" takes 0.3 s."""
    received: list[tuple[bytes, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers.get("Authorization")))
            if body == b'"slow"':
                time.sleep(0.3)
            answer = json.dumps({"echo": body.decode()}).encode()
            self.send_response(418 if body == b'"teapot"' else 200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with Gateway({"echo": f"http://127.0.0.1:{server.server_port}"}) as gateway:
        yield gateway, received
    server.shutdown()


def test_async_route_queues_drops_and_repeats(echo) -> None:
    gateway, received = echo
    gateway.drop("echo", 1)
    gateway.repeat("echo", 1)
    for body in ("lost", "twice", "once"):
        assert call(f"{gateway.url}/async-function/echo", body=json.dumps(body).encode(), token="t") == (202, {})
    gateway.wait_idle(10)
    assert sorted(received) == sorted([(b'"twice"', "Bearer t")] * 2 + [(b'"once"', "Bearer t")])
    log = gateway.deliveries("echo")
    assert [(d.body, d.dropped, d.repeat, d.status) for d in log] == [
        (b'"lost"', True, False, None), (b'"twice"', False, False, 200), (b'"twice"', False, True, 200),
        (b'"once"', False, False, 200)]
    assert log[-1].response == {"echo": '"once"'}


def test_sync_route_proxies_and_unknown_functions_are_404(echo) -> None:
    gateway, _ = echo
    assert call(f"{gateway.url}/function/echo.openfaas-fn", body=b'"teapot"') == (418, {"echo": '"teapot"'})
    assert call(f"{gateway.url}/async-function/nope", body=b"{}")[0] == 404


def test_wait_idle_times_out_while_busy(echo) -> None:
    gateway, _ = echo
    call(f"{gateway.url}/async-function/echo", body=b'"slow"')
    with pytest.raises(TimeoutError):
        gateway.wait_idle(0.05)
    gateway.wait_idle(10)
