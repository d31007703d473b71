//! The shared inner client: the settings every request reads, and the small body readers. No retry logic
//! lives here; [`request`](crate::request) decides.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use url::Url;

use crate::auth::DynAuth;
use crate::deadline::{Deadline, within};
use crate::retry::RetryPolicy;

/// What a [`Client`](crate::Client) shares between its clones.
pub(crate) struct ClientInner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    pub(crate) auth: Arc<dyn DynAuth>,
    pub(crate) retry: RetryPolicy,
    /// How waits between attempts are made, and the clock of the overall time limit.
    pub(crate) timer: std::sync::Arc<dyn crate::retry::Timer>,
    /// When the next request may go: shared by every clone and call of this client.
    pub(crate) pacer: crate::pace::Pacer,
    /// The timers of finished attempts, kept for the next ones' request timeouts.
    pub(crate) timers: crate::deadline::Timers,
    pub(crate) request_timeout: Duration,
    pub(crate) user_agent: http::HeaderValue,
    pub(crate) max_response_bytes: u64,
    /// Service settings (e.g. the Traffic Ops API version), keyed by type.
    pub(crate) settings: http::Extensions,
}

/// True when the answer came from the URL that was asked (a client that followed a redirect would show
/// another one): same scheme, host, port and path.
#[inline]
pub(crate) fn answered_by(asked: &Url, answered: &Url) -> bool {
    // The usual answer names the very URL asked (one comparison of the text); otherwise the parts.
    asked.as_str() == answered.as_str()
        || (same_origin(asked, answered) && asked.path() == answered.path())
}

/// True when `a` and `b` have the same origin (scheme, host, port), compared in place (`Url::origin`
/// allocates).
#[inline]
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Reads a success body, refusing more than `limit` bytes. `Ok(Err(limit))` means too large.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> reqwest::Result<Result<Bytes, u64>> {
    match response.content_length() {
        Some(n) if n > limit => return Ok(Err(limit)),
        // A declared length within the limit: hyper stops at it, so one collect is safe.
        Some(_) => return response.bytes().await.map(Ok),
        None => {}
    }
    let mut buf = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Ok(Err(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Ok(Bytes::from(buf)))
}

/// How much of an error body is read to find the service's code and message (an error keeps only
/// [`MAX_KEPT_BODY`](crate::error::MAX_KEPT_BODY) of it). A longer error body is not parsed: the error keeps its status and raw start.
pub(crate) const ERROR_READ_LIMIT: usize = 64 * 1024;

/// Reads at most [`ERROR_READ_LIMIT`] bytes of an error body (one more, to know it was cut); a read
/// failure, or the attempt's deadline passing, keeps what arrived.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    deadline: &mut Option<Deadline<'_>>,
) -> Vec<u8> {
    let mut buf = Vec::new();
    while buf.len() <= ERROR_READ_LIMIT {
        match within(deadline, std::pin::pin!(response.chunk())).await {
            Some(Ok(Some(chunk))) => buf.extend_from_slice(&chunk),
            Some(Ok(None) | Err(_)) | None => break,
        }
    }
    buf.truncate(ERROR_READ_LIMIT + 1);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_from_the_url_asked_is_recognised_and_one_from_elsewhere_is_not() {
        let url = |s: &str| Url::parse(s).unwrap();
        let asked = url("https://to.example.net/api/4.0/federations/1/users?x=1");
        assert!(answered_by(&asked, &asked.clone()));
        assert!(answered_by(
            &asked,
            &url("https://to.example.net:443/api/4.0/federations/1/users")
        ));
        for other in [
            "https://to.example.net/api/4.0/federations/2/users?x=1",
            "https://evil.test/api/4.0/federations/1/users?x=1",
            "http://to.example.net/api/4.0/federations/1/users?x=1",
        ] {
            assert!(!answered_by(&asked, &url(other)), "{other}");
        }
    }

    #[test]
    fn same_origin_is_scheme_host_and_port_with_the_default_port_filled_in() {
        let url = |s: &str| Url::parse(s).unwrap();
        let base = url("https://to.example.net/api/");
        assert!(same_origin(
            &base,
            &url("https://to.example.net:443/other?q=1")
        ));
        assert!(same_origin(&base, &url("https://TO.example.net/")));
        for other in [
            "http://to.example.net/api/",
            "https://to.example.net:8443/api/",
            "https://to.example.net.evil.test/api/",
            "https://evil.test/api/",
        ] {
            assert!(!same_origin(&base, &url(other)), "{other}");
        }
    }
}
