//! Reaching servers with self-signed and private-CA certificates without turning verification off, and
//! certificate failures that say what is wrong and how to fix it. Certificates are made here (rcgen); the
//! server is a local TLS listener answering every request with a Danube Cloud group list.

use std::sync::Arc;

use group_membership::access::DesiredState;
use group_membership::danube::DanubeApiKey;
use group_membership::error::TransportErrorKind;
use group_membership::membership::{Guards, Outcome, TrafficOpsFederationUsers, sync};
use group_membership::traffic_ops::TrafficOpsSession;
use group_membership::{Client, ClientBuilder, Error};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate (PEM) and its key (PEM).
struct Made {
    cert: String,
    key: String,
}

fn params(names: &[&str], ca: IsCa) -> CertificateParams {
    let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("params");
    p.is_ca = ca;
    p
}

/// Self-signed, for `names`; `ca` says whether it is marked CA:TRUE (as `openssl req -x509` does).
fn self_signed(names: &[&str], ca: IsCa) -> Made {
    let key = KeyPair::generate().unwrap();
    let cert = params(names, ca).self_signed(&key).unwrap();
    Made {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// A private CA and a server certificate for `names` signed by it: (CA, server).
fn private_ca(names: &[&str]) -> (Made, Made) {
    let ca_key = KeyPair::generate().unwrap();
    let ca_params = params(&[], IsCa::Ca(BasicConstraints::Unconstrained));
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = Made {
        cert: ca_cert.pem(),
        key: ca_key.serialize_pem(),
    };
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = params(names, IsCa::ExplicitNoCa)
        .signed_by(&key, &issuer)
        .unwrap();
    (
        ca,
        Made {
            cert: cert.pem(),
            key: key.serialize_pem(),
        },
    )
}

const BODY: &str = r#"{"status": "SUCCESS", "result": ["admins"], "task_id": "t"}"#;

/// A TLS server on a loopback port presenting `made`; its base URL names `localhost`.
async fn serve(made: &Made) -> String {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(made.cert.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(made.key.as_bytes()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        // Bounded: the tests make a handful of connections each.
        for _ in 0..32 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // the client refused the certificate
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://localhost:{port}")
}

fn danube(base_url: &str, trust: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Client {
    trust(
        Client::builder()
            .base_url(base_url)
            .auth(DanubeApiKey::new("key").unwrap()),
    )
    .build()
    .unwrap()
}

fn pem_file(name: &str, pem: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gm-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

/// The certificate error of `err`, checked to be one: (kind, message).
fn certificate_error(err: &Error) -> String {
    let Error::Transport(t) = err else {
        panic!("not a transport error: {err:?}")
    };
    assert_eq!(t.kind(), TransportErrorKind::Certificate, "{err}");
    assert_eq!(t.attempts(), 1, "a refused certificate is never retried");
    assert!(!t.may_have_been_sent());
    assert!(!err.may_have_been_applied());
    err.to_string()
}

#[tokio::test]
async fn a_ca_true_self_signed_certificate_works_when_pinned() {
    let made = self_signed(&["localhost"], IsCa::Ca(BasicConstraints::Unconstrained));
    let url = serve(&made).await;
    let file = pem_file("ca-true.pem", &made.cert);

    let via_file = danube(&url, |b| b.trust_pem_file(&file));
    assert_eq!(
        via_file.danube().groups().list_names().await.unwrap(),
        ["admins"]
    );
    let via_pin = danube(&url, |b| b.pin_server_certificate_pem(made.cert.clone()));
    assert_eq!(
        via_pin.danube().groups().list_names().await.unwrap(),
        ["admins"]
    );
}

#[tokio::test]
async fn the_same_certificate_as_a_root_only_is_a_clear_certificate_error() {
    let made = self_signed(&["localhost"], IsCa::Ca(BasicConstraints::Unconstrained));
    let url = serve(&made).await;
    let client = danube(&url, |b| b.add_root_certificate_pem(made.cert.clone()));
    let err = client.danube().groups().list_names().await.unwrap_err();
    let text = certificate_error(&err);
    assert!(text.contains("TLS certificate problem"), "{text}");
    assert!(text.contains("CA used as end entity"), "{text}");
    assert!(text.contains("marked CA:FALSE"), "the fix: {text}");
    assert!(text.contains("trust_pem_file"), "the fix: {text}");
}

#[tokio::test]
async fn a_private_ca_works_through_a_ca_file_or_a_root() {
    let (ca, server) = private_ca(&["localhost"]);
    let url = serve(&server).await;
    let file = pem_file("private-ca.pem", &ca.cert);
    let via_file = danube(&url, |b| b.trust_pem_file(&file));
    assert_eq!(
        via_file.danube().groups().list_names().await.unwrap(),
        ["admins"]
    );
    let via_root = danube(&url, |b| b.add_root_certificate_pem(ca.cert.clone()));
    assert_eq!(
        via_root.danube().groups().list_names().await.unwrap(),
        ["admins"]
    );
    // A self-signed certificate marked CA:FALSE works as a plain root too.
    let plain = self_signed(&["localhost"], IsCa::ExplicitNoCa);
    let url = serve(&plain).await;
    let via_root = danube(&url, |b| b.add_root_certificate_pem(plain.cert.clone()));
    assert_eq!(
        via_root.danube().groups().list_names().await.unwrap(),
        ["admins"]
    );
}

#[tokio::test]
async fn a_pinned_certificate_for_another_host_name_is_refused() {
    let made = self_signed(
        &["other.example"],
        IsCa::Ca(BasicConstraints::Unconstrained),
    );
    let url = serve(&made).await;
    let client = danube(&url, |b| b.pin_server_certificate_pem(made.cert.clone()));
    let err = client.danube().groups().list_names().await.unwrap_err();
    let text = certificate_error(&err);
    assert!(text.contains("host name mismatch"), "{text}");
    assert!(text.contains("reissue it with this host name"), "{text}");
}

#[tokio::test]
async fn an_unknown_issuer_says_how_to_trust_it() {
    let (_, server) = private_ca(&["localhost"]);
    let url = serve(&server).await;
    let client = danube(&url, |b| b);
    let err = client.danube().groups().list_names().await.unwrap_err();
    let text = certificate_error(&err);
    assert!(text.contains("unknown issuer"), "{text}");
    assert!(text.contains("<SERVICE>_CA_FILE"), "{text}");
    // Another server's pinned certificate does not make this one acceptable.
    let other = self_signed(&["localhost"], IsCa::Ca(BasicConstraints::Unconstrained));
    let client = danube(&url, |b| b.pin_server_certificate_pem(other.cert.clone()));
    let err = client.danube().groups().list_names().await.unwrap_err();
    // (Refused; both certificates carry rcgen's default issuer name, so the reason is a bad signature.)
    let text = certificate_error(&err);
    assert!(text.contains("TLS certificate problem"), "{text}");
}

#[tokio::test]
async fn a_login_and_a_sync_report_say_it_is_a_certificate_problem() {
    let made = self_signed(&["localhost"], IsCa::Ca(BasicConstraints::Unconstrained));
    let url = serve(&made).await;
    let client = Client::builder()
        .base_url(&url)
        .auth(TrafficOpsSession::password("admin", "secret-pw"))
        .build()
        .unwrap();
    let group = TrafficOpsFederationUsers::new(client, 1);
    let report = sync(&group, ["admin"], &Guards::default()).await;
    let Outcome::ReadFailed { error: e } = &report.outcome else {
        panic!("{report}")
    };
    assert!(
        matches!(e, Error::Transport(t) if t.kind() == TransportErrorKind::Certificate),
        "{e:?}"
    );
    let line = report.to_string();
    assert!(
        line.contains("the login request failed: TLS certificate problem")
            && line.contains("CA used as end entity"),
        "{line}"
    );
    assert!(!line.contains("secret-pw"));
}

#[tokio::test]
async fn a_desired_state_connection_trusts_its_ca_file() {
    let made = self_signed(&["localhost"], IsCa::Ca(BasicConstraints::Unconstrained));
    let url = serve(&made).await;
    let file = pem_file("state-ca.pem", &made.cert);
    let state = DesiredState::from_json(
        r#"{"connections": {"cloud": {"service": "danube", "base_url_env": "URL", "api_key_env": "KEY",
            "ca_file_env": "CA"}}, "groups": []}"#,
    )
    .unwrap();
    let path = file.display().to_string();
    let env = |name: &str| match name {
        "URL" => Some(url.clone()),
        "KEY" => Some("key".to_string()),
        "CA" => Some(path.clone()),
        _ => None,
    };
    let client = state.client("cloud", &env).unwrap();
    assert_eq!(
        client.danube().groups().list_names().await.unwrap(),
        ["admins"]
    );

    let missing = |name: &str| match name {
        "CA" => Some("/nonexistent/ca.pem".to_string()),
        other => env(other),
    };
    let err = state.client("cloud", &missing).unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("cannot read the CA file /nonexistent/ca.pem")),
        "{err}"
    );
}

#[test]
fn a_file_without_certificates_is_refused_when_building() {
    let file = pem_file("empty.pem", "not a certificate\n");
    let err = Client::builder()
        .base_url("https://localhost:1")
        .trust_pem_file(&file)
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("holds no certificate")),
        "{err}"
    );
}

#[tokio::test]
async fn a_ca_file_without_the_servers_certificate_says_so_with_both_fingerprints() {
    use sha2::Digest;
    let fingerprint = |pem: &str| {
        use tokio_rustls::rustls::pki_types::CertificateDer;
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        sha2::Sha256::digest(der.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let server = self_signed(&["localhost"], IsCa::NoCa);
    let url = serve(&server).await;
    let wrong = self_signed(&["localhost"], IsCa::NoCa);
    let file = pem_file("wrong.pem", &wrong.cert);
    let client = danube(&url, |b| b.trust_pem_file(&file));
    let err = client.danube().groups().list_names().await.unwrap_err();
    let text = certificate_error(&err);
    assert!(
        text.contains(
            "the CA file does not hold the server's certificate nor the CA that signed it"
        ),
        "{text}"
    );
    assert!(
        text.contains(&fingerprint(&server.cert)),
        "the server's: {text}"
    );
    assert!(
        text.contains(&fingerprint(&wrong.cert)),
        "the file's: {text}"
    );
    assert!(
        !text.contains("with a CA file (ClientBuilder::trust_pem_file"),
        "not the advice to use the CA file already used: {text}"
    );
    assert!(text.contains("openssl s_client"), "{text}");
}
