//! Listeners, TLS, graceful shutdown and configuration reload: the API a subcommand calls.
//!
//! [`Proxy::bind`] binds every listener (so the caller learns the ports, `:0` included), starts
//! the accept loops and a background warm-up that fetches discovery, the PAT and the JWKS (the
//! `/readyz` signal), and returns a [`ProxyHandle`]. [`ProxyHandle::reload`] swaps routes,
//! upstreams, trusted hops, path rules, limits and declared resources atomically; a
//! configuration that changes `listen`, `as`, `timeouts` or `client_tls` is refused and the
//! running one stays. [`ProxyHandle::shutdown`] stops accepting, lets in-flight requests finish within
//! `timeouts.shutdown_ms`, then returns. [`run`] does all of it for a config file, with SIGHUP
//! (reload), SIGINT and SIGTERM (shutdown).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::{Config, ConfigError, TlsListener, invalid};
use crate::framing::{Scanned, Verdicts};
use crate::handler::{self, Connection};
use crate::metrics::Metrics;
use crate::{Live, Shared};

mod per_ip;
use per_ip::PerIp;

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("binding `{addr}`: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A certificate or key could not be loaded.
    #[error("TLS for `{addr}`: {message}")]
    Tls {
        /// The listener.
        addr: SocketAddr,
        /// What went wrong.
        message: String,
    },
}

/// The entry point: see [`Proxy::bind`].
#[derive(Debug)]
pub struct Proxy;

/// A running proxy.
pub struct ProxyHandle {
    shared: Arc<Shared>,
    http: Vec<SocketAddr>,
    https: Vec<SocketAddr>,
    admin: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    drain: Duration,
}

impl Proxy {
    /// Binds every listener of `config` and starts serving.
    pub async fn bind(config: Config) -> Result<ProxyHandle, BindError> {
        config.validate()?;
        let tls: Vec<(SocketAddr, TlsAcceptor)> = config
            .listen
            .https
            .iter()
            .map(|l| Ok((l.addr, acceptor(l)?)))
            .collect::<Result<_, BindError>>()?;
        let drain = Duration::from_millis(config.timeouts.shutdown_ms);
        let admin_addr = config.listen.admin;
        let plain = config.listen.http.clone();
        let shared = Arc::new(Shared::new(config)?);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut handle_http = Vec::new();
        for addr in plain {
            let listener = bind(addr).await?;
            handle_http.push(
                listener
                    .local_addr()
                    .map_err(|source| BindError::Bind { addr, source })?,
            );
            tasks.spawn(serve(listener, None, shared.clone(), stopped.clone()));
        }
        let mut handle_https = Vec::new();
        for (addr, acceptor) in tls {
            let listener = bind(addr).await?;
            handle_https.push(
                listener
                    .local_addr()
                    .map_err(|source| BindError::Bind { addr, source })?,
            );
            tasks.spawn(serve(
                listener,
                Some(acceptor),
                shared.clone(),
                stopped.clone(),
            ));
        }
        let admin = match admin_addr {
            Some(addr) => {
                let listener = bind(addr).await?;
                let local = listener
                    .local_addr()
                    .map_err(|source| BindError::Bind { addr, source })?;
                tasks.spawn(crate::admin::serve(
                    listener,
                    shared.clone(),
                    stopped.clone(),
                ));
                Some(local)
            }
            None => None,
        };
        tasks.spawn(warm_up(shared.clone(), stopped));
        Ok(ProxyHandle {
            shared,
            http: handle_http,
            https: handle_https,
            admin,
            stop,
            tasks,
            drain,
        })
    }
}

impl ProxyHandle {
    /// The bound plain HTTP addresses, in configuration order.
    pub fn http_addrs(&self) -> &[SocketAddr] {
        &self.http
    }

    /// The bound HTTPS addresses, in configuration order.
    pub fn https_addrs(&self) -> &[SocketAddr] {
        &self.https
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// Whether the AS has been reached (discovery, PAT and, in JWT mode, the JWKS).
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Relaxed)
    }

    /// Replaces routes, upstreams, trusted hops, path rules, limits and declared resources.
    /// On error the running configuration stays.
    pub fn reload(&self, config: Config) -> Result<(), ConfigError> {
        let result = self.try_reload(config);
        if let Err(e) = &result {
            Metrics::inc(&self.shared.metrics.reload_failures);
            tracing::warn!(error = %e, "configuration reload refused; the running configuration stays");
        }
        result
    }

    /// Loads `path` and reloads it ([`ProxyHandle::reload`]); what SIGHUP does under [`run`].
    pub fn reload_file(&self, path: &Path) -> Result<(), ConfigError> {
        match Config::load(path) {
            Ok(config) => self.reload(config),
            Err(e) => {
                Metrics::inc(&self.shared.metrics.reload_failures);
                tracing::warn!(error = %e, "configuration reload refused; the running configuration stays");
                Err(e)
            }
        }
    }

    fn try_reload(&self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        let current = self.shared.live();
        let old = &current.config;
        if config.listen != old.listen {
            return Err(invalid(
                "listen",
                "cannot change on reload; restart the proxy",
            ));
        }
        if config.auth_server != old.auth_server {
            return Err(invalid("as", "cannot change on reload; restart the proxy"));
        }
        if config.timeouts != old.timeouts {
            return Err(invalid(
                "timeouts",
                "cannot change on reload; restart the proxy",
            ));
        }
        let live = Arc::new(Live::new(config)?);
        self.shared.resources.declare(&live.config.resources);
        match self.shared.live.write() {
            Ok(mut slot) => *slot = live,
            Err(poisoned) => *poisoned.into_inner() = live,
        }
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// Stops accepting, drains in-flight requests (bounded), and returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let drain = self.drain + Duration::from_millis(100);
        if tokio::time::timeout(drain, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            self.tasks.abort_all();
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BindError::Bind { addr, source })
}

fn acceptor(listener: &TlsListener) -> Result<TlsAcceptor, BindError> {
    let tls = |message: String| BindError::Tls {
        addr: listener.addr,
        message,
    };
    let certs = CertificateDer::pem_file_iter(&listener.cert)
        .map_err(|e| tls(format!("`{}`: {e}", listener.cert.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls(format!("`{}`: {e}", listener.cert.display())))?;
    if certs.is_empty() {
        return Err(tls(format!(
            "`{}` holds no certificate",
            listener.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&listener.key)
        .map_err(|e| tls(format!("`{}`: {e}", listener.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until told to stop, then drains them.
async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(shared.live().config.limits.max_connections));
    let per_ip = Arc::new(PerIp::default());
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            _ = stopped.changed() => break,
        };
        let Some((stream, peer, slot)) = accepted else {
            continue;
        };
        let cap = shared.live().config.limits.max_connections_per_ip;
        let Some(held) = PerIp::hold(&per_ip, peer.ip(), cap) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = (slot, held);
            let live = shared.live();
            let header_timeout = Duration::from_millis(live.config.timeouts.header_read_ms);
            let limits = live.config.limits;
            drop(live);
            let verdicts = Arc::new(Verdicts::default());
            let conn = Connection {
                peer,
                scheme: if tls.is_some() { "https" } else { "http" },
                verdicts: verdicts.clone(),
            };
            let service = service_fn(move |request| {
                let shared = shared.clone();
                let conn = conn.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(handler::handle(shared, conn, request).await)
                }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_headers(limits.max_headers)
                .max_buf_size(limits.max_header_bytes)
                .keep_alive(true);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(limits.max_concurrent_streams)
                .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
                .keep_alive_interval(header_timeout)
                .keep_alive_timeout(header_timeout);
            match tls {
                None => {
                    let io = TokioIo::new(Scanned::new(stream, verdicts));
                    let _ = watcher
                        .watch(
                            builder
                                .serve_connection_with_upgrades(io, service)
                                .into_owned(),
                        )
                        .await;
                }
                Some(acceptor) => {
                    let Ok(Ok(tls_stream)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let io = TokioIo::new(Scanned::new(tls_stream, verdicts));
                    let _ = watcher
                        .watch(
                            builder
                                .serve_connection_with_upgrades(io, service)
                                .into_owned(),
                        )
                        .await;
                }
            }
        });
    }
    drop(listener);
    let drain = Duration::from_millis(shared.live().config.timeouts.shutdown_ms);
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
}

/// Waits for a free connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let slot = slots.clone().acquire_owned().await.ok()?;
    let (stream, peer) = listener.accept().await.ok()?;
    Some((stream, peer, slot))
}

/// Reaches the AS until it answers, for `/readyz`; then stops.
async fn warm_up(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    loop {
        let now = crate::clock::now();
        let ok = shared.as_client.warm_up(now).await.is_ok()
            && shared.rpt.warm_up(&shared.as_client).await;
        if ok {
            shared.ready.store(true, Ordering::Relaxed);
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Loads `path`, serves until SIGINT or SIGTERM, reloads `path` on SIGHUP.
pub async fn run(path: &Path) -> Result<(), BindError> {
    let proxy = Proxy::bind(Config::load(path)?).await?;
    tracing::info!(http = ?proxy.http_addrs(), https = ?proxy.https_addrs(), admin = ?proxy.admin_addr(), "proxy listening");
    wait_for_signals(&proxy, path).await;
    tracing::info!("shutting down");
    proxy.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signals(proxy: &ProxyHandle, path: &Path) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut hup), Ok(mut term)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => { let _ = proxy.reload_file(path); }
            _ = term.recv() => return,
            _ = tokio::signal::ctrl_c() => return,
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(_proxy: &ProxyHandle, _path: &Path) {
    let _ = tokio::signal::ctrl_c().await;
}
