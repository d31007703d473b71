//! The one misbehaving server of the tests: a loopback HTTP/1.1 server written by hand (not wiremock) so
//! that it can stall, redirect, cut a body short, stream without end, and serve a 31 MiB body without
//! copying it per answer. Each test says what to answer to each request; the server keeps what it saw.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub enum Answer {
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    },
    /// Never answer (until the client gives up).
    Stall,
    /// Write these bytes (a head, perhaps part of its body), then send nothing more and keep the
    /// connection open (until the client gives up).
    StallAfter(&'static [u8]),
    /// Write these bytes as they are (a head, perhaps a body cut short), then, when `endless_chunks`,
    /// 1 MiB chunks until the client hangs up (at most 1 GiB), then close.
    Raw {
        /// What to write.
        bytes: &'static [u8],
        /// Keep sending chunks after it.
        endless_chunks: bool,
    },
}

pub fn json_answer(status: u16, body: serde_json::Value) -> Answer {
    Answer::Respond {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: Bytes::from(body.to_string()),
    }
}

pub fn raw_answer(status: u16, body: impl Into<Bytes>) -> Answer {
    Answer::Respond {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.into(),
    }
}

pub type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

pub struct Hostile {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Hostile {
    pub async fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (handler, log) = (handler.clone(), log.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(request.clone());
                    match handler(&request) {
                        Answer::Stall => tokio::time::sleep(Duration::from_secs(30)).await,
                        Answer::StallAfter(bytes) => {
                            let _ = socket.write_all(bytes).await;
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                        Answer::Raw {
                            bytes,
                            endless_chunks,
                        } => write_raw(&mut socket, bytes, endless_chunks).await,
                        Answer::Respond {
                            status,
                            headers,
                            body,
                        } => {
                            let mut head = format!(
                                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                                body.len()
                            );
                            for (k, v) in headers {
                                head.push_str(&format!("{k}: {v}\r\n"));
                            }
                            head.push_str("\r\n");
                            let _ = socket.write_all(head.as_bytes()).await;
                            let _ = socket.write_all(&body).await;
                            let _ = socket.shutdown().await;
                        }
                    }
                });
            }
        });
        Hostile { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn writes(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method != "GET" && !s.path.contains("login"))
            .collect()
    }
}

pub async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end - 4;
    while have < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let path = target.split('?').next().unwrap_or("").to_string();
    Some(Seen {
        method,
        path,
        headers,
    })
}

async fn write_raw(socket: &mut TcpStream, bytes: &[u8], endless_chunks: bool) {
    if socket.write_all(bytes).await.is_err() {
        return;
    }
    if endless_chunks {
        let chunk = format!("100000\r\n{}\r\n", "x".repeat(0x100000));
        for _ in 0..1024 {
            if socket.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    }
    let _ = socket.shutdown().await; // close, mid-response when the head promised more
}
