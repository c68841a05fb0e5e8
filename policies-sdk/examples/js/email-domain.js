// email-domain, in JavaScript: share a resource with people whose verified email address is at
// the owner's chosen domain.
//
// For every requested scope (or the single scope "" when none is requested):
//   * no verified email (claim `email` a JSON string AND claim `email_verified` JSON `true`)
//       -> need-info: ask for the OIDC ID token's `email` claim;
//   * resource attribute `share-domain` (JSON string) absent -> deny "no share-domain set";
//   * the email's domain (after the last '@', ASCII case-insensitive) differs
//       -> deny "email domain not shared";
//   * the scope is listed in resource attribute `ask-scopes` (JSON array of strings; absent =
//     empty) -> ask-owner "<email> asks for <scope>";
//   * otherwise permit.
// Claims and attributes arrive as one JSON object each (`{"email": "...", ...}`, names unique);
// text that is not a JSON object throws, which traps and so denies every scope. An `ask-scopes`
// that is present but not an array of strings asks the owner for every scope (fail safe).
//
// Build (policies-sdk/examples/build-guests.sh does this), with componentize-js (StarlingMonkey):
//   componentize-js email-domain.js --wit wit --world-name policy \
//       --disable stdio random clocks http fetch-event -o js-email-domain.wasm
// With every feature disabled the component has no WASI imports: no console, Date.now(),
// Math.random() (deterministic) or fetch, which a policy must not use anyway.
//
// Binding shapes (componentize-js 0.23): records are objects with camelCase fields
// (`friendly-name` -> friendlyName, `%type` -> type); option<T> is the value or undefined;
// variants are `{ tag: "need-info", val: [...] }` with the WIT case name as tag (no `val` for
// `permit`); enums are their WIT case names as strings ("info").

import { log } from "umagate:policy/host@0.2.0";

const OIDC_ID_TOKEN_FORMAT = "https://openid.net/specs/openid-connect-core-1_0.html#IDToken";
const MISSING = Symbol("missing"); // no member with that name

// The members of the JSON object `text` (claims or attributes); throws if it is not one.
function members(text) {
  const parsed = JSON.parse(text);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TypeError("claims and attributes must be a JSON object");
  }
  return parsed;
}

// The JSON value of the member called `name` (an own member only: not `toString` and the
// like from the prototype), or MISSING.
const value = (members, name) => (Object.hasOwn(members, name) ? members[name] : MISSING);

// A JSON string that is valid Unicode (JSON.parse lets lone surrogates like "\ud800" through).
function isText(v) {
  if (typeof v !== "string") return false;
  try {
    encodeURIComponent(v); // throws URIError on a lone surrogate
    return true;
  } catch {
    return false;
  }
}

// toLowerCase() would also fold non-ASCII letters; the rule is ASCII case-insensitive.
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

const needEmail = () => ({
  tag: "need-info",
  val: [
    {
      name: "email",
      friendlyName: "Email address",
      claimType: undefined,
      claimTokenFormats: [OIDC_ID_TOKEN_FORMAT],
      issuers: [],
    },
  ],
});

export function decide(request) {
  const claims = members(request.party.claims);
  const attributes = members(request.resource.attributes);
  const scopes = request.scopes.length > 0 ? request.scopes : [""];

  const email = value(claims, "email");
  const shareDomain = value(attributes, "share-domain");
  let askScopes = value(attributes, "ask-scopes");
  if (askScopes === MISSING) askScopes = [];
  else if (!(Array.isArray(askScopes) && askScopes.every(isText))) askScopes = null; // malformed: ask for all

  let explanation;
  let outcome;
  if (!isText(email) || value(claims, "email_verified") !== true) {
    explanation = "no verified email";
    outcome = needEmail;
  } else if (!isText(shareDomain)) {
    explanation = "no share-domain set";
    outcome = () => ({ tag: "deny", val: "no share-domain set" });
  } else {
    const at = email.lastIndexOf("@");
    if (at < 0 || asciiLower(email.slice(at + 1)) !== asciiLower(shareDomain)) {
      explanation = "email domain not shared";
      outcome = () => ({ tag: "deny", val: "email domain not shared" });
    } else {
      explanation = `shared with ${shareDomain}`;
      outcome = (scope) =>
        askScopes === null || askScopes.includes(scope)
          ? { tag: "ask-owner", val: `${email} asks for ${scope}` }
          : { tag: "permit" };
    }
  }

  log("info", `email-domain (JavaScript): ${explanation}`);
  return {
    scopes: scopes.map((scope) => ({ scope, outcome: outcome(scope) })),
    explanation,
  };
}
