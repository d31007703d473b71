//! `cargo bench -p group-membership-bench --bench sdk`: what the SDK costs, next to what a user would write
//! by hand, in a process shaped like a real program (a multi-thread tokio runtime, a loopback hyper server).
//!
//! - **signing**: one Uplynk signature as the SDK makes it (fresh, and within a second already signed), and
//!   as a user would by hand (the vendor's recipe: a new zlib level-9 encoder per call), in a warm loop and on
//!   the worker threads of a multi-thread runtime;
//! - **codecs**: building and decoding each service's typical request and response;
//! - **calls, per auth kind** (Uplynk signer, Basic, API-key header, session cookie), at concurrency 1 and 32:
//!   the SDK's typed call against bare reqwest doing the same work by hand (same headers, same typed decode;
//!   the same bare call with the SDK's request timeout set, which is what a per-request timeout costs by
//!   itself; for Uplynk also a bare call that signs by hand), in interleaved rounds; ratios printed;
//! - **the vendor's Python sample** (`requests` + the `api_auth` recipe, `vendor_sample.py`) against the same
//!   server, when `python3` with `requests` is installed: calls per second next to the SDK's;
//! - reconciling 1,000 members across two groups on the sandbox.
//!
//! `RATIO_ONLY=1` prints only the signing and per-auth summaries (`RATIO_AUTH=api_key` etc.: one auth kind);
//! `RATIO_AA=1` puts the SDK on both sides of the comparison (an A/A run: what the comparison's noise is).
//! `PROFILE=sdk|bare|bare_timeout` runs calls for a profiler (below); `PROFILE_MULTI_THREAD=1` makes that a
//! multi-thread runtime with the server in a process of its own (for `perf stat` and the like).
//! `PROFILE=split` times each poll of each side's calls, interleaved, on the thread that runs them.

#[path = "cpu.rs"]
mod cpu;
use cpu::process_cpu;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use group_membership::auth::BasicAuth;
use group_membership::danube::{DanubeApiKey, Group};
use group_membership::entuity::UserGroup;
use group_membership::membership::{
    Desired, Guards, Reconcile, UplynkAllowedOwners, reconcile_all,
};
use group_membership::sandbox::Sandbox;
use group_membership::traffic_ops::{FederationUser, FederationUsersQuery, TrafficOpsSession};
use group_membership::uplynk::{AllowedOwner, AllowedOwnersUpdate, Collection, UplynkAuth};
use group_membership::{Client, DEFAULT_REQUEST_TIMEOUT, RetryPolicy};
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use std::hint::black_box;
use std::io::Write;

/// Counts heap allocations per thread (no shared counter, so no contention between workers).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a thread-local Cell.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.try_with(|c| c.get()).unwrap_or(0)
}

const GROUP: &str = "e8d6b5cb940c40cc9ec6ad081a38f3f0";
const USER_ID: &str = "1234567890abcdefghijklmnopqrstu";
const API_KEY: &str = "1234567890abcdefghijklmnopqrstuvwxyz1234";
const CONFIG_SET: &str = "82e7c418-cd48-4fbf-857b-cddb475841a2";
const OWNERS: &str = include_str!("../tests/fixtures/uplynk/allowed_owners.json");
const ENTUITY_CHANGE: &str = include_str!("../tests/fixtures/entuity/put_members_response.json");
const ENTUITY_GROUP: &str =
    r#"{"userGroupName":"Administrators","members":["admin","kim1","super1"],"tools":null}"#;
const TO_USERS: &str = r#"{"response":[{"company":null,"email":"admin@example.test","fullName":"Admin User","id":2,"role":"admin","username":"admin"}]}"#;
const DANUBE_GROUP: &str = r#"{"status":"SUCCESS","result":{"alias":"Testers User Group","users":["admin","tester@erigones.com"],"name":"testers","permissions":["admin","image_admin"]},"task_id":"1e1d1-6f75849b-f4e5-4a88-9d7d"}"#;
const SESSION_COOKIE: &str = "mojolicious=bench-session-cookie";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// What the loopback server answers, by path: each service's typical read, and a Traffic Ops login.
fn answer(path: &str) -> hyper::Response<Full<Bytes>> {
    let (body, cookie) = if path.contains("/allowed-owners") {
        (OWNERS, false)
    } else if path.contains("/userGroups/") {
        (ENTUITY_GROUP, false)
    } else if path.contains("/accounts/group/") {
        (DANUBE_GROUP, false)
    } else if path.ends_with("/user/login") {
        (
            r#"{"alerts":[{"text":"Successfully logged in.","level":"success"}]}"#,
            true,
        )
    } else {
        (TO_USERS, false)
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if cookie {
        response.headers_mut().insert(
            "set-cookie",
            hyper::header::HeaderValue::from_static(
                "mojolicious=bench-session-cookie; Max-Age=3600; HttpOnly",
            ),
        );
    }
    response
}

/// A loopback HTTP/1.1 server on the runtime's workers (one process, as the issue's measurement was made).
fn start_server(rt: &tokio::runtime::Runtime) -> SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    Ok::<_, Infallible>(answer(req.uri().path()))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

// ---------------------------------------------------------------------------------------------------------
// Signing

/// The vendor's recipe written by hand, as a user without the SDK would: a new level-9 encoder per call.
fn sign_by_hand(user_id: &str, api_key: &str, timestamp: u64) -> (String, String) {
    let json = format!(r#"{{"_owner": "{user_id}", "_timestamp": {timestamp}}}"#);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(json.as_bytes()).expect("compress");
    let msg = base64::engine::general_purpose::STANDARD.encode(encoder.finish().expect("compress"));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(api_key.as_bytes()).expect("key");
    mac.update(msg.as_bytes());
    (msg, hex::encode(mac.finalize().into_bytes()))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn signing_and_codecs(c: &mut Criterion) {
    let auth = UplynkAuth::new(USER_ID, API_KEY);
    let mut g = c.benchmark_group("uplynk signature");
    g.bench_function("sdk, a second not yet signed (full computation)", |b| {
        let mut t = 1_700_000_000u64;
        b.iter(|| {
            t += 1;
            black_box(auth.sign_at(black_box(t)))
        })
    });
    g.bench_function("sdk, within a second already signed", |b| {
        b.iter(|| black_box(auth.sign()))
    });
    g.bench_function("by hand (new encoder per call)", |b| {
        b.iter(|| black_box(sign_by_hand(USER_ID, API_KEY, black_box(1_700_000_000))))
    });
    g.finish();

    let mut g = c.benchmark_group("codec");
    g.bench_function("uplynk/encode allowed-owners update", |b| {
        b.iter(|| {
            let update = AllowedOwnersUpdate::new()
                .owners_to_add([
                    "gu137664292b46a1a286cdf79b1a9bm8",
                    "t341643dn409198f523flniu1234n34h",
                ])
                .owners_to_remove(["de137864292b46a1a286cdd79b3a9ba6"]);
            black_box(serde_json::to_vec(&update))
        })
    });
    g.bench_function("uplynk/decode allowed owners", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<Collection<AllowedOwner>>(black_box(
                OWNERS,
            )))
        })
    });
    g.bench_function("entuity/decode change result", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<serde_json::Value>(black_box(
                ENTUITY_CHANGE,
            )))
        })
    });
    g.bench_function("traffic_ops/decode federation users", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<serde_json::Value>(black_box(
                TO_USERS,
            )))
        })
    });
    g.bench_function("danube/decode group", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<serde_json::Value>(black_box(
                DANUBE_GROUP,
            )))
        })
    });
    g.bench_function("path/encode hostile segment", |b| {
        b.iter(|| {
            black_box(group_membership::encode_segment(black_box(
                "Network Ops/EU #50% a/../b",
            )))
        })
    });
    g.finish();
}

/// Signatures on the worker threads of a multi-thread runtime, interleaved with other work the way a real
/// program's requests are: each task signs once and yields. Returns µs per signature (wall time × workers /
/// signatures).
fn signing_in_a_runtime() -> [(String, f64); 4] {
    let rt = runtime();
    let auth = UplynkAuth::new(USER_ID, API_KEY);
    let tasks = 20_000u64;
    let run = |kind: u8| -> f64 {
        let started = Instant::now();
        rt.block_on(async {
            let handles: Vec<_> = (0..tasks)
                .map(|i| {
                    let auth = auth.clone();
                    tokio::spawn(async move {
                        // Some unrelated allocation between signatures, as a real program has.
                        let noise = black_box(vec![0u8; 512 + (i as usize % 7) * 1024]);
                        let len = match kind {
                            0 => 0,
                            1 => auth.sign_at(1_700_000_000 + i).expect("sign").msg.len(),
                            2 => auth.sign().expect("sign").msg.len(),
                            _ => sign_by_hand(USER_ID, API_KEY, unix_now()).0.len(),
                        };
                        tokio::task::yield_now().await;
                        len + noise.len()
                    })
                })
                .collect();
            for h in handles {
                black_box(h.await.expect("task"));
            }
        });
        started.elapsed().as_secs_f64() * 1e6 * 2.0 / tasks as f64
    };
    // Warm up each kind once, then measure.
    for kind in 0..4 {
        run(kind);
    }
    let base = run(0);
    [
        ("task with no signature (baseline)".into(), base),
        ("sdk, a second not yet signed".into(), run(1) - base),
        ("sdk, within a second already signed".into(), run(2) - base),
        ("by hand (new encoder per call)".into(), run(3) - base),
    ]
}

// ---------------------------------------------------------------------------------------------------------
// Calls per auth kind: the SDK's typed call versus bare reqwest doing the same by hand.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AuthKind {
    UplynkSigner,
    Basic,
    ApiKey,
    SessionCookie,
}

impl AuthKind {
    const ALL: [AuthKind; 4] = [
        AuthKind::UplynkSigner,
        AuthKind::Basic,
        AuthKind::ApiKey,
        AuthKind::SessionCookie,
    ];
    /// The kind named by environment variable `var` (`uplynk`, `basic`, `api_key`, `session`).
    fn from_env(var: &str) -> Option<AuthKind> {
        match std::env::var(var).ok()?.as_str() {
            "uplynk" => Some(AuthKind::UplynkSigner),
            "basic" => Some(AuthKind::Basic),
            "api_key" => Some(AuthKind::ApiKey),
            "session" => Some(AuthKind::SessionCookie),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            AuthKind::UplynkSigner => "Uplynk signer (allowed owners)",
            AuthKind::Basic => "Basic (Entuity user group)",
            AuthKind::ApiKey => "API-key header (Danube Cloud group)",
            AuthKind::SessionCookie => "session cookie (Traffic Ops federation users)",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Caller {
    Sdk,
    /// Bare reqwest sending the same request (the same credentials header; for Uplynk the same `msg` and
    /// `sig`, signed by hand once a second) and making the same typed decode.
    Bare,
    /// `Bare` with the SDK's default request timeout set on each request (`RequestBuilder::timeout`), as
    /// the SDK sets its own: what a per-request timeout costs by itself.
    BareWithTimeout,
    /// Uplynk only: bare reqwest that also signs by hand on every call.
    BareSigning,
}

struct Calls {
    kind: AuthKind,
    sdk: Client,
    bare: reqwest::Client,
    base: String,
    /// Bare Uplynk: this second's signed URL.
    signed: std::sync::Mutex<Option<(u64, String)>>,
    /// `RATIO_AA=1`: the "bare" side calls through the SDK as well.
    same_on_both_sides: bool,
}

impl Calls {
    async fn new(kind: AuthKind, addr: SocketAddr) -> Self {
        let base = format!("http://{addr}");
        let builder = Client::builder()
            .base_url(&base)
            .retry_policy(RetryPolicy::never());
        let sdk = match kind {
            AuthKind::UplynkSigner => builder.auth(UplynkAuth::new(USER_ID, API_KEY)),
            AuthKind::Basic => builder.auth(BasicAuth::new("bench", "bench")),
            AuthKind::ApiKey => builder.auth(DanubeApiKey::new("bench-api-key").expect("key")),
            AuthKind::SessionCookie => builder.auth(TrafficOpsSession::password("bench", "bench")),
        }
        .build()
        .expect("client");
        let calls = Calls {
            kind,
            sdk,
            bare: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("reqwest"),
            base,
            signed: std::sync::Mutex::new(None),
            same_on_both_sides: std::env::var_os("RATIO_AA").is_some(),
        };
        calls.call(Caller::Sdk).await; // logs in (session) and opens the pool
        calls
    }

    async fn call(&self, caller: Caller) -> usize {
        match caller {
            Caller::Sdk => self.sdk_call().await,
            // `RATIO_AA=1`: the "bare" side is the SDK too, to show the comparison's own noise (its
            // ratios should sit at 1).
            Caller::Bare if self.same_on_both_sides => self.sdk_call().await,
            Caller::Bare => self.bare_call(false, false).await,
            Caller::BareWithTimeout => self.bare_call(false, true).await,
            Caller::BareSigning => self.bare_call(true, false).await,
        }
    }

    async fn sdk_call(&self) -> usize {
        match self.kind {
            AuthKind::UplynkSigner => {
                let owners = self
                    .sdk
                    .uplynk()
                    .failover_groups()
                    .allowed_owners(GROUP)
                    .list()
                    .await;
                owners.expect("sdk call").items.len()
            }
            AuthKind::Basic => {
                let group = self
                    .sdk
                    .entuity()
                    .user_groups(CONFIG_SET)
                    .members("Administrators")
                    .get()
                    .await;
                group.expect("sdk call").members.len()
            }
            AuthKind::ApiKey => self
                .sdk
                .danube()
                .groups()
                .get("testers")
                .await
                .expect("sdk call")
                .users
                .len(),
            AuthKind::SessionCookie => {
                let users = self
                    .sdk
                    .traffic_ops()
                    .federations()
                    .users(1)
                    .list(&FederationUsersQuery::new())
                    .await;
                users.expect("sdk call").response.len()
            }
        }
    }

    async fn bare_call(&self, sign: bool, timeout: bool) -> usize {
        let base = &self.base;
        let request = match self.kind {
            AuthKind::UplynkSigner => {
                let url = format!("{base}/api/v4/failover-groups/{GROUP}/allowed-owners");
                if sign {
                    let (msg, sig) = sign_by_hand(USER_ID, API_KEY, unix_now());
                    let url = url::Url::parse_with_params(&url, [("msg", msg), ("sig", sig)]);
                    self.bare.get(url.expect("url"))
                } else {
                    // The same request as the SDK's: signed by hand once a second (as the SDK keeps its
                    // signature for the second), the URL with `msg` and `sig` reused within it.
                    self.bare.get(self.signed_url(&url))
                }
            }
            AuthKind::Basic => self
                .bare
                .get(format!("{base}/api/cfg/serverGroupConfig/{CONFIG_SET}/userGroups/Administrators?media=json"))
                .header("authorization", "Basic YmVuY2g6YmVuY2g="),
            AuthKind::ApiKey => self
                .bare
                .get(format!("{base}/api/accounts/group/testers/"))
                .header("es-api-key", "bench-api-key"),
            AuthKind::SessionCookie => self
                .bare
                .get(format!("{base}/api/4.0/federations/1/users"))
                .header("cookie", SESSION_COOKIE),
        };
        // The SDK bounds every attempt with its request timeout (fail closed: a server that never answers
        // must not hang the caller); `BareWithTimeout` gives bare reqwest the same bound.
        let request = if timeout {
            request.timeout(DEFAULT_REQUEST_TIMEOUT)
        } else {
            request
        };
        let body = request
            .header("accept", "application/json")
            .send()
            .await
            .expect("bare call")
            .bytes()
            .await
            .expect("body");
        match self.kind {
            AuthKind::UplynkSigner => serde_json::from_slice::<Collection<AllowedOwner>>(&body)
                .expect("decode")
                .items
                .len(),
            AuthKind::Basic => serde_json::from_slice::<UserGroup>(&body)
                .expect("decode")
                .members
                .len(),
            AuthKind::ApiKey => {
                #[derive(serde::Deserialize)]
                struct Envelope {
                    result: Group,
                }
                serde_json::from_slice::<Envelope>(&body)
                    .expect("decode")
                    .result
                    .users
                    .len()
            }
            AuthKind::SessionCookie => {
                #[derive(serde::Deserialize)]
                struct Envelope {
                    response: Vec<FederationUser>,
                }
                serde_json::from_slice::<Envelope>(&body)
                    .expect("decode")
                    .response
                    .len()
            }
        }
    }

    /// `url` with this second's `msg` and `sig`, made once a second.
    fn signed_url(&self, url: &str) -> String {
        let now = unix_now();
        let mut cached = self.signed.lock().expect("lock");
        match cached.as_ref().filter(|(at, _)| *at == now) {
            Some((_, signed)) => signed.clone(),
            None => {
                let (msg, sig) = sign_by_hand(USER_ID, API_KEY, now);
                let signed = url::Url::parse_with_params(url, [("msg", msg), ("sig", sig)])
                    .expect("url")
                    .to_string();
                *cached = Some((now, signed.clone()));
                signed
            }
        }
    }

    fn callers(&self) -> &'static [Caller] {
        match self.kind {
            AuthKind::UplynkSigner => &[
                Caller::Sdk,
                Caller::Bare,
                Caller::BareWithTimeout,
                Caller::BareSigning,
            ],
            _ => &[Caller::Sdk, Caller::Bare, Caller::BareWithTimeout],
        }
    }
}

async fn batch(calls: &Calls, caller: Caller, n: usize) -> usize {
    let all = (0..n).map(|_| calls.call(caller));
    futures_util::future::join_all(all).await.into_iter().sum()
}

fn full_calls(c: &mut Criterion) {
    let rt = runtime();
    let addr = start_server(&rt);
    let mut g = c.benchmark_group("loopback call");
    for kind in [AuthKind::UplynkSigner, AuthKind::SessionCookie] {
        let calls = rt.block_on(Calls::new(kind, addr));
        for concurrency in [1usize, 32] {
            g.throughput(Throughput::Elements(concurrency as u64));
            for &caller in calls.callers() {
                let name = match caller {
                    Caller::Sdk => "sdk",
                    Caller::Bare => "bare reqwest",
                    Caller::BareWithTimeout => "bare reqwest with a request timeout",
                    Caller::BareSigning => "bare reqwest, signing by hand",
                };
                g.bench_with_input(
                    BenchmarkId::new(format!("{} / {name}", kind.name()), concurrency),
                    &concurrency,
                    |b, &n| b.to_async(&rt).iter(|| batch(&calls, caller, n)),
                );
            }
        }
    }
    g.finish();
}

fn reconcile(c: &mut Criterion) {
    let rt = runtime();
    let sandbox = Sandbox::start().expect("sandbox");
    let client = sandbox.uplynk_client().expect("client");
    let groups = [GROUP, "054d58556a7441cbbe71d4fb7f366480"];
    // Two desired states of 1,000 members in all (500 per group), alternated so every run changes everything.
    let entries = |tag: &str| -> Vec<Box<dyn Reconcile>> {
        groups
            .iter()
            .map(|g| {
                let members: Vec<String> = (0..500).map(|i| format!("{tag}{i:028x}")).collect();
                Box::new(Desired::new(
                    UplynkAllowedOwners::new(client.clone(), *g),
                    members,
                )) as Box<dyn Reconcile>
            })
            .collect()
    };
    let (a, b) = (entries("a"), entries("b"));
    let guards = Guards::default();
    let mut flip = false;
    let mut g = c.benchmark_group("sandbox");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000));
    g.bench_function(
        "reconcile 1,000 members (2 groups x 500, all replaced)",
        |bench| {
            bench.to_async(&rt).iter(|| {
                flip = !flip;
                let entries = if flip { &a } else { &b };
                let guards = &guards;
                let sandbox = &sandbox;
                async move {
                    sandbox.clear_requests();
                    let reports = reconcile_all(entries, guards, true, 2).await;
                    assert!(reports.iter().all(|r| r.is_success()));
                }
            })
        },
    );
    g.finish();
}

/// Clients of each side (SDK, bare) per auth kind in the ratio report, used in turn.
const CLIENTS_PER_SIDE: usize = 8;

/// `per_round` batches of `concurrency` calls: wall time per call, and the process's CPU time per call when
/// it can be read (µs).
async fn timed_rounds(
    calls: &Calls,
    caller: Caller,
    concurrency: usize,
    per_round: usize,
) -> (f64, Option<f64>) {
    let cpu = process_cpu();
    let t = Instant::now();
    for _ in 0..per_round {
        black_box(batch(calls, caller, concurrency).await);
    }
    let wall = t.elapsed();
    let n = (per_round * concurrency) as f64;
    let cpu = match (cpu, process_cpu()) {
        (Some(before), Some(after)) => Some((after - before).as_secs_f64() * 1e6 / n),
        _ => None,
    };
    (wall.as_secs_f64() * 1e6 / n, cpu)
}

/// The loopback server in a process of its own (this benchmark again, with `SDK_BENCH_SERVER=1`), so that
/// the CPU time measured is the client's alone, as in the issue's harness. Stopped when dropped.
struct ServerProcess {
    child: std::process::Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start() -> Option<Self> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().ok()?)
            .env("SDK_BENCH_SERVER", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take()?)
            .read_line(&mut line)
            .ok()?;
        let addr = line.trim().parse().ok()?;
        Some(ServerProcess { child, addr })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `SDK_BENCH_SERVER=1`: serve on loopback, print the address, stop when the parent closes stdin.
fn serve_until_stdin_closes() {
    use std::io::Read;
    let rt = runtime();
    let addr = start_server(&rt);
    println!("{addr}");
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// The median of `values`.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Per auth kind and concurrency: rounds in which each caller runs a few batches in turn (each going first
/// in turn, so drift in the machine affects all alike), on clients used in turn. Each round gives the
/// caller's wall time and the client process's CPU time per call; the medians over the rounds are compared.
/// With the server in a process of its own the CPU time is the client's alone. Returns the SDK's calls per
/// second (median round) at concurrency 1 and 32 for Uplynk.
fn ratio_report() -> [f64; 2] {
    let rt = runtime();
    let server = ServerProcess::start();
    let addr = match &server {
        Some(s) => s.addr,
        None => start_server(&rt),
    };
    let mut uplynk_rate = [0.0; 2];
    println!(
        "\n== one call through the SDK versus bare reqwest doing the same by hand ({}; medians of interleaved rounds)",
        if server.is_some() {
            "server in another process: CPU is the client's"
        } else {
            "server in this process: CPU includes the server's"
        }
    );
    // `RATIO_AUTH=uplynk|basic|api_key|session`: that kind only. `RATIO_ROUNDS=n`: n times the rounds.
    let only = AuthKind::from_env("RATIO_AUTH");
    let scale: usize = std::env::var("RATIO_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    for kind in AuthKind::ALL
        .into_iter()
        .filter(|k| only.is_none_or(|o| o == *k))
    {
        // Several clients of each kind, used in turn: each has its own connections, and where the runtime
        // puts a connection's tasks (on the caller's worker or the other one) changes a loopback round trip
        // by 10-20 %; with one client a side, one unlucky placement tilted a whole run.
        let pool: Vec<Calls> = (0..CLIENTS_PER_SIDE)
            .map(|_| rt.block_on(Calls::new(kind, addr)))
            .collect();
        let callers = pool[0].callers();
        for (slot, (concurrency, per_round, rounds)) in
            [(1usize, 50usize, 40 * scale), (32, 5, 60 * scale)]
                .into_iter()
                .enumerate()
        {
            let (walls, cpus) = rt.block_on(async {
                for calls in &pool {
                    for _ in 0..10 {
                        for &caller in callers {
                            batch(calls, caller, concurrency).await;
                        }
                    }
                }
                let mut walls = vec![Vec::with_capacity(rounds); callers.len()];
                let mut cpus = vec![Vec::with_capacity(rounds); callers.len()];
                // The compared callers in rounds, each following each of the others equally often (a
                // rotation, reversed every other cycle: in a plain rotation the SDK always came right
                // after the same caller). Signing by hand, far heavier, gets rounds of its own after them:
                // interleaved, it slowed whichever caller came next.
                let compared = callers.len() - usize::from(callers.contains(&Caller::BareSigning));
                for round in 0..rounds {
                    let calls = &pool[round % pool.len()];
                    let mut order: Vec<usize> =
                        (0..compared).map(|i| (round + i) % compared).collect();
                    if (round / compared) % 2 == 1 {
                        order.reverse();
                    }
                    for which in order {
                        let (wall, cpu) =
                            timed_rounds(calls, callers[which], concurrency, per_round).await;
                        walls[which].push(wall);
                        cpus[which].extend(cpu);
                    }
                }
                for which in compared..callers.len() {
                    for round in 0..rounds / 4 {
                        let calls = &pool[round % pool.len()];
                        let (wall, cpu) =
                            timed_rounds(calls, callers[which], concurrency, per_round).await;
                        walls[which].push(wall);
                        cpus[which].extend(cpu);
                    }
                }
                (walls, cpus)
            });
            let (sdk, bare) = (median(&walls[0]), median(&walls[1]));
            let mut line = format!(
                "{:<46} c={concurrency:>2}: wall sdk {sdk:>5.1} µs/call ({:>6.0}/s), bare {bare:>5.1} µs, sdk/bare {:.3}",
                kind.name(),
                1e6 / sdk,
                sdk / bare,
            );
            if !cpus[0].is_empty() {
                let (sdk_cpu, bare_cpu) = (median(&cpus[0]), median(&cpus[1]));
                line.push_str(&format!(
                    "; CPU sdk {sdk_cpu:>5.1} µs, bare {bare_cpu:>5.1} µs, extra {:>4.1} µs, sdk/bare {:.3}",
                    sdk_cpu - bare_cpu,
                    sdk_cpu / bare_cpu
                ));
            }
            let at = |wanted: Caller| callers.iter().position(|&c| c == wanted);
            if let Some(i) = at(Caller::BareWithTimeout) {
                let timed = median(&walls[i]);
                line.push_str(&format!(
                    "\n{:<46}       with the same request timeout: bare {timed:>5.1} µs, sdk/bare {:.3}",
                    "",
                    sdk / timed
                ));
                if !cpus[i].is_empty() {
                    let (sdk_cpu, timed_cpu) = (median(&cpus[0]), median(&cpus[i]));
                    line.push_str(&format!(
                        "; CPU bare {timed_cpu:>5.1} µs, extra {:>4.1} µs, sdk/bare {:.3}",
                        sdk_cpu - timed_cpu,
                        sdk_cpu / timed_cpu
                    ));
                }
            }
            if let Some(i) = at(Caller::BareSigning) {
                let by_hand = median(&walls[i]);
                line.push_str(&format!(
                    "\n{:<46}       bare signing by hand {by_hand:>5.1} µs, sdk/(bare signing) {:.3}",
                    "",
                    sdk / by_hand
                ));
                uplynk_rate[slot] = 1e6 / sdk;
            }
            println!("{line}");
        }
    }
    let local = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let counted = |kind: AuthKind, caller: Caller| {
        local.block_on(async {
            let calls = Calls::new(kind, addr).await;
            batch(&calls, caller, 1).await;
            let before = allocations();
            for _ in 0..100 {
                batch(&calls, caller, 1).await;
            }
            (allocations() - before) as f64 / 100.0
        })
    };
    println!(
        "heap allocations per call (Uplynk): sdk {:.0}, bare {:.0}, bare signing by hand {:.0}",
        counted(AuthKind::UplynkSigner, Caller::Sdk),
        counted(AuthKind::UplynkSigner, Caller::Bare),
        counted(AuthKind::UplynkSigner, Caller::BareSigning)
    );
    // The counts above call the same server: it stops only now.
    drop(server);
    uplynk_rate
}

fn signing_report() {
    println!(
        "\n== one Uplynk signature on the workers of a multi-thread runtime (2 workers, 20,000 tasks)"
    );
    for (name, us) in signing_in_a_runtime() {
        println!("{name:<40} {us:>6.2} µs");
    }
}

/// Runs the vendor's Python sample (`vendor_sample.py`: `requests` + the `api_auth` recipe) against the same
/// kind of server, when python3 with `requests` is installed, and prints its calls per second next to the
/// SDK's.
fn vendor_sample_report(sdk_rate: [f64; 2]) {
    if sdk_rate.contains(&0.0) {
        return; // Uplynk was not measured (`RATIO_AUTH`): nothing to compare with.
    }
    let rt = runtime();
    let addr = start_server(&rt);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/vendor_sample.py");
    println!(
        "\n== the vendor's Python sample (requests + api_auth recipe) against the same loopback server"
    );
    for (slot, concurrency) in [1usize, 32].into_iter().enumerate() {
        let output = std::process::Command::new("python3")
            .args([
                script,
                &format!("http://{addr}"),
                &concurrency.to_string(),
                "3000",
            ])
            .output();
        match output {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                let rate: f64 = text.trim().parse().unwrap_or(f64::NAN);
                println!(
                    "c={concurrency:>2}: python {rate:>7.0} calls/s, sdk {:>7.0} calls/s: sdk/python {:.1}x",
                    sdk_rate[slot],
                    sdk_rate[slot] / rate
                );
            }
            Ok(o) => println!(
                "c={concurrency:>2}: skipped (python3 failed: {})",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ),
            Err(e) => println!("c={concurrency:>2}: skipped (no python3: {e})"),
        }
    }
    drop(rt);
}

/// `PROFILE=sdk|bare|bare_timeout cargo bench`: Uplynk calls on one thread and nothing else, for a profiler
/// (`valgrind --tool=callgrind`) to compare what each side executes. `PROFILE_CALLS` (default 2,000) sets
/// how many; `PROFILE_AUTH=uplynk|basic|api_key|session` the auth kind. Two runs with different counts give
/// the instructions per call (the difference divided by the difference in calls), setup excluded.
/// `PROFILE_MULTI_THREAD=1`: on the benchmark's multi-thread runtime instead, the server in a process of
/// its own (context switches and CPU time per call under `perf stat`); `PROFILE_CONCURRENCY=32` runs the
/// calls in batches of 32 at once; `PROFILE_SIZES=1` prints the size of one call's future on each side.
/// `PROFILE=split`: each side's polls timed, interleaved ([`poll_split`]).
fn profile(which: &str) {
    let rt = if std::env::var_os("PROFILE_MULTI_THREAD").is_some() {
        runtime()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    let server = std::env::var_os("PROFILE_MULTI_THREAD")
        .is_some()
        .then(ServerProcess::start)
        .flatten();
    let addr = match &server {
        Some(s) => s.addr,
        None => start_server(&rt),
    };
    let kind = AuthKind::from_env("PROFILE_AUTH").unwrap_or(AuthKind::UplynkSigner);
    let count: usize = std::env::var("PROFILE_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    // `PROFILE_CONCURRENCY=32`: the calls in batches of that many at once, as the comparison's c=32.
    let concurrency: usize = std::env::var("PROFILE_CONCURRENCY")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut calls = rt.block_on(Calls::new(kind, addr));
    if kind == AuthKind::UplynkSigner {
        // Under callgrind a second of the clock spans a few dozen calls, not thousands: the SDK would sign
        // again every few calls (a real program signs once a second, as the runtime benchmark above shows).
        // One frozen second counts what every call does, not the dilation.
        calls.sdk = Client::builder()
            .base_url(&calls.base)
            .retry_policy(RetryPolicy::never())
            .auth(UplynkAuth::new(USER_ID, API_KEY).with_clock(FrozenClock(unix_now())))
            .build()
            .expect("client");
    }
    if std::env::var_os("PROFILE_SIZES").is_some() {
        eprintln!(
            "call futures: sdk {} bytes, bare {} bytes, bare with a timeout {} bytes",
            std::mem::size_of_val(&calls.sdk_call()),
            std::mem::size_of_val(&calls.bare_call(false, false)),
            std::mem::size_of_val(&calls.bare_call(false, true)),
        );
    }
    if which == "split" {
        poll_split(&calls, &rt, count);
        return;
    }
    let caller = match which {
        "sdk" => Caller::Sdk,
        "bare_timeout" => Caller::BareWithTimeout,
        _ => Caller::Bare,
    };
    rt.block_on(async {
        if concurrency == 1 {
            for _ in 0..count {
                black_box(calls.call(caller).await);
            }
        } else {
            for _ in 0..count.div_ceil(concurrency) {
                black_box(batch(&calls, caller, concurrency).await);
            }
        }
    });
}

/// `PROFILE=split`: where one call's client time goes, side by side in one process. The SDK, bare reqwest
/// and bare reqwest with the request timeout call in turn (each first in turn); each call's future is
/// timed poll by poll on the thread that runs it. A loopback call is polled twice (it sends, then takes
/// the answer): the medians of the first and the last poll are printed per caller, with the SDK's excess
/// over each bare side. What this adds to instruction counts: the time each instruction costs in a
/// process shaped like a real one (caches cooled by the other threads while the call waits), which
/// callgrind does not see. Run it with `PROFILE_MULTI_THREAD=1` (the server in a process of its own).
fn poll_split(calls: &Calls, rt: &tokio::runtime::Runtime, count: usize) {
    const CALLERS: [Caller; 3] = [Caller::Sdk, Caller::Bare, Caller::BareWithTimeout];
    const WARM_UP: usize = 200;
    let mut first = vec![Vec::with_capacity(count); CALLERS.len()];
    let mut last = vec![Vec::with_capacity(count); CALLERS.len()];
    let mut polls = vec![0usize; CALLERS.len()];
    rt.block_on(async {
        for i in 0..count + WARM_UP {
            for k in 0..CALLERS.len() {
                let which = (i + k) % CALLERS.len();
                let mut times = Vec::with_capacity(4);
                black_box(PollTimes::new(calls.call(CALLERS[which]), &mut times).await);
                if i >= WARM_UP {
                    first[which].push(times[0] as f64 / 1e3);
                    last[which].push(times[times.len() - 1] as f64 / 1e3);
                    polls[which] += times.len();
                }
            }
        }
    });
    let row = |k: usize| (median(&first[k]), median(&last[k]));
    let (sdk_first, sdk_last) = row(0);
    for (k, caller) in CALLERS.iter().enumerate() {
        let (f, l) = row(k);
        let excess = if k == 0 {
            String::new()
        } else {
            format!(
                "; sdk excess: first {:+.2}, last {:+.2}, both {:+.2} µs",
                sdk_first - f,
                sdk_last - l,
                sdk_first + sdk_last - f - l
            )
        };
        println!(
            "{caller:?}: first poll {f:.2} µs, last poll {l:.2} µs, polls per call {:.3}{excess}",
            polls[k] as f64 / count as f64
        );
    }
}

/// A future whose every poll is timed (ns), in order.
struct PollTimes<'t, F> {
    future: std::pin::Pin<Box<F>>,
    times: &'t mut Vec<u64>,
}

impl<'t, F: std::future::Future> PollTimes<'t, F> {
    fn new(future: F, times: &'t mut Vec<u64>) -> Self {
        PollTimes {
            future: Box::pin(future),
            times,
        }
    }
}

impl<F: std::future::Future> std::future::Future for PollTimes<'_, F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let started = Instant::now();
        let polled = self.future.as_mut().poll(cx);
        let took = started.elapsed().as_nanos() as u64;
        self.times.push(took);
        polled
    }
}

/// A clock that always says the same second.
#[derive(Debug)]
struct FrozenClock(u64);

impl group_membership::auth::Clock for FrozenClock {
    fn unix_seconds(&self) -> u64 {
        self.0
    }
}

fn main() {
    if std::env::var_os("SDK_BENCH_SERVER").is_some() {
        serve_until_stdin_closes();
        return;
    }
    if let Ok(which) = std::env::var("PROFILE") {
        profile(&which);
        return;
    }
    if std::env::var_os("RATIO_ONLY").is_none() {
        let mut criterion = Criterion::default().configure_from_args();
        signing_and_codecs(&mut criterion);
        full_calls(&mut criterion);
        reconcile(&mut criterion);
        criterion.final_summary();
    }
    signing_report();
    let rates = ratio_report();
    vendor_sample_report(rates);
}
