//! The HTTP server both stand-ins run on: hyper's HTTP/1.1 server with keep-alive on a
//! 127.0.0.1 port, one stdout line per request (method, path, status, milliseconds: never a
//! header or a query string), and small response helpers.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Every response body: built in memory.
pub type Body = Full<Bytes>;

/// The caller's address, put in each request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// A running server. Dropping it stops accepting connections.
pub struct Server {
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl Server {
    /// The address it listens on (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs until the accept loop ends (it does not, short of a panic).
    pub async fn wait(mut self) {
        let _ = (&mut self.accept).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Binds 127.0.0.1:`port` (0: a free port) and serves `handler` on every connection, logging
/// each request as `<name> <method> <path> <status> <ms>ms`.
pub async fn serve<H, F>(name: &'static str, port: u16, handler: H) -> std::io::Result<Server>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    eprintln!("{name}: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Small responses go out at once rather than waiting on Nagle's algorithm.
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let started = Instant::now();
                        let method = req.method().clone();
                        let path = req.uri().path().to_owned();
                        req.extensions_mut().insert(Peer(peer));
                        let res = handler(req).await;
                        log_request(name, &method, &path, res.status(), started);
                        Ok::<_, Infallible>(res)
                    }
                });
                // A connection that breaks mid-request is the client's business.
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Server { addr, accept })
}

/// Prints the first stdout line the scripts wait for.
pub fn announce(server: &Server) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", server.addr());
    let _ = out.flush();
}

fn log_request(
    name: &str,
    method: &hyper::Method,
    path: &str,
    status: StatusCode,
    started: Instant,
) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{name} {method} {path} {} {ms:.1}ms", status.as_u16());
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The connection failed while reading it.
    Broken,
}

/// Reads a whole request body, up to `limit` bytes.
pub async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Broken),
    }
}

/// A response with a body of `content_type`.
pub fn bytes(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// A JSON response.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    bytes(
        status,
        "application/json",
        Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
    )
}
