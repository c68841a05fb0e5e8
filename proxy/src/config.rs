//! The proxy's configuration: TOML, parsed once into typed structs, validated at load.
//!
//! Every section refuses unknown keys (`deny_unknown_fields`) so a typo is an error, not a
//! silently ignored setting; every validation error names the key it is about. A loaded
//! [`Config`] is always valid: [`crate::ProxyHandle::reload`] can swap it in without checks that
//! could fail half-way. `docs/proxy.md` documents every key with its default.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use umagate_proto::path::PathRules;

use crate::net::Cidr;
use crate::route::{RouteTable, Template};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown or mistyped keys.
    #[error("{0}")]
    Toml(String),
    /// A value is out of range or inconsistent; `key` names it.
    #[error("`{key}`: {message}")]
    Invalid {
        /// The dotted key, e.g. `routes[2].upstream`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// The whole proxy configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen.
    pub listen: Listen,
    /// The authorization server.
    #[serde(rename = "as")]
    pub auth_server: AuthServer,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Size limits.
    #[serde(default)]
    pub limits: Limits,
    /// How the proxy checks the certificates of `https` AS and upstreams.
    #[serde(default)]
    pub client_tls: ClientTls,
    /// How request paths are canonicalized (see `umagate_proto::path`).
    #[serde(default)]
    pub path: PathRules,
    /// Upstreams by name.
    #[serde(default)]
    pub upstreams: BTreeMap<String, Upstream>,
    /// Routes, tried in order; the first match wins.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Resources registered beforehand, so the proxy does not register them.
    #[serde(default)]
    pub resources: Vec<DeclaredResource>,
}

/// Listeners and which peers are trusted to set `X-Forwarded-*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Plain HTTP listeners (HTTP/1.1 and cleartext HTTP/2 by prior knowledge).
    #[serde(default)]
    pub http: Vec<SocketAddr>,
    /// HTTPS listeners (HTTP/1.1 and HTTP/2 by ALPN).
    #[serde(default)]
    pub https: Vec<TlsListener>,
    /// The admin listener (`/metrics`, `/healthz`, `/readyz`); none if absent.
    #[serde(default)]
    pub admin: Option<SocketAddr>,
    /// Peers (IPs or CIDRs) whose `X-Forwarded-*` headers are kept; empty by default.
    #[serde(default)]
    pub trusted_hops: Vec<String>,
}

/// Trust for `https` authorization servers and upstreams.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTls {
    /// Trust the operating system's root certificates.
    pub system_roots: bool,
    /// Also trust the certificates in these PEM files.
    pub ca_files: Vec<PathBuf>,
}

impl Default for ClientTls {
    fn default() -> Self {
        Self {
            system_roots: true,
            ca_files: Vec::new(),
        }
    }
}

/// One HTTPS listener.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsListener {
    /// The address.
    pub addr: SocketAddr,
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How RPTs are checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RptMode {
    /// Verify the JWT locally against the AS's JWKS (the default).
    #[default]
    Jwt,
    /// Ask the AS's introspection endpoint (cached for `introspection_cache_secs`).
    Introspection,
}

/// The authorization server and the proxy's client registration there.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthServer {
    /// The issuer; discovery is at `{issuer}/.well-known/uma2-configuration`.
    pub issuer: String,
    /// The proxy's client id (a client flagged `resource_server`); RPTs must have it in `aud`.
    pub client_id: String,
    /// The proxy's client secret (`client_secret_basic`).
    pub client_secret: String,
    /// The `realm` of the `WWW-Authenticate: UMA` challenge.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// How RPTs are checked.
    #[serde(default)]
    pub rpt_mode: RptMode,
    /// Longest time a verified RPT decision is reused (also bounded by the token's `exp`).
    #[serde(default = "default_verify_cache_secs")]
    pub verify_cache_secs: u64,
    /// Longest time an introspection answer is reused: the staleness bound for revocation.
    #[serde(default = "default_introspection_cache_secs")]
    pub introspection_cache_secs: u64,
    /// Most entries in each cache.
    #[serde(default = "default_cache_entries")]
    pub cache_entries: usize,
    /// Least time between two JWKS refreshes caused by an unknown `kid`.
    #[serde(default = "default_jwks_refresh_secs")]
    pub jwks_min_refresh_secs: u64,
    /// The JWKS in hand is fetched again once it is older than this.
    #[serde(default = "default_jwks_max_age_secs")]
    pub jwks_max_age_secs: u64,
    /// After the AS could not be reached, calls fail at once for this long (0: never).
    #[serde(default = "default_breaker_ms")]
    pub breaker_ms: u64,
}

impl std::fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"..")
            .field("realm", &self.realm)
            .field("rpt_mode", &self.rpt_mode)
            .finish_non_exhaustive()
    }
}

fn default_jwks_max_age_secs() -> u64 {
    300
}

fn default_breaker_ms() -> u64 {
    1000
}

fn default_realm() -> String {
    "umagate".into()
}
fn default_verify_cache_secs() -> u64 {
    300
}
fn default_introspection_cache_secs() -> u64 {
    30
}
fn default_cache_entries() -> usize {
    10_000
}
fn default_jwks_refresh_secs() -> u64 {
    30
}

/// Timeouts, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Reading a request's headers (also the TLS handshake), and keep-alive idle time.
    pub header_read_ms: u64,
    /// Connecting to an upstream.
    pub upstream_connect_ms: u64,
    /// Waiting for an upstream's response headers.
    pub upstream_response_ms: u64,
    /// A request or response body that makes no progress for this long is cut.
    pub body_idle_ms: u64,
    /// One call to the authorization server.
    pub as_call_ms: u64,
    /// Draining connections on shutdown.
    pub shutdown_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read_ms: 10_000,
            upstream_connect_ms: 2_000,
            upstream_response_ms: 30_000,
            body_idle_ms: 30_000,
            as_call_ms: 2_000,
            shutdown_ms: 10_000,
        }
    }
}

/// Size limits.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body forwarded; a larger one is refused with 413.
    pub max_request_body_bytes: u64,
    /// Largest response body relayed; a longer one is cut.
    pub max_response_body_bytes: u64,
    /// Most HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Most open client connections per listener; further clients wait in the accept queue.
    pub max_connections: usize,
    /// Most open connections from one client IP per listener (0: no cap); more are closed.
    pub max_connections_per_ip: usize,
    /// Most headers in a request.
    pub max_headers: usize,
    /// Largest request header block, in bytes (HTTP/1 read buffer, HTTP/2 header list).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body_bytes: 10 * 1024 * 1024,
            max_response_body_bytes: 1024 * 1024 * 1024,
            max_concurrent_streams: 100,
            max_connections: 10_000,
            max_connections_per_ip: 256,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// An upstream.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// `http://host:port` or `https://host:port`, with an optional path prefix.
    pub url: String,
}

/// A route: where a request goes and what it needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The `Host` to match, without port, case-insensitive; any host if absent.
    #[serde(default)]
    pub host: Option<String>,
    /// The path template: literal segments, `{name}` (one segment), a final `{*name}` (the rest).
    pub path: String,
    /// The upstream name.
    pub upstream: String,
    /// A public route: forwarded without authorization.
    #[serde(default)]
    pub public: bool,
    /// The methods of a public route (all if absent). Protected routes use `scopes`' keys.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// Scopes needed per method (protected routes), e.g. `{ GET = ["view"] }`.
    #[serde(default)]
    pub scopes: BTreeMap<String, Vec<String>>,
    /// The resource type registered at the AS.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The resource name template, e.g. `album {album}`.
    #[serde(default)]
    pub resource_name: Option<String>,
    /// The owner's subject: fixed, or a template such as `{user}`.
    #[serde(default)]
    pub owner: Option<String>,
    /// The scopes registered for the resource; the union of `scopes` if absent.
    #[serde(default)]
    pub resource_scopes: Option<Vec<String>>,
}

/// A resource registered beforehand.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredResource {
    /// Its `_id` at the AS.
    pub id: String,
    /// The owner's subject.
    pub owner: String,
    /// The resource type.
    pub resource_type: String,
    /// The resource name (after template expansion).
    pub name: String,
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks everything serde cannot: ranges, references, templates, URLs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.client_tls.system_roots && self.client_tls.ca_files.is_empty() {
            let https = self.auth_server.issuer.starts_with("https:")
                || self.upstreams.values().any(|u| u.url.starts_with("https:"));
            if https {
                return Err(invalid(
                    "client_tls",
                    "an `https` AS or upstream needs `system_roots` or `ca_files`",
                ));
            }
        }
        if self.listen.http.is_empty() && self.listen.https.is_empty() {
            return Err(invalid("listen", "at least one `http` or `https` listener"));
        }
        for (i, hop) in self.listen.trusted_hops.iter().enumerate() {
            Cidr::parse(hop).map_err(|m| invalid(format!("listen.trusted_hops[{i}]"), m))?;
        }
        self.validate_as()?;
        self.validate_numbers()?;
        for (name, upstream) in &self.upstreams {
            crate::net::UpstreamUrl::parse(&upstream.url)
                .map_err(|m| invalid(format!("upstreams.{name}.url"), m))?;
        }
        RouteTable::build(self)?;
        for (i, r) in self.resources.iter().enumerate() {
            let key = |k: &str| format!("resources[{i}].{k}");
            umagate_proto::permission::check_resource_id(&r.id)
                .map_err(|m| invalid(key("id"), m))?;
            http::HeaderValue::from_str(&r.owner)
                .map_err(|_| invalid(key("owner"), "not a valid header value"))?;
        }
        Ok(())
    }

    fn validate_as(&self) -> Result<(), ConfigError> {
        let a = &self.auth_server;
        umagate_proto::discovery::check_issuer(&a.issuer).map_err(|m| invalid("as.issuer", m))?;
        if a.client_id.is_empty() || a.client_id.contains(':') {
            return Err(invalid("as.client_id", "must be non-empty and without `:`"));
        }
        if a.client_secret.is_empty() {
            return Err(invalid("as.client_secret", "must not be empty"));
        }
        let challenge = umagate_proto::challenge::UmaChallenge {
            realm: a.realm.clone(),
            as_uri: a.issuer.clone(),
            ticket: "t".into(),
        };
        if a.realm.is_empty() || challenge.to_header_value().is_err() {
            return Err(invalid("as.realm", "must be non-empty printable ASCII"));
        }
        Ok(())
    }

    fn validate_numbers(&self) -> Result<(), ConfigError> {
        let t = &self.timeouts;
        for (key, value) in [
            ("timeouts.header_read_ms", t.header_read_ms),
            ("timeouts.upstream_connect_ms", t.upstream_connect_ms),
            ("timeouts.upstream_response_ms", t.upstream_response_ms),
            ("timeouts.body_idle_ms", t.body_idle_ms),
            ("timeouts.as_call_ms", t.as_call_ms),
        ] {
            if value == 0 || value > 3_600_000 {
                return Err(invalid(key, "must be between 1 and 3600000"));
            }
        }
        let a = &self.auth_server;
        if a.cache_entries == 0 {
            return Err(invalid("as.cache_entries", "must be at least 1"));
        }
        if a.introspection_cache_secs > 3600 {
            return Err(invalid("as.introspection_cache_secs", "at most 3600"));
        }
        if a.breaker_ms > 60_000 {
            return Err(invalid("as.breaker_ms", "at most 60000"));
        }
        if a.verify_cache_secs > 86_400 {
            return Err(invalid("as.verify_cache_secs", "at most 86400"));
        }
        if self.limits.max_concurrent_streams == 0 {
            return Err(invalid(
                "limits.max_concurrent_streams",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The parsed trusted hops (valid after [`Config::validate`]).
    pub(crate) fn trusted_hops(&self) -> Vec<Cidr> {
        self.listen
            .trusted_hops
            .iter()
            .filter_map(|h| Cidr::parse(h).ok())
            .collect()
    }
}

/// Checks a `{var}` template against the variables a path template binds.
pub(crate) fn check_template(key: &str, text: &str, path: &Template) -> Result<(), ConfigError> {
    for var in crate::route::template_vars(text).map_err(|m| invalid(key, m))? {
        if !path.binds(var) {
            return Err(invalid(
                key,
                format!("`{{{var}}}` is not a variable of the path"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
