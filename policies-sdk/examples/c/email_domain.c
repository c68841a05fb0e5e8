// email-domain, in C: share a resource with people whose verified email address is at the
// owner's chosen domain.
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
// Claims and attributes arrive as one JSON object each (`{"email":"...",...}`); if a name occurs
// more than once, the first member wins (as in the Rust SDK). Text that is not one JSON object
// aborts, which traps and so denies every scope. An `ask-scopes` that is present but not an
// array of strings asks the owner for every scope (fail safe).
//
// Build (policies-sdk/examples/build-guests.sh does this):
//   wit-bindgen c wit --world policy --out-dir gen
//   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Wl,--no-entry \
//         -Wl,--strip-all -Igen email_domain.c gen/policy.c gen/policy_component_type.o -o core.wasm
//   wasm-tools component new core.wasm -o c-email-domain.wasm
// The component imports only `umagate:policy/host`: no libc I/O is used, so there is no WASI.
//
// Ownership (wit-bindgen c 0.63): `decide` owns `request` and frees it with policy_request_free.
// Everything in the returned decision is freed by the generated `cabi_post_decide` with free():
// every non-empty string and list in it must therefore be heap-allocated (malloc /
// policy_string_dup*), never a string literal.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define OIDC_ID_TOKEN_FORMAT "https://openid.net/specs/openid-connect-core-1_0.html#IDToken"

// ---- small helpers ------------------------------------------------------------------------------

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();  // a trap denies every scope
  return p;
}

static bool bytes_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static uint8_t ascii_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

static bool ascii_ieq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  if (an != bn) return false;
  for (size_t i = 0; i < an; i++)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// A heap copy of `n` bytes as an owned component string (len 0 needs no allocation).
static policy_string_t own_bytes(const uint8_t *p, size_t n) {
  policy_string_t s = {NULL, 0};
  if (n) {
    s.ptr = xmalloc(n);
    memcpy(s.ptr, p, n);
    s.len = n;
  }
  return s;
}

static policy_string_t own_cstr(const char *lit) { return own_bytes((const uint8_t *)lit, strlen(lit)); }

// An owned string made of a + b + c.
static policy_string_t own_concat3(const uint8_t *a, size_t an, const char *b, const uint8_t *c,
                                   size_t cn) {
  size_t bn = strlen(b);
  if (an > SIZE_MAX - bn || an + bn > SIZE_MAX - cn) abort();
  size_t n = an + bn + cn;
  policy_string_t s = {xmalloc(n), n};
  if (an) memcpy(s.ptr, a, an);
  memcpy(s.ptr + an, b, bn);
  if (cn) memcpy(s.ptr + an + bn, c, cn);
  return s;
}

// ---- just enough JSON -------------------------------------------------------------------------
// Values are JSON text from the host. We need: a string, `true`, and a flat array of strings.
// Every read is bounds-checked against the input length; the host guarantees valid UTF-8.

static size_t skip_ws(const uint8_t *s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i;
}

static int hex4(const uint8_t *s, size_t n, size_t i, uint32_t *out) {
  if (i > n || n - i < 4) return -1;
  uint32_t v = 0;
  for (size_t k = 0; k < 4; k++) {
    uint8_t c = s[i + k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

// Decodes the JSON string starting at s[*i] (which must be '"') into `out` (capacity >= n - *i,
// which always suffices: decoding never grows the text). On success returns the decoded length
// and moves *i past the closing quote; returns -1 on any syntax error.
static long json_string(const uint8_t *s, size_t n, size_t *i, uint8_t *out) {
  size_t j = *i, o = 0;
  if (j >= n || s[j] != '"') return -1;
  j++;
  while (j < n) {
    uint8_t c = s[j++];
    if (c == '"') {
      *i = j;
      return (long)o;
    }
    if (c < 0x20) return -1;  // raw control characters are not allowed in JSON strings
    if (c != '\\') {
      out[o++] = c;
      continue;
    }
    if (j >= n) return -1;
    uint8_t e = s[j++];
    switch (e) {
      case '"': out[o++] = '"'; break;
      case '\\': out[o++] = '\\'; break;
      case '/': out[o++] = '/'; break;
      case 'b': out[o++] = '\b'; break;
      case 'f': out[o++] = '\f'; break;
      case 'n': out[o++] = '\n'; break;
      case 'r': out[o++] = '\r'; break;
      case 't': out[o++] = '\t'; break;
      case 'u': {
        uint32_t cp, lo;
        if (hex4(s, n, j, &cp)) return -1;
        j += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return -1;  // lone low surrogate
        if (cp >= 0xD800 && cp <= 0xDBFF) {           // needs a following \uDC00-\uDFFF
          if (j > n || n - j < 6 || s[j] != '\\' || s[j + 1] != 'u' || hex4(s, n, j + 2, &lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return -1;
          j += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        // UTF-8 encode; 6 (or 12) input bytes always cover the 1-4 output bytes.
        if (cp < 0x80) {
          out[o++] = (uint8_t)cp;
        } else if (cp < 0x800) {
          out[o++] = (uint8_t)(0xC0 | (cp >> 6));
          out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          out[o++] = (uint8_t)(0xE0 | (cp >> 12));
          out[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
          out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
          out[o++] = (uint8_t)(0xF0 | (cp >> 18));
          out[o++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
          out[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
          out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: return -1;
    }
  }
  return -1;  // unterminated
}

// If `v` is exactly one JSON string, returns true and an owned, decoded copy in *out.
static bool json_as_string(const policy_string_t *v, policy_string_t *out) {
  if (!v) return false;
  uint8_t *buf = xmalloc(v->len);
  size_t i = skip_ws(v->ptr, v->len, 0);
  long len = json_string(v->ptr, v->len, &i, buf);
  if (len < 0 || skip_ws(v->ptr, v->len, i) != v->len) {
    free(buf);
    return false;
  }
  if (len == 0) {
    free(buf);
    buf = NULL;
  }
  out->ptr = buf;
  out->len = (size_t)len;
  return true;
}

static bool json_is_true(const policy_string_t *v) {
  if (!v) return false;
  size_t i = skip_ws(v->ptr, v->len, 0);
  if (v->len - i < 4 || memcmp(v->ptr + i, "true", 4) != 0) return false;
  return skip_ws(v->ptr, v->len, i + 4) == v->len;
}

#define MAX_DEPTH 64  // nesting accepted inside a member value; deeper counts as malformed

// Skips the JSON value at s[i] (after whitespace); returns the index just past it, or SIZE_MAX
// on a syntax error. `buf` (capacity >= n) is scratch space for decoding strings.
static size_t skip_value(const uint8_t *s, size_t n, size_t i, uint8_t *buf, int depth) {
  i = skip_ws(s, n, i);
  if (i >= n || depth > MAX_DEPTH) return SIZE_MAX;
  uint8_t c = s[i];
  if (c == '"') return json_string(s, n, &i, buf) < 0 ? SIZE_MAX : i;
  if (c == '[' || c == '{') {
    uint8_t close = c == '[' ? ']' : '}';
    i = skip_ws(s, n, i + 1);
    if (i < n && s[i] == close) return i + 1;
    for (;;) {
      if (close == '}') {  // a member: "name": value
        if (json_string(s, n, &i, buf) < 0) return SIZE_MAX;
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':') return SIZE_MAX;
        i++;
      }
      i = skip_value(s, n, i, buf, depth + 1);
      if (i == SIZE_MAX) return SIZE_MAX;
      i = skip_ws(s, n, i);
      if (i < n && s[i] == ',') {
        i = skip_ws(s, n, i + 1);
        continue;
      }
      if (i < n && s[i] == close) return i + 1;
      return SIZE_MAX;
    }
  }
  static const char *const literals[] = {"true", "false", "null"};
  for (size_t k = 0; k < 3; k++) {
    size_t len = strlen(literals[k]);
    if (n - i >= len && memcmp(s + i, literals[k], len) == 0) return i + len;
  }
  size_t start = i;  // a number: checked loosely (only its extent matters here)
  while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '+' || s[i] == '.' ||
                   s[i] == 'e' || s[i] == 'E'))
    i++;
  return i > start ? i : SIZE_MAX;
}

// In the JSON object `object`, the text of the first member called `name` (a view into
// `object`, stored in *view), or NULL if there is none. Aborts (a trap: every scope denied) if
// `object` is not one JSON object.
static const policy_string_t *find_member(const policy_string_t *object, const char *name,
                                          policy_string_t *view) {
  const uint8_t *s = object->ptr;
  size_t n = object->len, nn = strlen(name);
  uint8_t *buf = xmalloc(n);
  bool found = false;
  size_t i = skip_ws(s, n, 0);
  if (i >= n || s[i] != '{') abort();
  i = skip_ws(s, n, i + 1);
  if (i < n && s[i] == '}') {
    i++;
  } else {
    for (;;) {
      long len = json_string(s, n, &i, buf);
      if (len < 0) abort();
      bool match = !found && bytes_eq(buf, (size_t)len, (const uint8_t *)name, nn);
      i = skip_ws(s, n, i);
      if (i >= n || s[i] != ':') abort();
      size_t start = skip_ws(s, n, i + 1);
      i = skip_value(s, n, start, buf, 1);
      if (i == SIZE_MAX) abort();
      if (match) {
        view->ptr = (uint8_t *)s + start;
        view->len = i - start;
        found = true;
      }
      i = skip_ws(s, n, i);
      if (i < n && s[i] == ',') {
        i = skip_ws(s, n, i + 1);
        continue;
      }
      if (i < n && s[i] == '}') {
        i++;
        break;
      }
      abort();
    }
  }
  if (skip_ws(s, n, i) != n) abort();
  free(buf);
  return found ? view : NULL;
}

enum membership { NOT_LISTED, LISTED, MALFORMED };

// Whether `needle` is an element of the JSON array of strings `v` (NULL = absent = empty).
static enum membership json_array_has(const policy_string_t *v, const uint8_t *needle, size_t nn) {
  if (!v) return NOT_LISTED;
  const uint8_t *s = v->ptr;
  size_t n = v->len;
  uint8_t *buf = xmalloc(n);
  enum membership result = MALFORMED;
  bool found = false;
  size_t i = skip_ws(s, n, 0);
  if (i >= n || s[i] != '[') goto done;
  i = skip_ws(s, n, i + 1);
  if (i < n && s[i] == ']') {
    i++;
  } else {
    for (;;) {
      long len = json_string(s, n, &i, buf);
      if (len < 0) goto done;
      if (bytes_eq(buf, (size_t)len, needle, nn)) found = true;
      i = skip_ws(s, n, i);
      if (i < n && s[i] == ',') {
        i = skip_ws(s, n, i + 1);
        continue;
      }
      if (i < n && s[i] == ']') {
        i++;
        break;
      }
      goto done;
    }
  }
  if (skip_ws(s, n, i) == n) result = found ? LISTED : NOT_LISTED;
done:
  free(buf);
  return result;
}

// ---- the policy ---------------------------------------------------------------------------------

static void need_email(umagate_policy_types_outcome_t *out) {
  umagate_policy_types_required_claim_t *claim = xmalloc(sizeof *claim);
  claim->name = (policy_option_string_t){true, own_cstr("email")};
  claim->friendly_name = (policy_option_string_t){true, own_cstr("Email address")};
  claim->claim_type = (policy_option_string_t){false, {NULL, 0}};
  claim->claim_token_formats.ptr = xmalloc(sizeof(policy_string_t));
  claim->claim_token_formats.ptr[0] = own_cstr(OIDC_ID_TOKEN_FORMAT);
  claim->claim_token_formats.len = 1;
  claim->issuers = (policy_list_string_t){NULL, 0};
  out->tag = UMAGATE_POLICY_TYPES_OUTCOME_NEED_INFO;
  out->val.need_info = (umagate_policy_types_list_required_claim_t){claim, 1};
}

void exports_policy_decide(policy_request_t *request, policy_decision_t *ret) {
  const policy_string_t *claims = &request->party.claims;
  const policy_string_t *attrs = &request->resource.attributes;
  policy_string_t views[4];

  // Scope-independent checks first: they decide `kind` and the explanation.
  enum { NEED_EMAIL, NO_SHARE_DOMAIN, OTHER_DOMAIN, SHARED } kind;
  policy_string_t email = {NULL, 0}, domain = {NULL, 0};
  bool has_email = json_as_string(find_member(claims, "email", &views[0]), &email);
  if (!has_email || !json_is_true(find_member(claims, "email_verified", &views[1]))) {
    kind = NEED_EMAIL;
  } else if (!json_as_string(find_member(attrs, "share-domain", &views[2]), &domain)) {
    kind = NO_SHARE_DOMAIN;
  } else {
    size_t at = email.len;  // index of the last '@'
    while (at > 0 && email.ptr[at - 1] != '@') at--;
    kind = (at > 0 && ascii_ieq(email.ptr + at, email.len - at, domain.ptr, domain.len))
               ? SHARED
               : OTHER_DOMAIN;
  }

  const policy_string_t *ask_scopes = find_member(attrs, "ask-scopes", &views[3]);
  static const policy_string_t no_scope = {NULL, 0};
  size_t count = request->scopes.len ? request->scopes.len : 1;
  if (count > SIZE_MAX / sizeof(umagate_policy_types_scope_decision_t)) abort();
  umagate_policy_types_scope_decision_t *out = xmalloc(count * sizeof *out);
  for (size_t k = 0; k < count; k++) {
    const policy_string_t *scope = request->scopes.len ? &request->scopes.ptr[k] : &no_scope;
    out[k].scope = own_bytes(scope->ptr, scope->len);
    umagate_policy_types_outcome_t *o = &out[k].outcome;
    switch (kind) {
      case NEED_EMAIL: need_email(o); break;
      case NO_SHARE_DOMAIN:
        o->tag = UMAGATE_POLICY_TYPES_OUTCOME_DENY;
        o->val.deny = own_cstr("no share-domain set");
        break;
      case OTHER_DOMAIN:
        o->tag = UMAGATE_POLICY_TYPES_OUTCOME_DENY;
        o->val.deny = own_cstr("email domain not shared");
        break;
      case SHARED:
        if (json_array_has(ask_scopes, scope->ptr, scope->len) != NOT_LISTED) {
          o->tag = UMAGATE_POLICY_TYPES_OUTCOME_ASK_OWNER;
          o->val.ask_owner = own_concat3(email.ptr, email.len, " asks for ", scope->ptr, scope->len);
        } else {
          o->tag = UMAGATE_POLICY_TYPES_OUTCOME_PERMIT;
        }
        break;
    }
  }
  ret->scopes = (umagate_policy_types_list_scope_decision_t){out, count};
  switch (kind) {
    case NEED_EMAIL: ret->explanation = own_cstr("no verified email"); break;
    case NO_SHARE_DOMAIN: ret->explanation = own_cstr("no share-domain set"); break;
    case OTHER_DOMAIN: ret->explanation = own_cstr("email domain not shared"); break;
    case SHARED: ret->explanation = own_concat3(NULL, 0, "shared with ", domain.ptr, domain.len); break;
  }

  // One line in the decision log (proves the host import works). The host copies it.
  policy_string_t line = own_concat3(NULL, 0, "email-domain (C): ", ret->explanation.ptr,
                                     ret->explanation.len);
  umagate_policy_host_log(UMAGATE_POLICY_HOST_LEVEL_INFO, &line);
  policy_string_free(&line);

  policy_string_free(&email);
  policy_string_free(&domain);
  policy_request_free(request);
}
