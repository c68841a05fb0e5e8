//! Forwarding to upstreams: one pooled hyper client, the canonical path, bounded and timed
//! bodies, and protocol upgrades only once the upstream has accepted them.
//!
//! - The upstream sees the canonical path the decision was made on, with the query unchanged.
//! - Bodies stream both ways; the request body is cut at `limits.max_request_body_bytes` (413
//!   up front when `Content-Length` says so; a chunked body that grows past it is cut off
//!   upstream mid-stream and the client gets 413), the response body at
//!   `limits.max_response_body_bytes`; either direction is cut after `timeouts.body_idle_ms`
//!   without progress.
//! - Response headers must arrive within `timeouts.upstream_response_ms` (504); connecting is
//!   bounded by `timeouts.upstream_connect_ms` (502). Nothing is retried.
//! - An `Upgrade` request reaches this module only after authorization. The client's
//!   connection is switched only after the upstream answered `101`; hyper holds any bytes the
//!   client sent after the request until then (the Pingora CVE-2026-2833 lesson).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, UPGRADE};
use http::{HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsConnector;

use crate::config::Timeouts;
use crate::error::{Body, BoxError, Reject};
use crate::headers;
use crate::net::UpstreamUrl;
use crate::tls_client::HttpsConnector;

/// The pooled client to every upstream.
pub struct Upstreams {
    client: Client<HttpsConnector, Body>,
    response_timeout: Duration,
    body_idle: Duration,
}

/// One request ready to go upstream.
pub struct Outbound {
    /// The request; headers already sanitized, identity added.
    pub request: Request<Incoming>,
    /// Where it goes.
    pub upstream: std::sync::Arc<UpstreamUrl>,
    /// The canonical path and the query as received.
    pub path_and_query: String,
    /// The authority the client addressed (`Host` / `:authority`), sent as the upstream's `Host`
    /// whatever the client named in `Connection`.
    pub host: HeaderValue,
    /// Whether the client asked to upgrade (and was authorized).
    pub upgrade: bool,
    /// The request body limit.
    pub max_request_body: u64,
    /// The response body limit.
    pub max_response_body: u64,
}

impl Upstreams {
    /// A client with the configured timeouts.
    pub fn new(timeouts: &Timeouts, tls: TlsConnector) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(timeouts.upstream_connect_ms)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .set_host(false)
            .build(HttpsConnector::new(connector, tls));
        Self {
            client,
            response_timeout: Duration::from_millis(timeouts.upstream_response_ms),
            body_idle: Duration::from_millis(timeouts.body_idle_ms),
        }
    }

    /// Sends `out` and relays the response.
    pub async fn forward(&self, out: Outbound) -> Result<Response<Body>, Reject> {
        let Outbound {
            mut request,
            upstream,
            path_and_query,
            host,
            upgrade,
            max_request_body,
            max_response_body,
        } = out;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_request_body) {
            return Err(Reject::TooLarge);
        }
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();
        let uri = Uri::builder()
            .scheme(upstream.scheme.clone())
            .authority(upstream.authority.clone())
            .path_and_query(format!("{}{path_and_query}", upstream.prefix))
            .build()
            .map_err(|e| Reject::BadRequest(format!("cannot build the upstream URI: {e}")))?;
        parts.headers.insert(http::header::HOST, host);
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        if upgrade {
            parts
                .headers
                .insert(CONNECTION, HeaderValue::from_static("upgrade"));
        }
        let body = Idle::new(
            Limited::new(
                body,
                usize::try_from(max_request_body).unwrap_or(usize::MAX),
            ),
            self.body_idle,
        );
        let request = Request::from_parts(parts, body.boxed_unsync());
        let response = tokio::time::timeout(self.response_timeout, self.client.request(request))
            .await
            .map_err(|_| Reject::UpstreamTimeout)?
            .map_err(|e| {
                if too_large(&e) {
                    return Reject::TooLarge;
                }
                tracing::warn!(upstream = %upstream.authority, error = %e, "upstream request failed");
                Reject::UpstreamFailed
            })?;
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_upgrade) = client_upgrade {
                return Ok(switch(response, client_upgrade));
            }
            return Err(Reject::UpstreamFailed);
        }
        let (mut parts, body) = response.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers);
        let body = Idle::new(
            Limited::new(
                body,
                usize::try_from(max_response_body).unwrap_or(usize::MAX),
            ),
            self.body_idle,
        );
        Ok(Response::from_parts(parts, body.boxed_unsync()))
    }
}

/// Whether a client error was caused by the request body going over its limit.
fn too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// Relays a `101` to the client and joins the two upgraded connections.
fn switch(mut upstream: Response<Incoming>, client: hyper::upgrade::OnUpgrade) -> Response<Body> {
    let upstream_upgrade = hyper::upgrade::on(&mut upstream);
    tokio::spawn(async move {
        let (Ok(client), Ok(upstream)) = (client.await, upstream_upgrade.await) else {
            return;
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    });
    let (mut parts, _) = upstream.into_parts();
    let upgrade = parts.headers.get(UPGRADE).cloned();
    headers::strip_hop_by_hop(&mut parts.headers);
    if let Some(upgrade) = upgrade {
        parts.headers.insert(UPGRADE, upgrade);
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
    Response::from_parts(parts, crate::error::full(Bytes::new()))
}

/// A body that fails when it makes no progress for `idle`.
struct Idle<B> {
    inner: B,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> Idle<B> {
    fn new(inner: B, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: None,
        }
    }
}

impl<B> HttpBody for Idle<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this.timer.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until(Instant::now() + idle))
                });
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        Poll::Ready(Some(Err("body made no progress in time".into())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
