//! Test harness: the whole AS router on an ephemeral loopback port over a temporary SQLite
//! file, and a minimal HTTP/1.1 client (one request per connection).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::Config;
use crate::http::State;

/// A running AS; stopped and its database removed on drop.
pub(crate) struct TestAs {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (store, keys, config).
    pub state: State,
    dir: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

/// A response, read to the end.
pub(crate) struct TestResponse {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: String,
}

impl TestAs {
    /// Starts an AS with the default configuration changed by `configure`.
    pub async fn start(configure: impl FnOnce(&mut Config)) -> Self {
        let handle = crate::secrets::new_handle().unwrap();
        let dir = std::env::temp_dir().join(format!("umagate-test-{}", &handle[..16]));
        let mut config = Config::default();
        config.database.url = Some(format!("sqlite://{}/as.db", dir.display()));
        config.database.max_connections = 4;
        configure(&mut config);
        let server = crate::Server::start(config, crate::http::now())
            .await
            .unwrap();
        let state = server.state().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = crate::http::router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            state,
            dir,
            task,
        }
    }

    /// Sends one request; `headers` are `(name, value)` pairs, `body` is sent as is.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> TestResponse {
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let addr = self.addr;
        let bytes = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(raw.as_bytes()).unwrap();
            let mut bytes = Vec::new();
            stream.read_to_end(&mut bytes).unwrap();
            bytes
        })
        .await
        .unwrap();
        TestResponse::parse(&String::from_utf8(bytes).unwrap())
    }

    /// `GET path` with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.request(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        )
        .await
    }

    /// `POST path` with a bearer token and a JSON body.
    pub async fn post_json(&self, path: &str, token: &str, body: &str) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.request(
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .await
    }

    /// `DELETE path` with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.request(
            "DELETE",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        )
        .await
    }
}

impl Drop for TestAs {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestResponse {
    fn parse(text: &str) -> Self {
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        assert!(
            !headers
                .iter()
                .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")),
            "chunked bodies are not supported by this client"
        );
        Self {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The `error` member of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}
