//! A look at the raw HTTP/1 request heads, for the framing ambiguities hyper resolves silently.
//!
//! hyper accepts a request with both `Content-Length` and `Transfer-Encoding` by dropping the
//! length (and closing the connection afterwards), and merges identical duplicate lengths; the
//! parsed request no longer shows either. RFC 9112 §6.1 lets a server refuse such a message and
//! security.md §5.1 says we do: this wrapper sits between the socket (or TLS) and hyper, parses
//! each request head it reads with `httparse`, and queues one verdict per request; the handler
//! takes the verdict of each HTTP/1 request in order and answers 400 (and closes) when it names
//! a problem. Requests are followed through `Content-Length` bodies; after a chunked body, an
//! upgrade, an unparsable head or anything that is not HTTP/1 the wrapper stops looking (hyper
//! then still drops a `Content-Length` sent with `Transfer-Encoding` and closes the connection,
//! and the proxy re-frames every forwarded body, so a later ambiguity cannot desynchronize the
//! upstream either).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Largest request head looked at.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers looked at.
const MAX_HEADERS: usize = 128;

/// The verdicts of one connection, shared by the wrapper and the request handler.
#[derive(Debug, Default)]
pub struct Verdicts(Mutex<VecDeque<Option<&'static str>>>);

impl Verdicts {
    /// The verdict on the next HTTP/1 request: `Some(problem)` to refuse it.
    pub fn next(&self) -> Option<&'static str> {
        self.0.lock().ok()?.pop_front().flatten()
    }

    fn push(&self, verdict: Option<&'static str>) {
        if let Ok(mut q) = self.0.lock() {
            q.push_back(verdict);
        }
    }
}

enum State {
    Head(Vec<u8>),
    Body(u64),
    Done,
}

/// An I/O stream that reports on the request heads read through it.
pub struct Scanned<IO> {
    inner: IO,
    state: State,
    verdicts: Arc<Verdicts>,
}

impl<IO> Scanned<IO> {
    /// Wraps `inner`; verdicts go to `verdicts`.
    pub fn new(inner: IO, verdicts: Arc<Verdicts>) -> Self {
        Self {
            inner,
            state: State::Head(Vec::new()),
            verdicts,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Done => return,
                State::Body(remaining) => {
                    let skip = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    bytes = &bytes[skip..];
                    *remaining -= skip as u64;
                    if *remaining == 0 {
                        self.state = State::Head(Vec::new());
                    }
                }
                State::Head(head) => {
                    let before = head.len();
                    head.extend_from_slice(bytes);
                    let (state, used) = examine(head, &self.verdicts);
                    match used {
                        Some(used) => {
                            let consumed = used.saturating_sub(before).min(bytes.len());
                            bytes = &bytes[consumed..];
                        }
                        None => bytes = &[],
                    }
                    if let Some(state) = state {
                        self.state = state;
                    }
                }
            }
        }
    }
}

/// Looks at a (possibly partial) head: the next state and the head's length once complete.
fn examine(head: &[u8], verdicts: &Verdicts) -> (Option<State>, Option<usize>) {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(head) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => return (None, None),
        _ => return (Some(State::Done), None),
    };
    let named = |n: &'static str| {
        request
            .headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(n))
    };
    let lengths: Vec<&[u8]> = named("content-length").map(|h| h.value).collect();
    let encodings = named("transfer-encoding").count();
    let upgrade = named("upgrade").count() > 0 || request.method == Some("CONNECT");
    let verdict = match (lengths.len(), encodings) {
        (1.., 1..) => Some("both Content-Length and Transfer-Encoding"),
        (2.., _) => Some("more than one Content-Length"),
        (_, 2..) => Some("more than one Transfer-Encoding"),
        _ => None,
    };
    verdicts.push(verdict);
    let next = match lengths.first() {
        _ if verdict.is_some() || upgrade || encodings > 0 => State::Done,
        None => State::Head(Vec::new()),
        Some(value) => match std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(0) => State::Head(Vec::new()),
            Some(n) => State::Body(n),
            None => State::Done,
        },
    };
    (Some(next), Some(len))
}

impl<IO: AsyncRead + Unpin> AsyncRead for Scanned<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll
            && !matches!(this.state, State::Done)
        {
            this.feed(&buf.filled()[before..]);
        }
        poll
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Scanned<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(input: &[&[u8]]) -> Vec<Option<&'static str>> {
        let shared = Arc::new(Verdicts::default());
        let mut s = Scanned::new((), shared.clone());
        for chunk in input {
            s.feed(chunk);
        }
        let q = shared.0.lock().unwrap();
        q.iter().copied().collect()
    }

    #[test]
    fn follows_keep_alive_requests() {
        let v = verdicts(&[
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel",
            b"loGET /y HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]);
        assert_eq!(
            v,
            vec![
                None,
                None,
                Some("both Content-Length and Transfer-Encoding")
            ]
        );
    }

    #[test]
    fn flags_duplicates_in_split_reads() {
        let v = verdicts(&[
            b"POST / HTTP/1.1\r\nContent-Len",
            b"gth: 1\r\ncontent-length: 1\r\n\r\nx",
        ]);
        assert_eq!(v, vec![Some("more than one Content-Length")]);
        let v = verdicts(&[
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]);
        assert_eq!(v, vec![Some("more than one Transfer-Encoding")]);
    }

    #[test]
    fn leading_empty_lines_do_not_hide_a_request() {
        let v = verdicts(&[b"GET / HTTP/1.1\r\n\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"]);
        assert_eq!(
            v,
            vec![None, Some("both Content-Length and Transfer-Encoding")]
        );
    }

    proptest::proptest! {
        /// Any split of a stream gives the verdicts of the whole stream, and nothing panics.
        #[test]
        fn splits_do_not_change_verdicts(
            requests in proptest::collection::vec(0usize..6, 1..6),
            cuts in proptest::collection::vec(0usize..400, 0..8),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            const PARTS: [&[u8]; 6] = [
                b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
                b"POST /c HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab",
                b"POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
                b"\r\nGET /e HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                b"PUT /f HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
            ];
            let mut stream: Vec<u8> = requests.iter().flat_map(|i| PARTS[*i].to_vec()).collect();
            stream.extend_from_slice(&noise);
            let whole = verdicts(&[&stream]);
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut at = 0;
            for p in points {
                chunks.push(&stream[at..p]);
                at = p;
            }
            chunks.push(&stream[at..]);
            proptest::prop_assert_eq!(verdicts(&chunks), whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = verdicts(&[&bytes]);
        }
    }

    #[test]
    fn stops_at_http2_and_chunked() {
        assert!(verdicts(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]).is_empty());
        let v = verdicts(&[
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        ]);
        assert_eq!(v, vec![None]);
    }
}
