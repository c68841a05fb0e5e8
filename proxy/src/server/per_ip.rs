//! Open connections per client IP, capped (`limits.max_connections_per_ip`): one address cannot
//! hold every connection slot of a listener (slowloris from one host).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The counts of one listener.
#[derive(Debug, Default)]
pub struct PerIp(Mutex<HashMap<IpAddr, usize>>);

/// A held connection; dropping it frees the slot.
#[derive(Debug)]
pub struct Held {
    counts: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// A slot for `ip`, unless it already holds `cap` (0: no cap).
    pub fn hold(counts: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Held> {
        let mut map = counts.0.lock().ok()?;
        let count = map.entry(ip).or_insert(0);
        if cap != 0 && *count >= cap {
            return None;
        }
        *count += 1;
        Some(Held {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut map) = self.counts.0.lock()
            && let Some(count) = map.get_mut(&self.ip)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_and_frees_on_drop() {
        let counts = Arc::new(PerIp::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = PerIp::hold(&counts, a, 2).unwrap();
        let _second = PerIp::hold(&counts, a, 2).unwrap();
        assert!(PerIp::hold(&counts, a, 2).is_none());
        assert!(PerIp::hold(&counts, b, 2).is_some());
        drop(first);
        assert!(PerIp::hold(&counts, a, 2).is_some());
        assert!(PerIp::hold(&counts, a, 0).is_some(), "0 is no cap");
    }
}
