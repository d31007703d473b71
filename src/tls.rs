//! Certificates: trusting a CA file, pinning one exact server certificate, and saying in plain words why a
//! server's certificate was refused and how to fix it. One place for every service.
//!
//! Pinning exists because Traffic Ops installations (and many appliances) run on a certificate made by
//! `openssl req -x509`, which is marked as a CA (`CA:TRUE`); rustls refuses such a certificate as a
//! server's own certificate (`CaUsedAsEndEntity`) even when it is a trusted root. A pinned certificate is
//! accepted when the server presents **exactly** it (compared byte for byte) and it is valid for the host
//! name, and for nothing else.

/// A certificate problem found in a failed connection: what is wrong and how to fix it.
pub(crate) struct CertificateProblem {
    pub(crate) reason: String,
    pub(crate) fix: &'static str,
}

impl CertificateProblem {
    /// The message a transport error carries.
    pub(crate) fn message(&self) -> String {
        format!("TLS certificate problem: {}. {}", self.reason, self.fix)
    }
}

#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
const TRUST_FIX: &str = "Trust the server's CA, or its self-signed certificate itself, with a CA file \
    (ClientBuilder::trust_pem_file; the examples' <SERVICE>_CA_FILE; `ca_file_env` in a desired-state file)";
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
const CA_AS_LEAF_FIX: &str = "Pin exactly this certificate with a CA file holding it \
    (ClientBuilder::trust_pem_file or pin_server_certificate_pem; the examples' <SERVICE>_CA_FILE; \
    `ca_file_env` in a desired-state file), or give the server a certificate marked CA:FALSE";
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
const NAME_FIX: &str = "Use the host name the certificate was issued for, or reissue it with this host name \
    in its subject alternative names";
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
const NOT_IN_FILE_FIX: &str = "Put the server's own certificate (or the CA that signed it) in the CA file: \
    `openssl s_client -connect HOST:PORT -showcerts` shows what it presents";
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
const EXPIRED_FIX: &str = "Renew the server's certificate (or check this machine's clock)";
const OTHER_FIX: &str = "Check the server's certificate; a CA file (ClientBuilder::trust_pem_file) trusts \
    a private CA or pins a self-signed certificate";

/// Looks through an error's causes for a refused certificate.
pub(crate) fn certificate_problem(
    error: &(dyn std::error::Error + 'static),
) -> Option<CertificateProblem> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        #[cfg(feature = "rustls")]
        if let Some(problem) = e.downcast_ref::<rustls::Error>().and_then(from_rustls) {
            return Some(problem);
        }
        let text = e.to_string();
        // native-tls (OpenSSL, Secure Transport, SChannel) words it its own way.
        if !cfg!(feature = "rustls") && text.to_ascii_lowercase().contains("certificate") {
            return Some(CertificateProblem {
                reason: text,
                fix: OTHER_FIX,
            });
        }
        // `io::Error::source` skips the error it wraps; step into it instead.
        cause = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(feature = "rustls")]
fn from_rustls(error: &rustls::Error) -> Option<CertificateProblem> {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(certificate) = error else {
        return None;
    };
    let (reason, fix) = match certificate {
        C::UnknownIssuer => (
            "the server's certificate is signed by an issuer this client does not trust (unknown \
             issuer: a private CA, or a self-signed certificate)"
                .to_string(),
            TRUST_FIX,
        ),
        C::Expired | C::ExpiredContext { .. } => (
            "the server's certificate has expired".to_string(),
            EXPIRED_FIX,
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => (
            "the server's certificate is not valid yet".to_string(),
            EXPIRED_FIX,
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => (
            "the server's certificate is not valid for this host name (host name mismatch)".to_string(),
            NAME_FIX,
        ),
        C::BadSignature => (
            "the server's certificate is not signed by the trusted certificate of its issuer's name (a \
             different CA, or another certificate with the same name)"
                .to_string(),
            TRUST_FIX,
        ),
        C::Other(other) if other.0.downcast_ref::<NotInCaFile>().is_some() => (
            other.0.to_string(),
            NOT_IN_FILE_FIX,
        ),
        C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => (
            "the server presents a CA certificate (CA:TRUE, as `openssl req -x509` makes) as its own \
             certificate, which is refused even when trusted as a root (CA used as end entity)"
                .to_string(),
            CA_AS_LEAF_FIX,
        ),
        other => (format!("the server's certificate was refused ({other:?})"), OTHER_FIX),
    };
    Some(CertificateProblem { reason, fix })
}

/// The server's certificate is neither in the CA file nor signed by a CA in it.
#[cfg(feature = "rustls")]
#[derive(Debug)]
struct NotInCaFile {
    server: String,
    file: Vec<String>,
}

#[cfg(feature = "rustls")]
impl std::fmt::Display for NotInCaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the CA file does not hold the server's certificate nor the CA that signed it: the server \
             presents SHA-256 {}; the file holds {}",
            self.server,
            self.file.join(", ")
        )
    }
}

#[cfg(feature = "rustls")]
impl std::error::Error for NotInCaFile {}

/// A certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it (`AB:CD:…`).
#[cfg(feature = "rustls")]
fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses PEM certificates (a bundle is fine); an error when there is none.
#[cfg(feature = "rustls")]
pub(crate) fn pem_certificates(
    pem: &[u8],
    what: &str,
) -> crate::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| crate::Error::Config(format!("{what} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(crate::Error::Config(format!("{what} holds no certificate")));
    }
    Ok(certs)
}

/// A TLS configuration that trusts `roots` and accepts a server presenting exactly one of `pinned` (for
/// its host name).
#[cfg(feature = "rustls")]
pub(crate) fn pinned_config(
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> crate::Result<rustls::ClientConfig> {
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut store = rustls::RootCertStore::empty();
    for cert in roots.iter().chain(&pinned) {
        // A pinned certificate that is no usable root (a leaf) still counts as a pin.
        let _ = store.add(cert.clone());
    }
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(store),
        provider.clone(),
    )
    .build()
    .map_err(|e| crate::Error::Config(format!("the trusted certificates cannot be used: {e}")))?;
    let verifier = Arc::new(PinnedOrTrusted { inner, pinned });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| crate::Error::Config(format!("TLS could not start: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts a server presenting exactly a pinned certificate (valid for the host name); otherwise verifies
/// as usual against the trusted roots.
#[cfg(feature = "rustls")]
#[derive(Debug)]
struct PinnedOrTrusted {
    inner: std::sync::Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
}

#[cfg(feature = "rustls")]
impl rustls::client::danger::ServerCertVerifier for PinnedOrTrusted {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|pin| pin.as_ref() == end_entity.as_ref())
        {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verified {
            // A CA file was given, and neither it nor its CAs vouch for this certificate: say so, with
            // both fingerprints, rather than suggest the CA file the user already gave.
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature,
            )) if !self.pinned.is_empty() => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
                    NotInCaFile {
                        server: fingerprint(end_entity.as_ref()),
                        file: self
                            .pinned
                            .iter()
                            .map(|c| fingerprint(c.as_ref()))
                            .collect(),
                    },
                ))),
            )),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
