"""Content Credentials (C2PA manifests) of a stored original: read, checked by c2pa-python, summarised.
See docs/metadata.md.

`read_credentials` runs in the metadata stage's worker processes; `summary_lines` renders its summary for
`vericount show`, the desk's item page and the report.

Nothing here touches the network (see READ_SETTINGS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vericount.media._common import JSON, _clean, _clip

# c2pa-rs settings for reading (c2pa-python passes them to the native library through a Context):
# - verify.remote_manifest_fetch off: a file whose manifest is stored elsewhere (a URL in its XMP) is not
#   followed; the library refuses and we record the URL (its default is to fetch it).
# - verify.ocsp_fetch off (also its default): no revocation lookup for the signing certificate.
# - core.allowed_network_hosts empty: the library's HTTP resolver refuses every host, so nothing else it
#   could fetch (an identity assertion's DID document, say) leaves the machine either.
# - no trust anchors: none ship with c2pa-python or vericount. verify_trust stays on, so every signer is
#   reported `signingCredential.untrusted`: signatures and hashes are checked, signers are not vouched for.
READ_SETTINGS: dict[str, Any] = {
    "core": {"allowed_network_hosts": []},
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}
TRUST_NOTE = "not checked against a trust list (none is configured)"
MAX_LISTED = 50  # actions and ingredients kept in the summary; more are counted, not listed
MAX_CODES = 30  # distinct status codes kept per kind
IPTC_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
_REMOTE = re.compile(r"remote manifests? from url (\S+)")


def read_credentials(path: Path) -> dict[str, JSON] | None:
    """The Content Credentials of `path`, summarised; None when it carries none (or its format cannot).

    A manifest that cannot be read gives ``{"error": "<one line>"}`` (plus ``"remote_url"`` when it is
    stored remotely and so was not fetched): never an exception, so the metadata stage goes on.
    """
    import c2pa

    try:
        with c2pa.Context.from_dict(READ_SETTINGS) as context, path.open("rb") as fh:
            reader = c2pa.Reader.try_create(fh, context=context)  # the format is found from the bytes
            if reader is None:
                return None
            with reader:
                store = json.loads(reader.json())
    except c2pa.C2paError.NotSupported:
        return None  # a format that cannot carry a manifest (Matroska, BMP, text...)
    except (c2pa.C2paError, OSError, ValueError) as exc:
        return _failure(_clean(exc, path))
    if not isinstance(store, dict):
        return _failure("the manifest store is not a JSON object")
    return summarise(store)


def _failure(message: str) -> dict[str, JSON]:
    remote = _REMOTE.search(message)
    if remote is not None:
        url = _clip(remote.group(1))
        return {"error": f"the manifest is stored remotely ({url}) and was not fetched", "remote_url": url}
    return {"error": f"unreadable Content Credentials ({_clip(message)})"}


def summarise(store: Mapping[str, Any]) -> dict[str, JSON]:
    """The compact summary of a manifest store as c2pa-python's ``Reader.json()`` gives it."""
    manifests = store.get("manifests")
    manifests = manifests if isinstance(manifests, dict) else {}
    active = manifests.get(_text(store.get("active_manifest")))
    active = active if isinstance(active, dict) else {}
    status = _codes(store.get("validation_status"))
    results = _get(store, "validation_results", "activeManifest")
    out: dict[str, JSON] = {
        "validation_state": _text(store.get("validation_state")),
        "failures": status or _codes(_get(results, "failure")),
        "informational": _codes(_get(results, "informational")),
        "trust": TRUST_NOTE,
        "manifests": len(manifests),
        "claim_generator": _generator(active),
        "title": _text(active.get("title")),
        "signer": _signer(active.get("signature_info")),
        "signed_at": _text(_get(active, "signature_info", "time")),
    }
    actions = [a for assertion in _list(active.get("assertions")) if isinstance(assertion, dict)
               and str(assertion.get("label", "")).startswith("c2pa.actions")
               for a in _list(_get(assertion, "data", "actions"))]
    ingredients = _list(active.get("ingredients"))
    out["actions"] = [_action(a) for a in actions[:MAX_LISTED]]
    out["ingredients"] = [_ingredient(i) for i in ingredients[:MAX_LISTED]]
    if len(actions) > MAX_LISTED:
        out["actions_not_listed"] = len(actions) - MAX_LISTED
    if len(ingredients) > MAX_LISTED:
        out["ingredients_not_listed"] = len(ingredients) - MAX_LISTED
    return out


def credentials_warning(credentials: Mapping[str, Any] | None) -> str | None:
    """A one-line warning for the stage's note (unreadable, or not valid); None when there is none."""
    if not credentials:
        return None
    if credentials.get("error"):
        return f"Content Credentials: {credentials['error']}"
    if credentials.get("validation_state") == "Invalid":
        return "Content Credentials do not validate: " + ", ".join(_untrusted_last(credentials))
    return None


def summary_lines(meta: Mapping[str, Any] | None) -> list[str]:
    """What `show`, the desk and the report print of an item's Content Credentials (its metadata's "c2pa"
    entry), one inert line each (characters a terminal could act on are shown escaped); [] when none."""
    from vericount.values import one_line

    c = (meta or {}).get("c2pa")
    if not isinstance(c, dict):
        return []
    if c.get("error"):
        return [one_line(f"Content Credentials (C2PA): {c['error']}")]
    state = c.get("validation_state") or "no validation state"
    lines = [f"Content Credentials (C2PA): {state}; signer {c.get('trust') or TRUST_NOTE}"]
    if c.get("failures"):
        lines.append("validation failures: " + ", ".join(map(str, c["failures"])))
    signer = c.get("signer")
    signer = signer if isinstance(signer, dict) else {}
    who = signer.get("common_name") or "unnamed certificate"
    lines.append(f"signed by {who}" + (f" (issuer {signer['issuer']})" if signer.get("issuer") else "")
                 + (f", {signer['alg']}" if signer.get("alg") else "")
                 + (f", time-stamped {c['signed_at']}" if c.get("signed_at") else ", no time-stamp"))
    lines += [f"{label}: {c[key]}" for key, label in (("claim_generator", "claim generator"),
                                                       ("title", "title")) if c.get(key)]
    for a in c.get("actions") or []:
        parts = (a.get("action"), a.get("software_agent") and f"by {a['software_agent']}",
                 a.get("when") and f"at {a['when']}",
                 a.get("digital_source_type") and f"({a['digital_source_type']})")
        lines.append("action " + " ".join(str(p) for p in parts if p))
    for i in c.get("ingredients") or []:
        extra = ", ".join(str(i[k]) for k in ("relationship", "format") if i.get(k))
        lines.append(f"ingredient {i.get('title') or 'untitled'}" + (f" ({extra})" if extra else ""))
    lines += [f"{c[key]} more {what} not listed" for key, what in (("actions_not_listed", "actions"),
                                                                   ("ingredients_not_listed", "ingredients"))
              if c.get(key)]
    return [one_line(line) for line in lines]


# ---------------------------------------------------------------- reading a hostile manifest's JSON

def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """A scalar as clipped text; anything else (absent, a list, an object) as None."""
    if value is None or isinstance(value, dict | list):
        return None
    return _clip(str(value)) or None


def _codes(entries: Any) -> list[JSON]:
    found = (_text(e.get("code")) for e in _list(entries) if isinstance(e, dict))
    codes: list[JSON] = [c for c in dict.fromkeys(found) if c is not None]
    return codes[:MAX_CODES]


def _generator(manifest: Mapping[str, Any]) -> str | None:
    info = _list(manifest.get("claim_generator_info"))
    first = info[0] if info and isinstance(info[0], dict) else None
    if first is not None and first.get("name"):
        return _text(" ".join(str(first[k]) for k in ("name", "version") if _text(first.get(k))))
    return _text(manifest.get("claim_generator"))  # a v1 claim: "name/version other/version"


def _signer(info: Any) -> dict[str, JSON] | None:
    if not isinstance(info, dict):
        return None
    return {"issuer": _text(info.get("issuer")), "common_name": _text(info.get("common_name")),
            "alg": _text(info.get("alg")), "serial": _text(info.get("cert_serial_number"))}


def _action(action: Any) -> dict[str, JSON]:
    if not isinstance(action, dict):
        return {"action": _text(action)}
    agent = action.get("softwareAgent")  # a string in v1 actions, {"name", "version"} in v2
    if isinstance(agent, dict):
        agent = " ".join(str(agent[k]) for k in ("name", "version") if _text(agent.get(k))) or None
    source = _text(action.get("digitalSourceType"))
    if source is not None and source.startswith(IPTC_SOURCE):
        source = source[len(IPTC_SOURCE):]  # trainedAlgorithmicMedia, digitalCapture...
    return {"action": _text(action.get("action")), "software_agent": _text(agent),
            "when": _text(action.get("when")), "digital_source_type": source}


def _ingredient(ingredient: Any) -> dict[str, JSON]:
    if not isinstance(ingredient, dict):
        return {"title": _text(ingredient)}
    return {"title": _text(ingredient.get("title")), "relationship": _text(ingredient.get("relationship")),
            "format": _text(ingredient.get("format"))}


def _untrusted_last(credentials: Mapping[str, Any]) -> list[str]:
    codes = [str(c) for c in credentials.get("failures") or []]
    return sorted(codes, key=lambda c: c == "signingCredential.untrusted") or ["no failure code given"]
