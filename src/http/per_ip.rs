//! What one client address holds open at once (docs/SECURITY.md): HTTP
//! connections (`http.max_connections_per_ip`, counted by peer address) and
//! WebSocket sessions (`socket.max_per_ip`, counted by the rate limiter's client
//! address), so that one address cannot hold every slot. Addresses are
//! bucketed as the rate limiter buckets them (IPv6 by its /64). A slot is taken
//! before the connection is served (or the upgrade answered) and given back when
//! its [`Slot`] drops, however it ends (close, error, panic, or an upgrade that
//! never completed).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// What each client address holds open.
pub struct PerIp {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection or socket of an address; dropping it frees the slot.
pub struct Slot {
    owner: Arc<PerIp>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.owner.lock();
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
        if open.capacity() > 64 && open.capacity() > 4 * open.len() {
            let len = open.len();
            open.shrink_to(len * 2);
        }
    }
}

impl PerIp {
    /// At most `max` per address; 0 means no limit.
    pub fn new(max: usize) -> Arc<PerIp> {
        Arc::new(PerIp { max, open: Mutex::default() })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for `client` (already bucketed), or `None` when the address has all its slots.
    pub fn take(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let mut open = self.lock();
        let count = open.entry(client).or_default();
        if self.max != 0 && *count >= self.max {
            if *count == 0 {
                open.remove(&client);
            }
            return None;
        }
        *count += 1;
        Some(Slot { owner: self.clone(), client })
    }

    /// Slots `client` holds.
    #[cfg(test)]
    pub fn open(&self, client: IpAddr) -> usize {
        self.lock().get(&client).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 2));

    #[test]
    fn an_address_gets_max_slots_and_one_more_after_a_close() {
        let per_ip = PerIp::new(2);
        let first = per_ip.take(A).unwrap();
        let _second = per_ip.take(A).unwrap();
        assert!(per_ip.take(A).is_none());
        assert!(per_ip.take(B).is_some(), "other addresses are counted apart");
        drop(first);
        assert_eq!(per_ip.open(A), 1);
        assert!(per_ip.take(A).is_some());
    }

    #[test]
    fn a_freed_address_is_forgotten() {
        let per_ip = PerIp::new(1);
        drop(per_ip.take(A).unwrap());
        assert!(per_ip.lock().is_empty());
    }

    #[test]
    fn zero_is_no_limit() {
        let per_ip = PerIp::new(0);
        let slots: Vec<Slot> = (0..100).filter_map(|_| per_ip.take(A)).collect();
        assert_eq!(slots.len(), 100);
    }
}
