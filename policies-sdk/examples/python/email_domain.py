"""email-domain, in Python: share a resource with people whose verified email address is at
the owner's chosen domain.

For every requested scope (or the single scope "" when none is requested):
  * no verified email (claim `email` a JSON string AND claim `email_verified` JSON `true`)
      -> need-info: ask for the OIDC ID token's `email` claim;
  * resource attribute `share-domain` (JSON string) absent -> deny "no share-domain set";
  * the email's domain (after the last '@', ASCII case-insensitive) differs
      -> deny "email domain not shared";
  * the scope is listed in resource attribute `ask-scopes` (JSON array of strings; absent =
    empty) -> ask-owner "<email> asks for <scope>";
  * otherwise permit.
Claims and attributes arrive as one JSON object each (`{"email": "...", ...}`); if a name occurs
more than once, the first member wins (as in the Rust SDK). Text that is not a JSON object
raises, which traps and so denies every scope. An `ask-scopes` that is present but not an array
of strings asks the owner for every scope (fail safe).

Build (policies-sdk/examples/build-guests.sh does this):
  componentize-py -d wit -w policy componentize -p policies-sdk/examples/python email_domain \
      -o python-email-domain.wasm
componentize-py generates the `wit_world` package at build time: records are dataclasses in
`wit_world.imports.types`, variant cases are classes (`Outcome_Permit()`, `Outcome_Deny(str)`,
...), options are `value | None`, enums are `Enum`s (`host.Level.INFO`). The component imports
25 WASI 0.2 interfaces (the Python runtime's), so the host must link wasmtime-wasi.
"""

import json

import wit_world
from wit_world.imports import host
from wit_world.imports.types import (
    Decision,
    Outcome_AskOwner,
    Outcome_Deny,
    Outcome_NeedInfo,
    Outcome_Permit,
    RequiredClaim,
    ScopeDecision,
)

OIDC_ID_TOKEN_FORMAT = "https://openid.net/specs/openid-connect-core-1_0.html#IDToken"
_MISSING = object()  # no member with that name


def _first_wins(pairs):
    members = {}
    for name, value in pairs:
        members.setdefault(name, value)
    return members


def _members(text):
    """The members of the JSON object `text` (claims or attributes); raises if it is not one."""
    members = json.loads(text, object_pairs_hook=_first_wins)
    if not isinstance(members, dict):
        raise ValueError("claims and attributes must be a JSON object")
    return members


def _value(members, name):
    """The JSON value of the member called `name`, or _MISSING."""
    return members.get(name, _MISSING)


def _is_text(value):
    """A JSON string that is valid Unicode (json.loads lets lone surrogates like "\\ud800"
    through; they could not be passed back to the host)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _ascii_lower(text):
    # str.lower() would also fold non-ASCII letters; the rule is ASCII case-insensitive.
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _need_email():
    return Outcome_NeedInfo(
        [
            RequiredClaim(
                name="email",
                friendly_name="Email address",
                claim_type=None,
                claim_token_formats=[OIDC_ID_TOKEN_FORMAT],
                issuers=[],
            )
        ]
    )


class WitWorld(wit_world.WitWorld):
    def decide(self, request):
        claims = _members(request.party.claims)
        attributes = _members(request.resource.attributes)
        scopes = request.scopes or [""]

        email = _value(claims, "email")
        share_domain = _value(attributes, "share-domain")
        ask_scopes = _value(attributes, "ask-scopes")
        if ask_scopes is _MISSING:
            ask_scopes = []
        elif not (isinstance(ask_scopes, list) and all(_is_text(s) for s in ask_scopes)):
            ask_scopes = None  # malformed: ask the owner for every scope

        if not _is_text(email) or _value(claims, "email_verified") is not True:
            explanation = "no verified email"
            outcome = lambda scope: _need_email()  # noqa: E731
        elif not _is_text(share_domain):
            explanation = "no share-domain set"
            outcome = lambda scope: Outcome_Deny("no share-domain set")  # noqa: E731
        elif "@" not in email or _ascii_lower(email.rsplit("@", 1)[1]) != _ascii_lower(share_domain):
            explanation = "email domain not shared"
            outcome = lambda scope: Outcome_Deny("email domain not shared")  # noqa: E731
        else:
            explanation = f"shared with {share_domain}"

            def outcome(scope):
                if ask_scopes is None or scope in ask_scopes:
                    return Outcome_AskOwner(f"{email} asks for {scope}")
                return Outcome_Permit()

        host.log(host.Level.INFO, f"email-domain (Python): {explanation}")
        return Decision(
            scopes=[ScopeDecision(scope=scope, outcome=outcome(scope)) for scope in scopes],
            explanation=explanation,
        )
