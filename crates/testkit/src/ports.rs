//! Local ports for the servers a test starts.

use std::net::TcpListener;

/// `N` distinct ports on 127.0.0.1 that nobody listens on now.
///
/// Every port stays bound until all `N` are picked: the kernel hands a port
/// just released to the next bind, so ports picked one at a time can repeat
/// (a chaos run once gave replica-2 and Prometheus the same one). Another
/// process may still take a port before the server binds it; callers that
/// can retry with fresh ports do.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] = std::array::from_fn(|_| {
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("finding a free port: {e}"))
    });
    listeners.map(|listener| {
        listener.local_addr().unwrap_or_else(|e| panic!("reading a bound port: {e}")).port()
    })
}

/// One port on 127.0.0.1 that nobody listens on now (see [`free_ports`]).
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

#[cfg(test)]
mod tests {
    use super::free_ports;

    #[test]
    fn ports_picked_together_are_distinct() {
        let mut ports = free_ports::<64>().to_vec();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 64, "{ports:?}");
    }
}
