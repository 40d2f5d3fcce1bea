//! A loopback stand-in for the Lambda Runtime API's HTTP side: a listener on 127.0.0.1, one
//! thread per connection that parses HTTP/1.1 requests (keep-alive, `Content-Length` or chunked
//! bodies) and hands each to the benchmark's driver with the instant it was fully read. The driver
//! decides and writes the answer itself, so a `GET .../invocation/next` simply stays unanswered
//! (blocks) until the driver has an event for it, and the driver stamps the instant it hands one
//! out. Plain std threads: the exchange is strictly sequential, and the timestamps are taken on
//! the thread that did the read, with no async scheduler between the socket and the clock.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a connection may sit idle mid-request or between requests before its thread gives
/// up. Longer than any step of the driver, so only a dead peer trips it.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The runtime client's request line and headers are a few hundred bytes; anything past this is
/// not a runtime client.
const MAX_HEAD: u64 = 64 * 1024;
/// Lambda's own limit on a buffered response payload is 6 MB; leave headroom, stay bounded.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// What the Runtime API path of a request names.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /2018-06-01/runtime/invocation/next`
    Next,
    /// `POST /2018-06-01/runtime/invocation/<id>/response`
    Response(String),
    /// `POST /2018-06-01/runtime/invocation/<id>/error`
    Error(String),
    /// `POST /2018-06-01/runtime/init/error`
    InitError,
    /// `POST /2020-01-01/extension/register`: an internal extension registers at init (verify's
    /// and the authorizer's graceful-shutdown hook registers a no-op one, as on Lambda).
    ExtensionRegister,
    /// `GET /2020-01-01/extension/event/next`: the extension waits for its next event.
    ExtensionNext,
    /// Anything else (the runtime client never sends it).
    Unknown,
}

/// The route of `method` on `target` (a request target; any query string is ignored).
pub fn route(method: &str, target: &str) -> Route {
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("POST", "/2020-01-01/extension/register") => return Route::ExtensionRegister,
        ("GET", "/2020-01-01/extension/event/next") => return Route::ExtensionNext,
        _ => {}
    }
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Route::Unknown;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["invocation", "next"]) => Route::Next,
        ("POST", ["invocation", id, "response"]) if !id.is_empty() => {
            Route::Response((*id).to_string())
        }
        ("POST", ["invocation", id, "error"]) if !id.is_empty() => Route::Error((*id).to_string()),
        ("POST", ["init", "error"]) => Route::InitError,
        _ => Route::Unknown,
    }
}

/// One parsed request, stamped when its last byte was read.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

/// The write half of the connection a request came on: the driver answers through it.
#[derive(Debug)]
pub struct Reply {
    stream: TcpStream,
}

impl Reply {
    /// Writes a whole response in one write (head and body together, so Nagle and delayed ACKs
    /// cannot add a round trip between them).
    pub fn send(&mut self, status: u16, headers: &[(&str, String)], body: &[u8]) -> io::Result<()> {
        let reason = match status {
            200 => "OK",
            202 => "Accepted",
            400 => "Bad Request",
            404 => "Not Found",
            _ => "Unknown",
        };
        let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes)?;
        self.stream.flush()
    }
}

/// What a connection thread tells the driver.
#[derive(Debug)]
pub enum Message {
    Request(Request, Reply),
    /// A connection sent something that is not HTTP/1.1 as this server reads it.
    Malformed(String),
}

/// A listener on an ephemeral loopback port and its accepting thread; stopped on drop.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on 127.0.0.1 (never another interface) and returns the server with the channel
    /// its requests arrive on.
    pub fn start() -> io::Result<(Self, Receiver<Message>)> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let accept = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("runtime-api-accept".into())
                .spawn(move || accept_loop(&listener, &stop, &tx))?
        };
        let server = Self {
            addr,
            stop,
            accept: Some(accept),
        };
        Ok((server, rx))
    }

    /// `127.0.0.1:<port>`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // A blocking accept() only returns on a connection: make one so the thread sees the flag.
        // (A non-blocking accept polled on a timer would delay the function's first connection,
        // which is inside the measured init time.)
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool, tx: &Sender<Message>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors or similar: back off rather than spin on a core the measured
            // function needs.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let conn_tx = tx.clone();
        // Connection threads end on EOF (the function is killed at the end of a run) or on
        // IO_TIMEOUT; they are not joined.
        let spawned = std::thread::Builder::new()
            .name("runtime-api-conn".into())
            .spawn(move || serve_connection(stream, &conn_tx));
        if spawned.is_err() {
            let _ = tx.send(Message::Malformed(
                "could not start a connection thread".into(),
            ));
        }
    }
}

fn serve_connection(stream: TcpStream, tx: &Sender<Message>) {
    let setup = || -> io::Result<(BufReader<TcpStream>, TcpStream)> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok((BufReader::new(stream.try_clone()?), stream.try_clone()?))
    };
    let (mut reader, writer) = match setup() {
        Ok(halves) => halves,
        Err(e) => {
            let _ = tx.send(Message::Malformed(format!("connection set-up: {e}")));
            return;
        }
    };
    loop {
        match read_request(&mut reader) {
            Ok(Some(request)) => {
                let reply = match writer.try_clone() {
                    Ok(stream) => Reply { stream },
                    Err(e) => {
                        let _ = tx.send(Message::Malformed(format!("connection clone: {e}")));
                        return;
                    }
                };
                if tx.send(Message::Request(request, reply)).is_err() {
                    // The driver is gone (the run ended): nothing left to serve.
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                // A reset from a killed function is the normal end of a connection, not news.
                if !matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) {
                    let _ = tx.send(Message::Malformed(e.to_string()));
                }
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// One CRLF-terminated line (without the terminator), at most `budget` bytes of the head in all.
/// `None` at EOF before any byte.
fn read_line(reader: &mut impl BufRead, budget: &mut u64) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let n = reader.by_ref().take(*budget).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    *budget = budget.saturating_sub(n as u64);
    if line.last() != Some(&b'\n') {
        return Err(invalid(if *budget == 0 {
            "request head too large"
        } else {
            "connection closed mid-line"
        }));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| invalid("request head is not UTF-8"))
}

/// Reads one request: `Ok(None)` when the peer closed the connection between requests.
pub fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut budget = MAX_HEAD;
    let Some(request_line) = read_line(reader, &mut budget)? else {
        return Ok(None);
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!("bad request line {request_line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("unsupported version in {request_line:?}")));
    }
    let (method, target) = (method.to_string(), target.to_string());

    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    loop {
        let line = read_line(reader, &mut budget)?
            .ok_or_else(|| invalid("connection closed in the request head"))?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // HTTP/1.1: chunked is the only coding a body can end with; nothing else is sent here.
            if !value.eq_ignore_ascii_case("chunked") {
                return Err(invalid(format!("unsupported Transfer-Encoding {value:?}")));
            }
            chunked = true;
        }
    }

    let body = if chunked {
        read_chunked(reader)?
    } else {
        let len = content_length.unwrap_or(0);
        if len > MAX_BODY {
            return Err(invalid(format!("body of {len} bytes is over the limit")));
        }
        let mut body = Vec::with_capacity(len as usize);
        reader.by_ref().take(len).read_to_end(&mut body)?;
        if body.len() as u64 != len {
            return Err(invalid("connection closed mid-body"));
        }
        body
    };
    Ok(Some(Request {
        method,
        target,
        body,
        at: Instant::now(),
    }))
}

/// A chunked body (the runtime client's streaming responses): chunks until the zero-size one,
/// then trailers (ignored) until the empty line.
fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD;
    loop {
        let line =
            read_line(reader, &mut budget)?.ok_or_else(|| invalid("connection closed mid-body"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            break;
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(invalid("chunked body is over the limit"));
        }
        let start = body.len();
        reader.by_ref().take(size).read_to_end(&mut body)?;
        if (body.len() - start) as u64 != size {
            return Err(invalid("connection closed mid-chunk"));
        }
        let end = read_line(reader, &mut budget)?;
        if end.as_deref() != Some("") {
            return Err(invalid("chunk not followed by CRLF"));
        }
    }
    while read_line(reader, &mut budget)?
        .ok_or_else(|| invalid("connection closed in the trailers"))?
        .chars()
        .next()
        .is_some()
    {}
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_of_the_runtime_api() {
        assert_eq!(
            route("GET", "/2018-06-01/runtime/invocation/next"),
            Route::Next
        );
        assert_eq!(
            route("POST", "/2018-06-01/runtime/invocation/abc-1/response"),
            Route::Response("abc-1".into())
        );
        assert_eq!(
            route("POST", "/2018-06-01/runtime/invocation/abc-1/error?x=1"),
            Route::Error("abc-1".into())
        );
        assert_eq!(
            route("POST", "/2018-06-01/runtime/init/error"),
            Route::InitError
        );
        assert_eq!(
            route("POST", "/2018-06-01/runtime/invocation/next"),
            Route::Unknown
        );
        assert_eq!(
            route("POST", "/2018-06-01/runtime/invocation//response"),
            Route::Unknown
        );
        assert_eq!(
            route("GET", "/2018-06-01/runtime/invocation/a/b/response"),
            Route::Unknown
        );
        assert_eq!(route("GET", "/"), Route::Unknown);
        assert_eq!(
            route("POST", "/2020-01-01/extension/register"),
            Route::ExtensionRegister
        );
        assert_eq!(
            route("GET", "/2020-01-01/extension/event/next"),
            Route::ExtensionNext
        );
    }

    #[test]
    fn reads_keep_alive_requests_with_both_body_framings() {
        let wire = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n\
POST /2018-06-01/runtime/invocation/1/response HTTP/1.1\r\ncontent-length: 11\r\n\r\n{\"ok\":true}\
POST /2018-06-01/runtime/invocation/2/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nLambda-Runtime-Function-Error-Type: x\r\n\r\n";
        let mut reader = &wire[..];
        let first = read_request(&mut reader).ok().flatten();
        let first = first.as_ref().map(|r| (r.method.as_str(), r.body.len()));
        assert_eq!(first, Some(("GET", 0)));
        let second = read_request(&mut reader).ok().flatten().map(|r| r.body);
        assert_eq!(second.as_deref(), Some(&b"{\"ok\":true}"[..]));
        let third = read_request(&mut reader).ok().flatten().map(|r| r.body);
        assert_eq!(third.as_deref(), Some(&b"abcdefg"[..]));
        assert!(matches!(read_request(&mut reader), Ok(None)));
    }

    #[test]
    fn rejects_truncated_and_malformed_requests() {
        let short_body = b"POST /x HTTP/1.1\r\ncontent-length: 10\r\n\r\nabc";
        assert!(read_request(&mut &short_body[..]).is_err());
        let no_version = b"GET /x\r\n\r\n";
        assert!(read_request(&mut &no_version[..]).is_err());
        let bad_length = b"POST /x HTTP/1.1\r\ncontent-length: ten\r\n\r\n";
        assert!(read_request(&mut &bad_length[..]).is_err());
    }
}
