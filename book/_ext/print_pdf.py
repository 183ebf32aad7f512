"""The whole book as one PDF, offline: the single-page HTML build printed by headless Chromium.

    jupyter-book build . --builder singlehtml      # reuses the executed chapters from the cache
    python book/_ext/print_pdf.py _build/singlehtml book/intro.html _build/pdf/book.pdf

(Jupyter Book's own PDF routes need LaTeX, or pyppeteer's Chromium download: neither works offline.)
"""
from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

from cdp import Browser, find_chromium


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main(site: str, page: str, output: str) -> int:
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found: apt-get install chromium", file=sys.stderr)
        return 2
    handler = functools.partial(_Quiet, directory=str(Path(site).resolve()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with Browser(chromium) as browser:
            browser.open(f"http://127.0.0.1:{server.server_address[1]}/{page}", timeout=300)
            browser.wait_for_math()
            browser.print_pdf(out)
    finally:
        server.shutdown()
        server.server_close()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
