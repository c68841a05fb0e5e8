//! The AS configuration: one TOML file, parsed once into typed settings, validated at start with
//! errors that name the key. Every section and key is optional; `umagate serve` with no file
//! runs a working AS on `127.0.0.1:8080` with SQLite in `./data`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use umagate_proto::registration::ClientMetadata;

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[database]`.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// `[tokens]`: lifetimes.
    #[serde(default)]
    pub tokens: TokenConfig,
    /// `[keys]`.
    #[serde(default)]
    pub keys: KeyConfig,
    /// `[registration]`: dynamic client registration.
    #[serde(default)]
    pub registration: RegistrationConfig,
    /// `[admin]`.
    #[serde(default)]
    pub admin: AdminConfig,
    /// `[quotas]`: bounds on what one client or user may hold at once (D2).
    #[serde(default)]
    pub quotas: QuotaConfig,
    /// `[uma]`.
    #[serde(default)]
    pub uma: UmaConfig,
    /// `[policies]`.
    #[serde(default)]
    pub policies: PoliciesConfig,
    /// `[[clients]]` declared here; applied at every start (the file wins).
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// `[[users]]` declared here; applied at every start (the file wins).
    #[serde(default)]
    pub users: Vec<UserConfig>,
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:8080`. Env: `UMAGATE_LISTEN`.
    pub listen: SocketAddr,
    /// Issuer identifier; default `http://<listen>`. Env: `UMAGATE_ISSUER`.
    pub issuer: Option<String>,
    /// Where the SQLite database lives by default. Default `data`.
    pub data_dir: PathBuf,
    /// Largest request body, in bytes. Default 64 KiB.
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: None,
            data_dir: PathBuf::from("data"),
            max_body_bytes: 64 << 10,
        }
    }
}

/// `[database]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgres://…`; default `sqlite://<data_dir>/umagate.db`.
    /// Env: `UMAGATE_DATABASE_URL`.
    pub url: Option<String>,
    /// Pool size. Default 16.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
        }
    }
}

/// `[tokens]`: lifetimes in seconds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Access tokens and PATs. Default 3600.
    pub access_secs: i64,
    /// Authorization codes. Default 60 (RFC 9700 C7).
    pub code_secs: i64,
    /// Refresh tokens, from their issue (each rotation starts a new period): the idle limit.
    /// Default 14 days.
    pub refresh_secs: i64,
    /// Refresh tokens of one authorization, from the authorization, however often rotated: the
    /// absolute limit (F6). Default 90 days.
    pub refresh_absolute_secs: i64,
    /// ID tokens. Default 300.
    pub id_token_secs: i64,
    /// Browser login sessions. Default 8 hours.
    pub session_secs: i64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            access_secs: 3600,
            code_secs: 60,
            refresh_secs: 14 * 86_400,
            refresh_absolute_secs: 90 * 86_400,
            id_token_secs: 300,
            session_secs: 8 * 3600,
        }
    }
}

/// `[keys]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyConfig {
    /// How long a retired key stays published after rotation. Default 1 day; at least the
    /// longest lifetime of anything signed.
    pub rotation_overlap_secs: i64,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            rotation_overlap_secs: 86_400,
        }
    }
}

/// `[registration]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// `closed` (default: no dynamic registration), `open`, or `token` (an initial access
    /// token is required).
    pub mode: RegistrationMode,
    /// SHA-256 hex digests of the accepted initial access tokens (`token` mode).
    pub initial_access_token_sha256: Vec<String>,
}

/// Who may register clients dynamically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Nobody.
    #[default]
    Closed,
    /// Anyone.
    Open,
    /// Holders of an initial access token.
    Token,
}

/// `[uma]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UmaConfig {
    /// Permission ticket lifetime in seconds (D-TKT-FMT). Default 300, at most 3600; must
    /// exceed `interval_secs`.
    pub ticket_secs: i64,
    /// RPT lifetime in seconds. Default 600.
    pub rpt_secs: i64,
    /// PCT lifetime in seconds. Default 30 days.
    pub pct_secs: i64,
    /// The polling `interval` sent with `request_submitted`. Default 5.
    pub interval_secs: u32,
    /// Issue an RPT with only the permitted scopes when some are refused (D-PARTIAL). Default
    /// off: an error is returned instead.
    pub partial_rpt: bool,
    /// Pending requests one owner may have at once. Default 1000.
    pub max_pending_requests: i64,
    /// Shares one owner may have at once. Default 10 000.
    pub max_shares: i64,
    /// Issuers besides this AS whose ID tokens are accepted as claim tokens.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Let owners' webhooks reach loopback and private addresses (development only).
    pub webhook_allow_private: bool,
}

impl Default for UmaConfig {
    fn default() -> Self {
        Self {
            ticket_secs: 300,
            rpt_secs: 600,
            pct_secs: 30 * 86_400,
            interval_secs: 5,
            partial_rpt: false,
            max_pending_requests: 1000,
            max_shares: 10_000,
            trusted_issuers: Vec::new(),
            webhook_allow_private: false,
        }
    }
}

/// A `[[uma.trusted_issuers]]` entry: an OpenID provider whose ID tokens, pushed as claim
/// tokens, are verified with the keys given here (no network fetch on the grant path).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The `iss` value.
    pub issuer: String,
    /// Its JWK Set, as JSON text (public keys only).
    pub jwks: String,
}

/// `[policies]`: limits on owners' policy components.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// Policies one owner may upload. Default 20.
    pub max_per_owner: i64,
    /// Versions kept per policy. Default 20.
    pub max_versions: i64,
    /// Largest component accepted at upload, in bytes. Default 16 MiB (the Python and
    /// JavaScript toolchains make components of 12–18 MB; raise it for those).
    pub max_component_bytes: usize,
    /// Wall-clock budget of one evaluation, in milliseconds. Default 50.
    pub timeout_ms: u64,
    /// Linear memory of one evaluation, in bytes. Default 64 MiB.
    pub memory_bytes: usize,
    /// Evaluations at once. Default 64.
    pub max_concurrent: usize,
}

impl Default for PoliciesConfig {
    fn default() -> Self {
        Self {
            max_per_owner: 20,
            max_versions: 20,
            max_component_bytes: 16 << 20,
            timeout_ms: 50,
            memory_bytes: 64 << 20,
            max_concurrent: 64,
        }
    }
}

/// `[quotas]`: outstanding artifacts per client and user (security.md D2, RFC 6819 §4.4.1.11).
/// Resources (10 000 per resource server and owner), shares, pending requests and policies have
/// their own bounds in `[uma]` and `[policies]`. Tokens from `client_credentials` have no count
/// bound: they carry no user, and counting them would cost every machine client a scan.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Unredeemed authorization codes per (client, user). Default 10.
    pub codes_per_user_client: i64,
    /// Live grants — access and unused refresh tokens — per (client, user). Default 100.
    pub tokens_per_user_client: i64,
    /// Live RPTs per (client, requesting party). Default 1000.
    pub rpts_per_party_client: i64,
    /// Live PCTs per (client, requesting party). Default 20.
    pub pcts_per_party_client: i64,
    /// Unconsumed tickets per (resource server, owner). Default 100 000.
    pub tickets_per_owner: i64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            codes_per_user_client: 10,
            tokens_per_user_client: 100,
            rpts_per_party_client: 1000,
            pcts_per_party_client: 20,
            tickets_per_owner: 100_000,
        }
    }
}

/// `[admin]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// SHA-256 hex digest of the admin API bearer token; no admin API without it.
    pub token_sha256: Option<String>,
}

/// A `[[clients]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The client id.
    pub client_id: String,
    /// The secret in clear (development only; prefer `secret_hash`).
    #[serde(default)]
    pub secret: Option<String>,
    /// An argon2id PHC string of the secret.
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// A trusted resource server (PAT by client credentials).
    #[serde(default)]
    pub resource_server: bool,
    /// RFC 7591 metadata.
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}

/// A `[[users]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Login name.
    pub username: String,
    /// Password in clear (development only; prefer `password_hash`).
    #[serde(default)]
    pub password: Option<String>,
    /// An argon2id PHC string.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the address is verified.
    #[serde(default)]
    pub email_verified: bool,
}

impl Config {
    /// Parses a TOML document.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> String {
        self.server
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.listen))
    }

    /// The database URL.
    pub fn database_url(&self) -> String {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/umagate.db", self.server.data_dir.display()))
    }

    /// Checks what serde cannot; each error names its key.
    pub fn validate(&self) -> Result<(), String> {
        umagate_proto::discovery::check_issuer(&self.issuer())
            .map_err(|e| format!("server.issuer: {e}"))?;
        let t = &self.tokens;
        for (key, value) in [
            ("tokens.access_secs", t.access_secs),
            ("tokens.code_secs", t.code_secs),
            ("tokens.refresh_secs", t.refresh_secs),
            ("tokens.refresh_absolute_secs", t.refresh_absolute_secs),
            ("tokens.id_token_secs", t.id_token_secs),
            ("tokens.session_secs", t.session_secs),
        ] {
            if value <= 0 {
                return Err(format!("{key}: must be positive"));
            }
        }
        if !(1..=3600).contains(&self.uma.ticket_secs) {
            return Err("uma.ticket_secs: between 1 and 3600".into());
        }
        if i64::from(self.uma.interval_secs) >= self.uma.ticket_secs {
            return Err("uma.interval_secs: must be less than uma.ticket_secs".into());
        }
        if !(1..=86_400).contains(&self.uma.rpt_secs) {
            return Err("uma.rpt_secs: between 1 and 86400".into());
        }
        if self.uma.pct_secs < 1 {
            return Err("uma.pct_secs: at least 1".into());
        }
        for (i, t) in self.uma.trusted_issuers.iter().enumerate() {
            umagate_proto::jwk::Jwks::parse(t.jwks.as_bytes())
                .map_err(|e| format!("uma.trusted_issuers[{i}].jwks: {e}"))?;
            if t.issuer.is_empty() {
                return Err(format!(
                    "uma.trusted_issuers[{i}].issuer: must not be empty"
                ));
            }
        }
        let q = &self.quotas;
        for (key, value) in [
            ("quotas.codes_per_user_client", q.codes_per_user_client),
            ("quotas.tokens_per_user_client", q.tokens_per_user_client),
            ("quotas.rpts_per_party_client", q.rpts_per_party_client),
            ("quotas.pcts_per_party_client", q.pcts_per_party_client),
            ("quotas.tickets_per_owner", q.tickets_per_owner),
        ] {
            if value < 1 {
                return Err(format!("{key}: at least 1"));
            }
        }
        if !(1..=60_000).contains(&self.policies.timeout_ms) {
            return Err("policies.timeout_ms: between 1 and 60000".into());
        }
        if t.code_secs > 600 {
            return Err("tokens.code_secs: at most 600 (RFC 6749 §4.1.2)".into());
        }
        if self.keys.rotation_overlap_secs < t.access_secs.max(t.id_token_secs) {
            return Err("keys.rotation_overlap_secs: must cover tokens.access_secs and tokens.id_token_secs".into());
        }
        let is_digest = |d: &String| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit());
        if self
            .admin
            .token_sha256
            .as_ref()
            .is_some_and(|d| !is_digest(d))
        {
            return Err(
                "admin.token_sha256: must be 64 hexadecimal characters (a SHA-256 digest)".into(),
            );
        }
        if let Some(i) = self
            .registration
            .initial_access_token_sha256
            .iter()
            .position(|d| !is_digest(d))
        {
            return Err(format!(
                "registration.initial_access_token_sha256[{i}]: must be 64 hexadecimal characters"
            ));
        }
        for (i, c) in self.clients.iter().enumerate() {
            let key = format!("clients[{i}] ({})", c.client_id);
            crate::store::check_client_id(&c.client_id)
                .map_err(|e| format!("{key}.client_id: {e}"))?;
            c.metadata.validate().map_err(|e| format!("{key}: {e}"))?;
            let secrets = usize::from(c.secret.is_some()) + usize::from(c.secret_hash.is_some());
            match (c.metadata.is_public(), secrets) {
                (true, 0) | (false, 1) => {}
                (true, _) => {
                    return Err(format!(
                        "{key}: a public client (token_endpoint_auth_method = \"none\") has no secret"
                    ));
                }
                (false, _) => {
                    return Err(format!("{key}: set exactly one of secret and secret_hash"));
                }
            }
        }
        for (i, u) in self.users.iter().enumerate() {
            let key = format!("users[{i}] ({})", u.username);
            if u.username.is_empty()
                || u.username.len() > 64
                || u.username.chars().any(char::is_control)
            {
                return Err(format!(
                    "{key}.username: 1 to 64 characters, no control characters"
                ));
            }
            if usize::from(u.password.is_some()) + usize::from(u.password_hash.is_some()) != 1 {
                return Err(format!(
                    "{key}: set exactly one of password and password_hash"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
