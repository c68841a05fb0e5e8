//! `umagate dev`: the whole UMA flow on one machine, in one command — the authorization server
//! on embedded SQLite, the edge proxy, and a demo photo-album API behind it, all on loopback.
//!
//! It seeds (idempotently, so a restart keeps what was done): users `alice` (owner, password
//! `alice`) and `bob` (requesting party, password `bob`), the client `demo-client` (secret
//! `demo-secret`) registered for the UMA grant, the proxy's resource-server client, and the
//! sample policy `demo-photos` bound to all of alice's resources. The configurations it runs
//! are written to the data directory (`as.toml`, `proxy.toml`), so `umagate admin --config
//! <dir>/as.toml …` works on the same store. README.md walks through the flow with curl.

mod demo_api;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::Args;
use umagate_server::Server;
use umagate_server::config::Config;
use umagate_server::store::{BindingRecord, PolicyInsert, PolicyQuota, target};

/// The sample policy: `view` for identified parties, `need_info` otherwise, the owner approves
/// anything else.
const DEMO_POLICY: &str = include_str!("../../policies-sdk/examples/wat/demo-photos.wat");

/// Arguments of `umagate dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Where the demo's data lives (created if missing; delete it to start over).
    #[arg(long, default_value = ".umagate-dev")]
    dir: PathBuf,
    /// Port of the authorization server.
    #[arg(long, default_value_t = 8080)]
    as_port: u16,
    /// Port of the proxy (what clients call).
    #[arg(long, default_value_t = 8000)]
    proxy_port: u16,
    /// Port of the demo API (what the proxy forwards to).
    #[arg(long, default_value_t = 8081)]
    api_port: u16,
}

impl DevArgs {
    /// Runs everything until SIGINT or SIGTERM.
    pub fn run(self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let dir = self
            .dir
            .canonicalize()
            .map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let as_toml = as_config(&dir, self.as_port, self.proxy_port);
        write(&dir.join("as.toml"), &as_toml)?;
        let config = Config::parse(&as_toml).map_err(|e| format!("as.toml: {e}"))?;
        super::runtime()?.block_on(self.serve(dir, config))
    }

    async fn serve(self, dir: PathBuf, config: Config) -> Result<(), String> {
        let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let listen = |addr: SocketAddr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e} (choose another port)"))
        };
        let as_listener = listen(at(self.as_port)).await?;
        let api_listener = listen(at(self.api_port)).await?;

        let server = Server::start(config, umagate_server::http::now())
            .await
            .map_err(|e| e.to_string())?;
        let alice = seed(&server).await?;
        let state = server.state().clone();
        let as_task = tokio::spawn(server.serve(as_listener, std::future::pending()));
        let api_task = tokio::spawn(async move {
            let _ = axum::serve(api_listener, demo_api::router()).await;
        });

        let proxy_toml = proxy_config(self.as_port, self.proxy_port, self.api_port, &alice);
        write(&dir.join("proxy.toml"), &proxy_toml)?;
        let proxy_config = umagate_proxy::Config::from_toml(&proxy_toml)
            .map_err(|e| format!("proxy.toml: {e}"))?;
        let proxy = umagate_proxy::Proxy::bind(proxy_config)
            .await
            .map_err(|e| format!("proxy: {e}"))?;

        println!(
            "umagate dev is running (data in {dir}):\n\
             \x20 authorization server  {issuer}   users alice/alice (owner), bob/bob\n\
             \x20 proxy                 http://127.0.0.1:{proxy}   in front of the demo API\n\
             \x20 demo API              http://127.0.0.1:{api}   (knows nothing about UMA)\n\
             \x20 client                demo-client / demo-secret (UMA grant)\n\
             \x20 policy                demo-photos on alice's resources: view for identified\n\
             \x20                       parties, alice approves anything else\n\
             Try: curl -i http://127.0.0.1:{proxy}/albums/holiday\n\
             The README's walkthrough goes from that 401 to a 200. Ctrl-C stops everything.",
            dir = dir.display(),
            issuer = state.issuer,
            proxy = self.proxy_port,
            api = self.api_port,
        );
        super::shutdown_signal().await;
        proxy.shutdown().await;
        as_task.abort();
        api_task.abort();
        Ok(())
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The AS configuration: loopback issuer, SQLite in `dir/as`, the demo's users and clients.
fn as_config(dir: &Path, as_port: u16, proxy_port: u16) -> String {
    format!(
        r#"# Written by `umagate dev` at every start.
[server]
listen = "127.0.0.1:{as_port}"
issuer = "http://127.0.0.1:{as_port}"
data_dir = {data:?}

[tokens]
id_token_secs = 3600

[[clients]]
client_id = "demo-client"
secret = "demo-secret"
client_name = "Demo client"
grant_types = ["urn:ietf:params:oauth:grant-type:uma-ticket", "authorization_code", "refresh_token"]
redirect_uris = ["http://127.0.0.1:{proxy_port}/public/callback"]
claims_redirect_uris = ["http://127.0.0.1:{proxy_port}/public/callback"]

[[clients]]
client_id = "demo-proxy"
secret = "demo-proxy-secret"
resource_server = true
grant_types = ["client_credentials"]

[[users]]
username = "alice"
password = "alice"
email = "alice@example.com"
email_verified = true

[[users]]
username = "bob"
password = "bob"
email = "bob@example.com"
email_verified = true
"#,
        data = dir.join("as").display().to_string(),
    )
}

/// The proxy configuration: the demo API's albums and photos are alice's resources.
fn proxy_config(as_port: u16, proxy_port: u16, api_port: u16, alice: &str) -> String {
    format!(
        r#"# Written by `umagate dev` at every start.
[listen]
http = ["127.0.0.1:{proxy_port}"]

[as]
issuer = "http://127.0.0.1:{as_port}"
client_id = "demo-proxy"
client_secret = "demo-proxy-secret"
realm = "photos"

[upstreams.api]
url = "http://127.0.0.1:{api_port}"

[[routes]]
path = "/public/{{*rest}}"
upstream = "api"
public = true
methods = ["GET"]

[[routes]]
path = "/albums/{{album}}"
upstream = "api"
resource_type = "album"
resource_name = "album {{album}}"
owner = "{alice}"
scopes = {{ GET = ["view"] }}

[[routes]]
path = "/albums/{{album}}/photos/{{photo}}"
upstream = "api"
resource_type = "photo"
resource_name = "album {{album}} photo {{photo}}"
owner = "{alice}"
scopes = {{ GET = ["view"], DELETE = ["delete"] }}
"#
    )
}

/// Binds the sample policy to all of alice's resources unless she already bound something;
/// returns her subject.
async fn seed(server: &Server) -> Result<String, String> {
    let state = server.state();
    let store = &state.store;
    let alice = store
        .user_by_username("alice")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the user alice was not created")?
        .subject;
    if !store
        .bindings(&alice)
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(alice);
    }
    let pdp = state.pdp.clone();
    let loaded = tokio::task::spawn_blocking(move || pdp.check(DEMO_POLICY.as_bytes()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the sample policy: {e}"))?;
    let now = umagate_server::http::now();
    let id = umagate_server::secrets::new_id().map_err(|e| e.to_string())?;
    let stored = store
        .insert_policy_version(
            &alice,
            "demo-photos",
            &id,
            &loaded.info().digest,
            &base64::engine::general_purpose::STANDARD.encode(DEMO_POLICY),
            i64::try_from(DEMO_POLICY.len()).unwrap_or(i64::MAX),
            PolicyQuota {
                policies: state.config.policies.max_per_owner,
                versions: state.config.policies.max_versions,
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
    let PolicyInsert::Stored { policy_id, version } = stored else {
        return Err("alice has too many policies to add the sample".into());
    };
    store
        .bind(&BindingRecord {
            owner: alice.clone(),
            target_kind: target::ALL.into(),
            target: String::new(),
            policy: Some((policy_id, version)),
            created_at: now,
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(alice)
}
