"""Local stand-ins on 127.0.0.1 for the demo and the tests: a site and a time-stamping authority.

    python scripts/local_servers.py site DIR   # serves DIR's files (a post for `vericount capture`)
    python scripts/local_servers.py tsa DIR    # a throwaway RFC 3161 TSA

Each writes its port to DIR/port, then serves until killed. The TSA is a fresh CA and TSA certificate made
with openssl, and `openssl ts -reply` behind a small HTTP handler: it makes DIR/ca.pem (the CA to give
`vericount timestamp --tsa-ca`) and DIR/other-ca.pem (a CA that did not sign the TSA); POST to /broken
answers HTTP 500. Never a real authority: its certificates live two days and its key sits beside them.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ v3_tsa ]
extendedKeyUsage = critical,timeStamping
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
"""
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def _ssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def make(folder: Path) -> None:
    """The CA, a second CA, and the TSA's key and certificate, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tsa.cnf").write_text(CONFIG.format(dir=folder.absolute()))
    (folder / "serial").write_text("01\n")
    for name in ("ca", "other-ca"):
        _ssl(folder, "req", "-x509", *EC, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN=vericount throwaway {name}", "-extensions", "v3_ca", "-config", "tsa.cnf")
    _ssl(folder, "req", *EC, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=vericount throwaway TSA")
    _ssl(folder, "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "tsa.pem", "-days", "2", "-extfile", "tsa.cnf", "-extensions", "v3_tsa")


class _Quiet:
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Files(_Quiet, SimpleHTTPRequestHandler):
    pass


def site(folder: Path) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 (a free port) that serves ``folder``'s files; not yet serving."""
    return ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, directory=str(folder)))


def server(folder: Path) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 (a free port) that answers timestamp queries; not yet serving."""
    lock = threading.Lock()

    class Handler(_Quiet, BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/broken":
                self.send_response(500)
                self.end_headers()
                return
            with lock:
                (folder / "q.tsq").write_bytes(body)
                _ssl(folder, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq", "-inkey", "tsa.key",
                     "-signer", "tsa.pem", "-out", "r.tsr")
                reply = (folder / "r.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.end_headers()
            self.wfile.write(reply)

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def main(kind: str, folder: Path) -> None:
    if kind == "tsa":
        make(folder)
    http = server(folder) if kind == "tsa" else site(folder)
    (folder / "port.partial").write_text(str(http.server_address[1]))
    (folder / "port.partial").replace(folder / "port")
    http.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("site", "tsa"):
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
