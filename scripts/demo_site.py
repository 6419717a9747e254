"""Serve a folder on 127.0.0.1 for the demo's `vericount capture` (a stand-in for a social-media post).

    python scripts/demo_site.py DIR

Writes the port it listens on to DIR/port, then serves until killed.
"""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main(root: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    (root / "port.partial").write_text(str(server.server_address[1]))
    (root / "port.partial").replace(root / "port")
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
