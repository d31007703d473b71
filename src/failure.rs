//! What a failed send means: the retry outcome, the error kind, whether the request may have been sent,
//! and a message that names the cause (refused, a name that does not resolve, a timeout, a certificate)
//! and what to check. Shared by every call and by logins.

use crate::error::TransportErrorKind;
use crate::retry::AttemptOutcome;

/// How a reqwest failure counts: the retry outcome, the error kind, "may have been sent" and a short message.
pub(crate) struct Classified {
    pub(crate) outcome: AttemptOutcome,
    pub(crate) kind: TransportErrorKind,
    pub(crate) may_have_been_sent: bool,
    pub(crate) message: std::borrow::Cow<'static, str>,
}

/// Sorts a reqwest failure of sending (or of reading the body, `body_read`).
pub(crate) fn classify(e: &reqwest::Error, body_read: bool) -> Classified {
    let (outcome, kind, may_have_been_sent, message) = if body_read {
        if e.is_timeout() {
            (
                AttemptOutcome::TimedOut,
                TransportErrorKind::Timeout,
                true,
                "timed out reading the response body",
            )
        } else {
            (
                AttemptOutcome::ConnectionLost,
                TransportErrorKind::Io,
                true,
                "the response body could not be read",
            )
        }
    } else if e.is_builder() {
        (
            AttemptOutcome::ConnectionLost,
            TransportErrorKind::Request,
            false,
            "the request could not be built",
        )
    } else if let Some(problem) = crate::tls::certificate_problem(e).filter(|_| e.is_connect()) {
        // Trying again cannot help: the same certificate comes back.
        return Classified {
            outcome: AttemptOutcome::CertificateRefused,
            kind: TransportErrorKind::Certificate,
            may_have_been_sent: false,
            message: problem.message().into(),
        };
    } else if e.is_connect() {
        let kind = if e.is_timeout() {
            TransportErrorKind::Timeout
        } else {
            TransportErrorKind::Connect
        };
        return Classified {
            outcome: AttemptOutcome::ConnectFailed,
            kind,
            may_have_been_sent: false,
            message: format!("could not connect: {}", connect_cause(e)).into(),
        };
    } else if e.is_timeout() {
        (
            AttemptOutcome::TimedOut,
            TransportErrorKind::Timeout,
            true,
            "timed out",
        )
    } else {
        (
            AttemptOutcome::ConnectionLost,
            TransportErrorKind::Io,
            true,
            "the connection failed",
        )
    };
    Classified {
        outcome,
        kind,
        may_have_been_sent,
        message: message.into(),
    }
}

/// Why a connection could not be made, and what to check: refused, a name that does not resolve, a timeout,
/// or the underlying error's own words.
pub(crate) fn connect_cause(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut words = Vec::new();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "connection refused (is the service running, and the URL's host and port right?)"
                        .into();
                }
                std::io::ErrorKind::TimedOut => {
                    return "timed out connecting (a firewall, or the wrong host?)".into();
                }
                _ => {}
            }
        }
        words.push(err.to_string());
        source = err.source();
    }
    let text = words.join(": ");
    if text.contains("dns error") || text.contains("failed to lookup address") {
        return "the host name did not resolve (check the URL's host)".into();
    }
    if e.is_timeout() {
        return "timed out connecting (a firewall, or the wrong host?)".into();
    }
    match words.last() {
        Some(last) => last.clone(),
        None => "the connection could not be made".into(),
    }
}
