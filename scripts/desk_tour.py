"""The demo's tour of the review desk over HTTP: sign in, read the dashboard's tally and the pages' titles.

    python scripts/desk_tour.py URL NAME PASSWORD
"""

from __future__ import annotations

import html
import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request


def main() -> int:
    url, name, password = sys.argv[1:4]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{url}/login").read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    if token is None:
        raise SystemExit("the sign-in page has no form token")
    data = urllib.parse.urlencode({"name": name, "password": password, "csrf": token.group(1), "next": "/"})
    dashboard = opener.open(f"{url}/login", data=data.encode()).read().decode()
    headline = re.search(r'<p class="headline">([^<]+)</p>', dashboard)
    print(f"signed in as {name}; the dashboard says: {headline.group(1) if headline else 'no tally yet'}")
    numbers = {k: re.search(rf'id="{k}">([^<]+)<', dashboard) for k in ("at-least", "proposed")}
    print("  certified {} · proposed {} (the machine's)".format(
        *(m.group(1) if m else "—" for m in numbers.values())))
    for path in ("/items", "/people", "/tally", "/claims", "/audit"):
        page = opener.open(url + path)
        text = page.read().decode()
        title = re.search(r"<title>([^<]+)</title>", text)
        print(f"  GET {path:8} {page.status}  {title.group(1) if title else ''}")
        if path == "/people":
            top = re.search(r'<section class="proposal open".*?<h3>([^<]+)</h3>\s*<p class="why">([^<]+)</p>',
                            text, re.S)
            if top is not None:
                kind, why = (html.unescape(g) for g in top.groups())
                print(f"           the open proposal: {kind}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
