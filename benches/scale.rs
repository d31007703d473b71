//! `cargo bench -p group-membership-bench --bench scale`: the tool's work at scale, the way the tool does it
//! (`access::Run` and `DesiredState::export` on a multi-thread runtime), on the sandbox.
//!
//! - **latency**: 10, 100, 1,000 and 10,000 Danube Cloud groups (one connection; half of them need bob
//!   added), every request answered 20 ms late, no throttle; `export`, `plan` (each the median of five
//!   runs) and (up to 1,000 groups) `apply`. Printed: requests sent, wall time, the ideal (the requests
//!   that must follow one another × 20 ms, the others × 20 ms ÷ the requests that can be in flight at
//!   once), their ratio, the CPU time of the whole process (tool and sandbox, where Linux tells it) and the
//!   peak heap over the run (a counting allocator) per group.
//! - **throttle**: 500 groups against the real server's limit (45 requests a minute per user, the sandbox's
//!   sliding window) with the real clock: `export` and `plan` must finish in seconds with no read failing;
//!   printed next to what one read per group would take at that rate.
//!
//! `SCALE_MAX=1000` stops at that many groups (the 10,000-group row takes a few minutes); `SCALE_NO_APPLY=1`
//! leaves out `apply` (for profiling the reads).

#[path = "cpu.rs"]
mod cpu;
use cpu::process_cpu;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use group_membership::Client;
use group_membership::access::{Approval, DesiredState, ExportScope, RemovalBudget, Run};
use group_membership::membership::Service;
use group_membership::sandbox::{Fault, Sandbox};

/// Tracks the heap in use and its peak, over all threads.
struct PeakAllocator;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics.
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

/// Resets the peak to the heap in use now; returns that baseline.
fn reset_peak() -> usize {
    let now = IN_USE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

const LATENCY: Duration = Duration::from_millis(20);
const CONCURRENCY: usize = 8;

/// `n` groups `g00000`…, the even ones holding `admin` only, the odd ones `admin` and `bob`; the file wants
/// `admin` and `bob` in each (so half the groups need bob added).
fn setup(n: usize, throttled: bool) -> (Sandbox, DesiredState) {
    let sandbox = Sandbox::start().expect("sandbox");
    sandbox.add_danube_user("bob");
    for i in 0..n {
        let users: &[&str] = if i % 2 == 0 {
            &["admin"]
        } else {
            &["admin", "bob"]
        };
        assert!(sandbox.add_danube_group(&format!("g{i:05}"), users));
    }
    let groups: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"service": "danube", "connection": "cloud", "group": format!("g{i:05}"), "members": ["admin", "bob"]}))
        .collect();
    // Without a throttle the client keeps no request budget either (0: none), so the figures show the
    // latency alone.
    let budget = if throttled { 45 } else { 0 };
    let file = serde_json::json!({
        "connections": {"cloud": {"service": "danube", "base_url_env": "D", "api_key_env": "K", "requests_per_minute": budget}},
        "groups": groups
    });
    let state = DesiredState::from_json(&file.to_string()).expect("file");
    (sandbox, state)
}

fn clients(sandbox: &Sandbox, state: &DesiredState) -> BTreeMap<String, Client> {
    let builder = sandbox.client_builder(Service::Danube);
    let builder = match state.budget("cloud") {
        Some(budget) => builder.request_budget(budget),
        None => builder,
    };
    [("cloud".to_string(), builder.build().expect("client"))].into()
}

struct Row {
    what: &'static str,
    groups: usize,
    requests: usize,
    wall: Duration,
    ideal: Duration,
    /// CPU time of every thread of the process (tool and sandbox) over the run, where Linux tells it.
    cpu: Option<Duration>,
    peak: usize,
}

impl Row {
    fn print(&self) {
        let ratio = self.wall.as_secs_f64() / self.ideal.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} | {} | {:.3} s | {:.3} s | {:.2} | {} | {:.1} MiB | {:.1} KiB |",
            self.what,
            self.groups,
            self.requests,
            self.wall.as_secs_f64(),
            self.ideal.as_secs_f64(),
            ratio,
            self.cpu
                .map_or("-".to_string(), |c| format!("{:.3} s", c.as_secs_f64())),
            self.peak as f64 / (1024.0 * 1024.0),
            self.peak as f64 / 1024.0 / self.groups as f64,
        );
    }
}

/// The ideal wall time of `requests` requests each `LATENCY` long, `CONCURRENCY` at a time (one group's
/// requests are sequential, so fewer groups than that cannot overlap more). What the tool itself costs
/// (planning, the sandbox answering on the same two cores) is on top, and shows in the ratio.
fn ideal(requests: usize, groups: usize) -> Duration {
    let parallel = CONCURRENCY.min(groups).max(1);
    LATENCY * u32::try_from(requests.div_ceil(parallel)).unwrap_or(u32::MAX)
}

async fn measure<F: std::future::Future<Output = ()>>(
    what: &'static str,
    groups: usize,
    sandbox: &Sandbox,
    work: F,
) -> Row {
    let before = sandbox.requests().len();
    let base = reset_peak();
    let cpu_before = process_cpu();
    let start = Instant::now();
    work.await;
    let wall = start.elapsed();
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let requests = sandbox.requests().len() - before;
    Row {
        what,
        groups,
        requests,
        wall,
        // The listing comes first and alone (export, plan), and apply lists again to plan again at the
        // end; everything else can overlap.
        ideal: {
            let serial = if what == "apply" { 2 } else { 1 };
            LATENCY * serial + ideal(requests.saturating_sub(serial as usize), groups)
        },
        cpu,
        peak: PEAK.load(Ordering::Relaxed).saturating_sub(base),
    }
}

/// Runs that read only (export, plan) are measured `RUNS` times; the row with the median wall time is
/// printed (one run on this shared two-core VM moves by a few milliseconds).
const RUNS: usize = 5;

async fn median<F: std::future::Future<Output = ()>>(
    what: &'static str,
    groups: usize,
    sandbox: &Sandbox,
    work: impl Fn() -> F,
) -> Row {
    let mut rows = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        rows.push(measure(what, groups, sandbox, work()).await);
    }
    rows.sort_by_key(|row| row.wall);
    rows.swap_remove(RUNS / 2)
}

async fn latency(n: usize) -> Vec<Row> {
    let (sandbox, state) = setup(n, false);
    let clients = clients(&sandbox, &state);
    for method in [
        group_membership::http::Method::GET,
        group_membership::http::Method::PUT,
    ] {
        sandbox
            .inject_fault(method, "/api", Fault::Delay(LATENCY), u32::MAX)
            .expect("fault");
    }
    let mut rows = Vec::new();
    rows.push(
        median("export", n, &sandbox, || async {
            let exported = state
                .export(&clients, ExportScope::ListedGroups, &|_| {})
                .await
                .expect("export");
            assert_eq!(exported.groups.len(), n);
        })
        .await,
    );
    rows.push(
        median("plan", n, &sandbox, || async {
            let report = Run::new(&state, &clients)
                .expect("run")
                .concurrency(CONCURRENCY)
                .plan()
                .await;
            assert_eq!(report.summary().pending, n / 2, "{:?}", report.summary());
        })
        .await,
    );
    if n <= 1_000 && std::env::var_os("SCALE_NO_APPLY").is_none() {
        rows.push(
            measure("apply", n, &sandbox, async {
                let report = Run::new(&state, &clients)
                    .expect("run")
                    .concurrency(CONCURRENCY)
                    .removal_budget(RemovalBudget::unlimited())
                    .apply(Approval::NoRemovals)
                    .await
                    .expect("apply");
                assert_eq!(report.exit_code(), 0, "{:?}", report.summary());
            })
            .await,
        );
    }
    rows
}

async fn throttled(n: usize) {
    let (sandbox, state) = setup(n, true);
    sandbox.throttle_danube(Some(Sandbox::DANUBE_RATE_PER_MINUTE));
    let clients = clients(&sandbox, &state);
    let start = Instant::now();
    let exported = state
        .export(&clients, ExportScope::ListedGroups, &|_| {})
        .await
        .expect("export under the throttle");
    let export = start.elapsed();
    let start = Instant::now();
    let report = Run::new(&state, &clients)
        .expect("run")
        .concurrency(CONCURRENCY)
        .plan()
        .await;
    let plan = start.elapsed();
    let failed = report.summary().failed;
    let requests = sandbox.requests().len();
    let per_group_minutes = (2 * n) as f64 / f64::from(Sandbox::DANUBE_RATE_PER_MINUTE);
    println!(
        "\nthrottle (45 requests/min per user, real clock): {n} groups: export {:.2} s ({} groups), plan {:.2} s, \
         {requests} requests in all, {failed} group(s) failed; one read per group would be {} requests, \
         {per_group_minutes:.1} minutes at that rate",
        export.as_secs_f64(),
        exported.groups.len(),
        plan.as_secs_f64(),
        2 * n,
    );
    assert_eq!(failed, 0, "no read fails for throttling");
}

fn main() {
    let max: usize = std::env::var("SCALE_MAX")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "latency {} ms per request, {CONCURRENCY} groups at a time, Danube Cloud groups on one connection \
         (half need a member added)\n",
        LATENCY.as_millis()
    );
    println!(
        "| run | groups | requests | wall | ideal | wall / ideal | CPU | peak heap | peak heap per group |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in [10, 100, 1_000, 10_000].into_iter().filter(|n| *n <= max) {
        for row in rt.block_on(latency(n)) {
            row.print();
        }
    }
    if std::env::var_os("SCALE_NO_APPLY").is_none() {
        rt.block_on(throttled(500));
    }
}
