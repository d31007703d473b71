//! The sandbox's HTTP/1.1 server: one thread, one current-thread Tokio runtime, one task per connection.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::sync::oneshot;

use super::{FakeRequest, FakeResponse, Shared};

/// The largest request body the sandbox reads.
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Stops the server thread.
pub(crate) struct Stop {
    tx: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Stop {
    pub(crate) fn stop(self) {
        let _ = self.tx.send(());
        let _ = self.thread.join();
    }
}

/// Binds `addr` (loopback: checked by the caller) and serves `shared` on a thread of its own.
pub(crate) fn spawn_on(
    shared: Arc<Shared>,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, Stop)> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("group-membership-sandbox".into())
        .spawn(move || runtime.block_on(serve(listener, shared, rx)))?;
    Ok((addr, Stop { tx, thread }))
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(answer(&shared, req).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        }
    }
}

async fn answer(
    shared: &Shared,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let response = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => {
            let path = parts.uri.path().to_string();
            let segments = path
                .strip_prefix('/')
                .unwrap_or(&path)
                .split('/')
                .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
                .collect();
            let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
            shared.handle(FakeRequest {
                method: parts.method,
                path,
                segments,
                query,
                headers: parts.headers,
                body: collected.to_bytes(),
            })
        }
        Err(_) => FakeResponse::text(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain",
            "request body too large",
        ),
    };
    if let Some(delay) = response.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(gate) = &response.hold {
        gate.wait().await;
    }
    let mut builder = hyper::Response::builder().status(response.status);
    if let Some(ct) = response.content_type {
        builder = builder.header(http::header::CONTENT_TYPE, ct);
    }
    for (name, value) in &response.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            let mut fallback = hyper::Response::new(Full::new(Bytes::from_static(
                b"sandbox could not build a response",
            )));
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}
