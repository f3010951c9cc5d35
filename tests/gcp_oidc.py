"""A stand-in for Google's OIDC signing, for the GCP shim's caller checks.

`keys()` makes RSA keys with self-signed certificates; `certs_server(certs)` serves {kid: PEM} like
https://www.googleapis.com/oauth2/v1/certs on 127.0.0.1 (the shim reads its URL from
DEPLOYER_GCP_CERTS_URL); `sign(...)` makes an ID token as Pub/Sub or Cloud Scheduler would send it.
The shim then runs google-auth's real verification (signature, expiry, claims) on these tokens.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import threading
import time
from typing import Iterator


def keys(*names: str) -> dict[str, tuple[str, str]]:
    """name -> (private key PEM, certificate PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    made = {}
    for name in names:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
        made[name] = (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode(),
                      cert.public_bytes(serialization.Encoding.PEM).decode())
    return made


@contextlib.contextmanager
def certs_server(certs: dict[str, str]) -> Iterator[str]:
    """Serve {kid: certificate PEM}; yields the URL."""
    body = json.dumps(certs).encode()

    class Certs(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/oauth2/v1/certs"
    finally:
        server.shutdown()


def sign(private_pem: str, kid: str, email: str, *, expires_in: int = 600,
         issuer: str = "https://accounts.google.com", audience: str = "https://function.example") -> str:
    """`Bearer <ID token>` for `email`, signed with the key."""
    from google.auth import crypt, jwt

    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "email": email, "email_verified": True, "sub": "1234567890",
              "iat": now - 60, "exp": now + expires_in}
    return "Bearer " + jwt.encode(crypt.RSASigner.from_string(private_pem, key_id=kid), claims).decode()
