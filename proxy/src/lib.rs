//! The umagate edge proxy: UMA 2.0 enforcement in front of HTTP APIs that know nothing of UMA.
//!
//! A request is mapped from (host, method, canonical path) to a route; a protected route names a
//! resource (registered at the AS on first sight) and the scopes the method needs. Without a
//! valid RPT that carries that resource and every needed scope, the client gets a permission
//! ticket in `401 WWW-Authenticate: UMA realm="…", as_uri="…", ticket="…"` (or `403` with the
//! `Warning: 199` header when the AS cannot be asked); with one, the request is forwarded with
//! the proxy's identity headers. See `docs/proxy.md` for the configuration.
//!
//! This crate depends on `umagate-proto` only, never on the AS or the policy engine.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = umagate_proxy::Config::load(std::path::Path::new("proxy.toml"))?;
//! let proxy = umagate_proxy::Proxy::bind(config).await?;
//! println!("listening on {:?}", proxy.http_addrs());
//! proxy.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | the TOML configuration and its validation |
//! | `route` | path templates and the route table |
//! | `handler` | the request pipeline, phase by phase |
//! | `rpt` | bearer parsing, JWT and introspection checks, the verification cache |
//! | `as_client`, `resources` | calls to the AS; resource ids |
//! | `headers`, `framing` | header hygiene; raw HTTP/1 framing checks |
//! | `forward`, `tls_client` | the upstream client, bodies, upgrades; client-side TLS |
//! | `error` | every answer the proxy makes itself, mapped to HTTP once |
//! | `server`, `admin`, `metrics` | listeners, TLS, shutdown, reload; `/metrics`, health |

pub mod config;

mod admin;
mod as_client;
mod cache;
mod clock;
mod error;
mod forward;
mod framing;
mod handler;
mod headers;
mod metrics;
mod net;
mod resources;
mod route;
mod rpt;
mod server;
mod tls_client;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use config::{Config, ConfigError};
pub use server::{BindError, Proxy, ProxyHandle, run};

use crate::as_client::AsClient;
use crate::forward::Upstreams;
use crate::metrics::Metrics;
use crate::net::Cidr;
use crate::resources::Resources;
use crate::route::RouteTable;
use crate::rpt::RptChecker;

/// The parts of the configuration a reload replaces, compiled.
struct Live {
    config: Config,
    routes: RouteTable,
    trusted: Vec<Cidr>,
}

impl Live {
    fn new(config: Config) -> Result<Self, ConfigError> {
        Ok(Self {
            routes: RouteTable::build(&config)?,
            trusted: config.trusted_hops(),
            config,
        })
    }
}

/// Everything the request handler shares, built once per proxy.
struct Shared {
    live: RwLock<Arc<Live>>,
    realm: String,
    as_client: AsClient,
    rpt: RptChecker,
    resources: Resources,
    upstreams: Upstreams,
    metrics: Arc<Metrics>,
    ready: AtomicBool,
}

impl Shared {
    fn new(config: Config) -> Result<Self, ConfigError> {
        let metrics = Arc::new(Metrics::default());
        let auth = &config.auth_server;
        let as_timeout = Duration::from_millis(config.timeouts.as_call_ms);
        let tls = tls_client::connector(&config.client_tls)
            .map_err(|m| config::invalid("client_tls", m))?;
        Ok(Self {
            realm: auth.realm.clone(),
            as_client: AsClient::new(auth, as_timeout, metrics.clone(), tls.clone()),
            rpt: RptChecker::new(auth, metrics.clone()),
            resources: Resources::new(&config.resources, metrics.clone()),
            upstreams: Upstreams::new(&config.timeouts, tls),
            ready: AtomicBool::new(false),
            live: RwLock::new(Arc::new(Live::new(config)?)),
            metrics,
        })
    }

    /// The current routes and settings.
    fn live(&self) -> Arc<Live> {
        match self.live.read() {
            Ok(live) => live.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
