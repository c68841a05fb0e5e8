//! The demo API `umagate dev` puts behind the proxy: a small photo-album JSON API that knows
//! nothing about UMA. It trusts the proxy's identity headers (it listens on loopback only) and
//! echoes them, so a walkthrough shows what the proxy forwarded.
//!
//! - `GET /albums/{album}`: the album and its photos;
//! - `GET /albums/{album}/photos/{photo}`, `DELETE /albums/{album}/photos/{photo}`;
//! - `GET /public/hello`: a public greeting; `GET /public/callback`: the demo client's claims
//!   redirect URI, showing the ticket the AS sent back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// Albums by name, each a list of photo names.
type Albums = Arc<Mutex<BTreeMap<String, Vec<String>>>>;

/// The API's routes over its seeded albums.
pub fn router() -> Router {
    let albums: BTreeMap<String, Vec<String>> = [
        ("holiday", vec!["beach", "sunset", "harbour"]),
        ("work", vec!["whiteboard"]),
    ]
    .into_iter()
    .map(|(a, photos)| {
        (
            a.to_string(),
            photos.into_iter().map(String::from).collect(),
        )
    })
    .collect();
    Router::new()
        .route("/public/hello", get(hello))
        .route("/public/callback", get(callback))
        .route("/albums/{album}", get(album))
        .route("/albums/{album}/photos/{photo}", get(photo).delete(delete))
        .with_state(Arc::new(Mutex::new(albums)))
}

/// What the proxy said about the caller.
fn seen(headers: &HeaderMap) -> Value {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    json!({
        "subject": header("x-umagate-subject"),
        "client": header("x-umagate-client"),
        "scopes": header("x-umagate-scopes"),
    })
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn hello() -> Response {
    reply(StatusCode::OK, json!({"hello": "this route is public"}))
}

/// Where the AS sends a browser back after claims gathering: shows the new ticket to copy.
async fn callback(axum::extract::RawQuery(query): axum::extract::RawQuery) -> Response {
    let form = umagate_proto::form::Form::parse(query.unwrap_or_default().as_bytes());
    match form {
        Ok(form) => reply(
            StatusCode::OK,
            json!({"ticket": form.get("ticket"), "state": form.get("state"), "error": form.get("error")}),
        ),
        Err(_) => reply(StatusCode::BAD_REQUEST, json!({"error": "malformed query"})),
    }
}

async fn album(
    State(albums): State<Albums>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let albums = albums.lock().unwrap_or_else(|e| e.into_inner());
    match albums.get(&name) {
        Some(photos) => reply(
            StatusCode::OK,
            json!({"album": name, "photos": photos, "seen": seen(&headers)}),
        ),
        None => reply(StatusCode::NOT_FOUND, json!({"error": "no such album"})),
    }
}

async fn photo(
    State(albums): State<Albums>,
    Path((album, photo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let albums = albums.lock().unwrap_or_else(|e| e.into_inner());
    if albums.get(&album).is_some_and(|p| p.contains(&photo)) {
        reply(
            StatusCode::OK,
            json!({"album": album, "photo": photo, "seen": seen(&headers)}),
        )
    } else {
        reply(StatusCode::NOT_FOUND, json!({"error": "no such photo"}))
    }
}

async fn delete(
    State(albums): State<Albums>,
    Path((album, photo)): Path<(String, String)>,
) -> Response {
    let mut albums = albums.lock().unwrap_or_else(|e| e.into_inner());
    let Some(photos) = albums.get_mut(&album) else {
        return reply(StatusCode::NOT_FOUND, json!({"error": "no such album"}));
    };
    let before = photos.len();
    photos.retain(|p| *p != photo);
    if photos.len() == before {
        return reply(StatusCode::NOT_FOUND, json!({"error": "no such photo"}));
    }
    StatusCode::NO_CONTENT.into_response()
}
