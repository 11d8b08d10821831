//! How harmy's memory goes back to the system, so that its RSS follows the data
//! it holds rather than the highest it ever held (the budgets of
//! docs/SECURITY.md are read as RSS; the soak of docs/BENCHMARKS.md holds it to
//! +10 % over an hour). glibc's allocator keeps freed memory for reuse in three
//! ways, each turned down here:
//!
//! * its mmap threshold grows to the largest block freed (up to 32 MiB), after
//!   which blocks that size come from the heap and stay when freed: a few large
//!   INIT_STATEs or KV bodies would hold their memory for good. A fixed
//!   threshold turns that off: blocks above 256 KiB are mapped and unmapped one
//!   by one;
//! * it gives a thread under contention an arena of its own, up to eight per
//!   core, and each keeps its own free memory: tokio's workers and the blocking
//!   threads of database commits spread a peak over several. harmy's threads
//!   are about as many as the cores, so one arena per core is kept;
//! * it gives back only the free memory at the top of each heap: what is freed
//!   below a block still in use stays resident. [`trim_periodically`] asks it
//!   every ten seconds to return every free page (`malloc_trim`): a few
//!   milliseconds (4 ms to return 64 MiB on the benchmark machine, less when
//!   little was freed), on a blocking thread.
//!
//! The figures (an hour of everything at once, without these settings and with
//! them) are in docs/BENCHMARKS.md, "Soak": the hour ends 20 MiB lower with
//! them, and no longer grows; what still swings from minute to minute is the
//! queue of clients that stop reading, which the server holds (bounded by
//! `socket.max_queue_bytes`) until `socket.write_timeout` drops them.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often free pages go back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Sets the allocator's parameters. Call it first thing in `main`, before any
/// thread starts (glibc reads them as it creates arenas).
pub fn configure_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: mallopt only changes allocator parameters; the caller runs it
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
            libc::mallopt(libc::M_ARENA_MAX, cores.clamp(1, 64) as libc::c_int);
        }
    }
}

/// Gives free pages back to the system every [`TRIM_EVERY`] until `stop`.
pub async fn trim_periodically(stop: CancellationToken) -> anyhow::Result<()> {
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + TRIM_EVERY, TRIM_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = every.tick() => {
                // It locks each arena in turn while it walks its free lists: on a
                // blocking thread, so that no worker waits on it with requests queued.
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    }
}

/// Returns every whole free page of every arena to the system (also called at
/// once by whoever just freed a flood's worth of memory, e.g. the rate limiter's sweep).
pub(crate) fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it takes the allocator's locks itself.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_trim_returns_pages_freed_below_a_block_still_in_use() {
        // 64 MiB in blocks under the mmap threshold (heap memory), then every one
        // freed but the last: the heap cannot shrink past it, so the pages stay
        // resident until a trim.
        let blocks: Vec<Vec<u8>> = (0..1024).map(|i| vec![i as u8; 64 * 1024]).collect();
        let mut blocks = blocks.into_iter();
        let last = blocks.next_back().unwrap();
        drop(blocks);
        let before = rss_kib();
        trim();
        let after = rss_kib();
        assert!(before > after + 32 * 1024, "RSS {before} KiB before the trim, {after} KiB after");
        assert_eq!(last[0], 255);
    }

    #[tokio::test(start_paused = true)]
    async fn the_trimmer_stops_when_told() {
        let stop = CancellationToken::new();
        let trimmer = tokio::spawn(trim_periodically(stop.clone()));
        tokio::time::sleep(TRIM_EVERY * 3).await;
        assert!(!trimmer.is_finished());
        stop.cancel();
        trimmer.await.unwrap().unwrap();
    }
}
