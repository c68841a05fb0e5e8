"""Prints a trusted issuer's JWK Set and an ID token it signed, for bench/uma-grants.sh.

Usage: id-token.py <issuer> <audience> <subject> <email>   (run with the venv scripts/setup made)
Output: two lines: the public JWK Set (JSON), then the ES256 ID token (valid for an hour).
"""

import json
import sys
import time

from authlib.jose import JsonWebKey, jwt

issuer, audience, subject, email = sys.argv[1:5]
key = JsonWebKey.generate_key("EC", "P-256", is_private=True)
public = key.as_dict(is_private=False)
public.update({"kid": "bench-idp", "alg": "ES256", "use": "sig"})
now = int(time.time())
claims = {
    "iss": issuer,
    "sub": subject,
    "aud": audience,
    "iat": now,
    "exp": now + 3600,
    "email": email,
    "email_verified": True,
}
token = jwt.encode({"alg": "ES256", "kid": "bench-idp", "typ": "JWT"}, claims, key)
print(json.dumps({"keys": [public]}))
print(token.decode())
