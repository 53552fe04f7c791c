"""A cStar webhook endpoint in Python (standard library only).

It checks the Cstar-Signature header over the raw body, refuses timestamps
more than 5 minutes off (replays), and ignores event ids it has handled
already (deliveries are at least once).

    CSTAR_WEBHOOK_SECRET=whsec_… PORT=3000 python3 webhook_receiver.py
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECONDS = 5 * 60


def verify(secret: str, header: str, raw_body: bytes, now: float | None = None) -> bool:
    """True when one v1 signature of header is the HMAC-SHA256 of
    "<t>.<raw_body>" under secret (the whole "whsec_…" string), and t is
    recent."""
    t, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            t = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if t is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - t) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


SECRET = os.environ.get("CSTAR_WEBHOOK_SECRET", "")
handled = set()  # in production: your database, keyed by event id


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))  # the exact bytes
        if not verify(SECRET, self.headers.get("Cstar-Signature", ""), raw):
            print("rejected", self.headers.get("Cstar-Event-Id", "-"), flush=True)
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(raw)
        if event["id"] not in handled:
            handled.add(event["id"])
            print("verified", event["type"], event["id"], flush=True)  # handle event["data"] here, quickly
        self.send_response(200)  # a 2xx within 10 s, or cStar retries
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3000"))), Receiver).serve_forever()
