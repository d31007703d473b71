//! `cargo bench`: what the SDK costs.
//!
//! - one Uplynk signature (zlib + base64 + HMAC);
//! - building and decoding each service's typical request and response;
//! - a full call through the SDK against a loopback HTTP server versus the same call with bare reqwest (with
//!   no timeout, and with the same per-request timeout the SDK always arms), at concurrency 1 and 32 (criterion's figures, then a ratio summary printed at the end; `RATIO_ONLY=1`
//!   prints only the summary);
//! - reconciling 1,000 members across two groups on the sandbox.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use group_membership::auth::BasicAuth;
use group_membership::membership::{
    Desired, Guards, Reconcile, UplynkAllowedOwners, reconcile_all,
};
use group_membership::sandbox::Sandbox;
use group_membership::uplynk::{AllowedOwner, AllowedOwnersUpdate, Collection, UplynkAuth};
use group_membership::{Client, RetryPolicy};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::hint::black_box;

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
const OWNERS: &str = include_str!("../tests/fixtures/uplynk/allowed_owners.json");
const ENTUITY_CHANGE: &str = include_str!("../tests/fixtures/entuity/put_members_response.json");
const TO_USERS: &str = r#"{"response":[{"company":null,"email":"admin@example.test","fullName":"Admin User","id":2,"role":"admin","username":"admin"}]}"#;
const DANUBE_GROUP: &str = r#"{"status":"SUCCESS","result":{"alias":"Testers User Group","users":["admin","tester@erigones.com"],"name":"testers","permissions":["admin","image_admin"]},"task_id":"1e1d1-6f75849b-f4e5-4a88-9d7d"}"#;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A loopback HTTP/1.1 server that answers every request with the allowed-owners sample.
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
                let service = service_fn(|_req| async {
                    let mut r =
                        hyper::Response::new(Full::new(Bytes::from_static(OWNERS.as_bytes())));
                    r.headers_mut()
                        .insert("content-type", "application/json".parse().expect("header"));
                    Ok::<_, Infallible>(r)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn signing_and_codecs(c: &mut Criterion) {
    let auth = UplynkAuth::new(
        "1234567890abcdefghijklmnopqrstu",
        "1234567890abcdefghijklmnopqrstuvwxyz1234",
    );
    c.bench_function("uplynk/sign (zlib+base64+hmac)", |b| {
        b.iter(|| black_box(auth.sign_at(black_box(1_700_000_000))))
    });

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

/// Who makes the call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// Through the SDK (which always arms its request timeout, 30 s by default).
    Sdk,
    /// Bare reqwest, no timeout at all.
    Bare,
    /// Bare reqwest with the same 30 s per-request timeout the SDK arms.
    BareWithTimeout,
}

struct Pair {
    sdk: Client,
    bare: reqwest::Client,
    url: String,
}

impl Pair {
    fn new(addr: SocketAddr) -> Self {
        let sdk = Client::builder()
            .base_url(format!("http://{addr}"))
            .auth(BasicAuth::new("bench", "bench"))
            .retry_policy(RetryPolicy::never())
            .build()
            .expect("client");
        let bare = reqwest::Client::builder().build().expect("reqwest");
        Pair {
            sdk,
            bare,
            url: format!("http://{addr}/api/v4/failover-groups/{GROUP}/allowed-owners"),
        }
    }
    async fn sdk_call(&self) -> usize {
        let owners = self
            .sdk
            .uplynk()
            .failover_groups()
            .allowed_owners(GROUP)
            .await
            .expect("sdk call");
        owners.items.len()
    }
    async fn bare_call(&self, timeout: Option<Duration>) -> usize {
        let mut request = self
            .bare
            .get(&self.url)
            .header("authorization", "Basic YmVuY2g6YmVuY2g=")
            .header("accept", "application/json");
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let body = request
            .send()
            .await
            .expect("bare call")
            .bytes()
            .await
            .expect("body");
        serde_json::from_slice::<Collection<AllowedOwner>>(&body)
            .expect("decode")
            .items
            .len()
    }
}

async fn batch(pair: &Pair, caller: Caller, n: usize) -> usize {
    let calls = (0..n).map(|_| async {
        match caller {
            Caller::Sdk => pair.sdk_call().await,
            Caller::Bare => pair.bare_call(None).await,
            Caller::BareWithTimeout => {
                pair.bare_call(Some(group_membership::DEFAULT_REQUEST_TIMEOUT))
                    .await
            }
        }
    });
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .sum()
}

fn full_calls(c: &mut Criterion) {
    let rt = runtime();
    let addr = start_server(&rt);
    let pair = Pair::new(addr);
    let mut g = c.benchmark_group("loopback call");
    for concurrency in [1usize, 32] {
        g.throughput(Throughput::Elements(concurrency as u64));
        for (name, caller) in [
            ("sdk", Caller::Sdk),
            ("bare reqwest", Caller::Bare),
            ("bare reqwest + timeout", Caller::BareWithTimeout),
        ] {
            g.bench_with_input(
                BenchmarkId::new(name, concurrency),
                &concurrency,
                |b, &n| b.to_async(&rt).iter(|| batch(&pair, caller, n)),
            );
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
    let guards = Guards {
        allow_empty: false,
        max_removals: None,
    };
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

/// Interleaved rounds of SDK and bare calls, so drift in the machine affects both alike; prints ratios.
fn ratio_report() {
    let rt = runtime();
    let addr = start_server(&rt);
    let pair = Pair::new(addr);
    println!(
        "\n== SDK versus bare reqwest, same loopback server, same typed decode (interleaved rounds)"
    );
    // Allocations of one call on a current-thread runtime (so every allocation lands on this thread).
    let local = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let counted = |caller: Caller| {
        local.block_on(async {
            let pair = Pair::new(addr);
            batch(&pair, caller, 1).await; // warm the pool
            let before = allocations();
            for _ in 0..100 {
                batch(&pair, caller, 1).await;
            }
            (allocations() - before) as f64 / 100.0
        })
    };
    println!(
        "heap allocations per call: sdk {:.0}, bare {:.0}, bare + timeout {:.0}",
        counted(Caller::Sdk),
        counted(Caller::Bare),
        counted(Caller::BareWithTimeout)
    );
    let callers = [Caller::Sdk, Caller::Bare, Caller::BareWithTimeout];
    for (concurrency, batches) in [(1usize, 3_000usize), (32, 200)] {
        rt.block_on(async {
            for _ in 0..50 {
                for caller in callers {
                    batch(&pair, caller, concurrency).await;
                }
            }
            let mut spent = [Duration::ZERO; 3];
            for round in 0..batches {
                // Rotate which caller goes first in each round.
                for i in 0..3 {
                    let which = (round + i) % 3;
                    let t = Instant::now();
                    black_box(batch(&pair, callers[which], concurrency).await);
                    spent[which] += t.elapsed();
                }
            }
            let calls = (batches * concurrency) as f64;
            let per = |d: Duration| d.as_secs_f64() * 1e6 / calls;
            let [sdk, bare, bare_timeout] = spent;
            println!(
                "concurrency {concurrency:>2}: sdk {:>6.1} µs/call ({:>6.0}/s), bare {:>6.1} µs/call ({:>6.0}/s), bare + timeout {:>6.1} µs/call; sdk/bare {:.3}, sdk/(bare + timeout) {:.3}",
                per(sdk),
                calls / sdk.as_secs_f64(),
                per(bare),
                calls / bare.as_secs_f64(),
                per(bare_timeout),
                sdk.as_secs_f64() / bare.as_secs_f64(),
                sdk.as_secs_f64() / bare_timeout.as_secs_f64(),
            );
        });
    }
}

fn main() {
    // `RATIO_ONLY=1 cargo bench` prints just the SDK-versus-reqwest summary.
    if std::env::var_os("RATIO_ONLY").is_some() {
        ratio_report();
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    signing_and_codecs(&mut criterion);
    full_calls(&mut criterion);
    reconcile(&mut criterion);
    criterion.final_summary();
    ratio_report();
}
