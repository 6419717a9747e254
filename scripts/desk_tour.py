"""The demo's tour of the review desk over HTTP: sign in, read the dashboard's tally and the pages' titles.

    python scripts/desk_tour.py URL NAME PASSWORD
"""

from __future__ import annotations

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
    for path in ("/items", "/people", "/tally", "/claims", "/audit"):
        page = opener.open(url + path)
        title = re.search(r"<title>([^<]+)</title>", page.read().decode())
        print(f"  GET {path:8} {page.status}  {title.group(1) if title else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
