//! The CPU time of this process, for the benchmarks' CPU columns (included by `sdk.rs` and `scale.rs`).

use std::time::Duration;

/// CPU time of every live thread of this process so far (Linux: `/proc/self/task/*/schedstat`, in ns);
/// `None` where the system does not tell it.
pub fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
