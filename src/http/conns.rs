//! The open HTTP connections, watched from outside: one sweeper task enforces
//! the header-read timeout and one broadcast asks every connection to shut
//! down gracefully.
//!
//! hyper can do both itself (`header_read_timeout`, and a shutdown future
//! polled beside every connection), but at a price paid on every request:
//! a timer entry registered and dropped per request head, and two mutexes
//! shared by all connections taken on every wake-up. Here a request costs a
//! few atomic operations on its own connection's cache line, and the timeout
//! is checked by the sweeper every eighth of its length (50 ms to 1 s), on a
//! clock of its ticks: a connection is never closed early, and at most two
//! ticks late (2 s at the default 10 s).
//!
//! The timeout means what hyper's meant: a connection that has no request in
//! its handler and has not completed a request head for `header_timeout`
//! (since it opened, or since its last response) is closed, idle keep-alive
//! connections included.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// What the watcher wants of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Nothing: serve on.
    Serve,
    /// Finish the request in flight, then close (shutdown).
    Finish,
    /// Close now: no request head within the header timeout.
    Close,
}

/// One connection as the watcher sees it.
#[derive(Default)]
pub struct Watch {
    waker: AtomicWaker,
    finish: AtomicBool,
    close: AtomicBool,
    /// Requests inside the handler now (HTTP/1: 0 or 1).
    busy: AtomicU32,
    /// The watcher's clock when the connection opened or last answered a request.
    idle_since: AtomicU64,
}

impl Watch {
    /// What is asked of the connection; registers the task to be woken when that changes.
    pub fn ask(&self, cx: &Context<'_>) -> Ask {
        self.waker.register(cx.waker());
        self.asked()
    }

    /// What is asked of the connection, without registering a waker.
    fn asked(&self) -> Ask {
        if self.close.load(Ordering::Acquire) {
            Ask::Close
        } else if self.finish.load(Ordering::Acquire) {
            Ask::Finish
        } else {
            Ask::Serve
        }
    }

    fn tell(&self, flag: &AtomicBool) {
        flag.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// Marks a request in the handler until dropped.
pub struct Busy<'a> {
    watch: &'a Watch,
    conns: &'a Conns,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.conns.answered(self.watch);
        self.watch.busy.fetch_sub(1, Ordering::Release);
    }
}

/// Every open connection.
pub struct Conns {
    /// Milliseconds since `start`, as of the sweeper's last tick.
    clock: AtomicU64,
    start: Instant,
    /// Zero: no header timeout.
    header_timeout: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    stopping: bool,
    next_id: u64,
    open: HashMap<u64, Arc<Watch>>,
}

/// A connection's place in [`Conns`], given up when dropped.
pub struct Registered<'a> {
    conns: &'a Conns,
    id: u64,
    /// The connection's watch.
    pub watch: Arc<Watch>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.conns.lock().open.remove(&self.id);
    }
}

impl Conns {
    /// No connections yet.
    pub fn new(header_timeout: Duration) -> Conns {
        Conns { clock: AtomicU64::new(0), start: Instant::now(), header_timeout, state: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The header timeout; `None` when turned off.
    pub fn header_timeout(&self) -> Option<Duration> {
        (!self.header_timeout.is_zero()).then_some(self.header_timeout)
    }

    /// Adds a connection; told to finish at once when shutdown has begun.
    pub fn register(&self) -> Registered<'_> {
        let watch = Arc::new(Watch::default());
        watch.idle_since.store(self.clock.load(Ordering::Relaxed), Ordering::Relaxed);
        let mut state = self.lock();
        if state.stopping {
            watch.tell(&watch.finish);
        }
        let id = state.next_id;
        state.next_id += 1;
        state.open.insert(id, watch.clone());
        Registered { conns: self, id, watch }
    }

    /// Marks a request of `watch` as in the handler.
    pub fn busy<'a>(&'a self, watch: &'a Watch) -> Busy<'a> {
        watch.busy.fetch_add(1, Ordering::Acquire);
        Busy { watch, conns: self }
    }

    /// Notes that `watch` answered a request it did not have to wait for.
    pub fn answered(&self, watch: &Watch) {
        watch.idle_since.store(self.clock.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Asks every connection, open or yet to register, to finish and close.
    pub fn shut_down(&self) {
        let mut state = self.lock();
        state.stopping = true;
        for watch in state.open.values() {
            watch.tell(&watch.finish);
        }
    }

    /// Open connections (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Advances the clock and closes the connections past the header timeout; runs until dropped.
    pub async fn sweep(&self) {
        if self.header_timeout.is_zero() {
            return std::future::pending().await;
        }
        let period = self.period();
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sweep_at(self.start.elapsed().as_millis() as u64);
        }
    }

    /// How often the sweeper ticks.
    fn period(&self) -> Duration {
        (self.header_timeout / 8).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    fn sweep_at(&self, now_ms: u64) {
        self.clock.store(now_ms, Ordering::Relaxed);
        if self.header_timeout.is_zero() {
            return;
        }
        // `idle_since` is the clock of the last tick before the answer, up to one
        // period early: waiting one period more means never closing early.
        let timeout_ms = (self.header_timeout + self.period()).as_millis() as u64;
        for watch in self.lock().open.values() {
            let idle = watch.busy.load(Ordering::Acquire) == 0
                && now_ms.saturating_sub(watch.idle_since.load(Ordering::Relaxed)) >= timeout_ms;
            if idle {
                watch.tell(&watch.close);
            }
        }
    }
}

/// Serves `conn` until it ends, as its watch asks: a graceful shutdown on `Finish`
/// (`shutdown` is the connection's own, e.g. hyper's `graceful_shutdown`), dropped on
/// `Close`. Returns `None` when closed for the header timeout.
pub async fn watched<F: Future>(
    watch: &Watch,
    mut conn: Pin<&mut F>,
    mut shutdown: impl FnMut(Pin<&mut F>),
) -> Option<F::Output> {
    let mut finishing = false;
    // The task's waker, as last registered: a connection's task keeps one waker, so
    // registering it again on every poll (two atomic swaps) is skipped.
    let mut registered: Option<std::task::Waker> = None;
    std::future::poll_fn(|cx| {
        let ask = match &registered {
            Some(waker) if waker.will_wake(cx.waker()) => watch.asked(),
            _ => {
                registered = Some(cx.waker().clone());
                watch.ask(cx)
            }
        };
        match ask {
            Ask::Close => return Poll::Ready(None),
            Ask::Finish if !finishing => {
                finishing = true;
                shutdown(conn.as_mut());
            }
            _ => {}
        }
        conn.as_mut().poll(cx).map(Some)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_connection_is_closed_after_the_timeout_and_a_busy_one_is_not() {
        let conns = Conns::new(Duration::from_secs(10));
        let idle = conns.register();
        let busy = conns.register();
        let cx = Context::from_waker(std::task::Waker::noop());
        let _in_handler = conns.busy(&busy.watch);
        // Registered at clock 0, which may have been up to a tick (1 s) before.
        conns.sweep_at(10_999);
        assert_eq!(idle.watch.ask(&cx), Ask::Serve, "not yet: never early");
        conns.sweep_at(11_000);
        assert_eq!(idle.watch.ask(&cx), Ask::Close);
        assert_eq!(busy.watch.ask(&cx), Ask::Serve, "a request in the handler holds the timeout off");
    }

    #[test]
    fn the_timeout_counts_from_the_last_answer() {
        let conns = Conns::new(Duration::from_secs(10));
        let conn = conns.register();
        let cx = Context::from_waker(std::task::Waker::noop());
        conns.sweep_at(8_000);
        drop(conns.busy(&conn.watch));
        conns.sweep_at(18_000);
        assert_eq!(conn.watch.ask(&cx), Ask::Serve, "answered after the 8 s tick");
        conns.sweep_at(19_000);
        assert_eq!(conn.watch.ask(&cx), Ask::Close);
    }

    #[test]
    fn shutdown_reaches_open_connections_and_later_ones() {
        let conns = Conns::new(Duration::ZERO);
        let open = conns.register();
        let cx = Context::from_waker(std::task::Waker::noop());
        conns.shut_down();
        assert_eq!(open.watch.ask(&cx), Ask::Finish);
        let late = conns.register();
        assert_eq!(late.watch.ask(&cx), Ask::Finish, "registered after shutdown began");
        conns.sweep_at(u64::MAX / 2);
        assert_eq!(open.watch.ask(&cx), Ask::Finish, "no timeout configured");
        drop(late);
        assert_eq!(conns.len(), 1, "a dropped registration leaves");
    }

    #[tokio::test]
    async fn a_told_connection_is_woken() {
        let conns = Arc::new(Conns::new(Duration::ZERO));
        let finished = Arc::new(AtomicBool::new(false));
        let task = {
            let (conns, finished) = (conns.clone(), finished.clone());
            tokio::spawn(async move {
                let conn = conns.register();
                // A connection that never ends by itself: only a wake-up from
                // `shut_down` can get the shutdown closure to run.
                let never = std::pin::pin!(std::future::pending::<()>());
                watched(&conn.watch, never, |_| finished.store(true, Ordering::SeqCst)).await
            })
        };
        while conns.len() == 0 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!finished.load(Ordering::SeqCst));
        conns.shut_down();
        for _ in 0..100 {
            if finished.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(finished.load(Ordering::SeqCst), "the connection was woken and told to finish");
        task.abort();
    }
}
