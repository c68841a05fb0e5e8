"""Drives umagate with a third-party OAuth 2.0 / OIDC client library (Authlib), over real HTTP.

Usage: authlib_flow.py ISSUER

The AS must have: a confidential client `webapp` (secret `webapp-secret`, redirect URI
`http://127.0.0.1:9/cb`, grant types authorization_code + refresh_token), a resource-server
client `rs` (secret `rs-secret`, client_credentials), and a user `alice` (password `alice`).
Prints one `ok <step>` line per step; any failure raises (non-zero exit).
"""

import json
import re
import sys
from urllib.parse import parse_qs, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

ISSUER = sys.argv[1]
REDIRECT = "http://127.0.0.1:9/cb"


def ok(step):
    print(f"ok {step}", flush=True)


def form_fields(html):
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


meta = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == ISSUER, meta
assert meta["code_challenge_methods_supported"] == ["S256"], meta
ok("discovery")

# --- authorization code + PKCE, driven through the login and consent pages ---------------------
client = OAuth2Session(
    "webapp", "webapp-secret", scope="openid email", redirect_uri=REDIRECT,
    code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
)
verifier = "v" * 20 + "-verifier-" + "x" * 30
url, state = client.create_authorization_url(
    meta["authorization_endpoint"], code_verifier=verifier, nonce="n-0S6_WzA2Mj")
browser = requests.Session()
page = browser.get(url, timeout=10)
assert page.status_code == 200, page.text
fields = form_fields(page.text)
fields.update({"username": "alice", "password": "alice", "action": "login"})
page = browser.post(meta["authorization_endpoint"], data=fields, timeout=10, allow_redirects=False)
assert page.status_code == 200, (page.status_code, page.text)
fields = form_fields(page.text)
fields["action"] = "approve"
back = browser.post(meta["authorization_endpoint"], data=fields, timeout=10, allow_redirects=False)
assert back.status_code == 303, (back.status_code, back.text)
location = back.headers["Location"]
query = parse_qs(urlparse(location).query)
assert query["state"] == [state] and query["iss"] == [ISSUER], location
ok("authorize")

token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
assert token["token_type"] == "Bearer" and "refresh_token" in token and "id_token" in token, token
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(token["id_token"], jwks, claims_options={
    "iss": {"essential": True, "value": ISSUER},
    "aud": {"essential": True, "value": "webapp"},
    "nonce": {"essential": True, "value": "n-0S6_WzA2Mj"},
})
claims.validate()
ok("token (id_token verified against jwks_uri)")

info = client.get(meta["userinfo_endpoint"]).json()
assert info["sub"] == claims["sub"] and info.get("email") == "alice@example.com", info
ok("userinfo")

refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
assert refreshed["refresh_token"] != token["refresh_token"], "refresh tokens rotate"
reuse = requests.post(meta["token_endpoint"], auth=("webapp", "webapp-secret"), timeout=10,
                      data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant", reuse.text
after = requests.post(meta["token_endpoint"], auth=("webapp", "webapp-secret"), timeout=10,
                      data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]})
assert after.status_code == 400, "reuse revoked the family (F2)"
ok("refresh rotation and reuse detection")

# --- client credentials (a PAT for a resource server), introspection, revocation ------------------
rs = OAuth2Session("rs", "rs-secret", token_endpoint_auth_method="client_secret_basic")
pat = rs.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
assert pat["scope"] == "uma_protection", pat
ok("client_credentials PAT")

seen = rs.introspect_token(meta["introspection_endpoint"], token=pat["access_token"]).json()
assert seen["active"] is True and seen["client_id"] == "rs", seen
rs.revoke_token(meta["revocation_endpoint"], token=pat["access_token"])
seen = rs.introspect_token(meta["introspection_endpoint"], token=pat["access_token"]).json()
assert seen == {"active": False}, seen
ok("introspection and revocation")
print(json.dumps({"sub": claims["sub"]}))
