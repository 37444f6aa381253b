//! What the service keeps of who followed a link: never a full IP address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The network a client address belongs to, with the host part zeroed: IPv4 to
/// its /24 (`203.0.113.77` → `203.0.113.0`), IPv6 to its /48
/// (`2001:db8:1:2::7` → `2001:db8:1::`). Enough for rough geography and abuse
/// analysis, too coarse to name a household. An IPv4 address carried in IPv6
/// (`::ffff:203.0.113.77`, as dual-stack sockets report IPv4 peers) is treated
/// as the IPv4 address it is, so it keeps no more than a plain IPv4 one would.
pub fn anonymise_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(anonymise_v4(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(anonymise_v4(v4)),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & (u128::MAX << 80))),
        },
    }
}

fn anonymise_v4(ip: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(ip.to_bits() & 0xffff_ff00)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().expect("a test address")
    }

    #[test]
    fn keeps_the_network_and_drops_the_host() {
        assert_eq!(anonymise_ip(ip("203.0.113.77")), ip("203.0.113.0"));
        assert_eq!(anonymise_ip(ip("10.1.2.255")), ip("10.1.2.0"));
        assert_eq!(anonymise_ip(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1::"));
        assert_eq!(anonymise_ip(ip("::1")), ip("::"));
        assert_eq!(anonymise_ip(ip("::ffff:203.0.113.77")), ip("203.0.113.0"));
    }

    proptest! {
        #[test]
        fn ipv4_keeps_exactly_its_24_bit_prefix(bits: u32) {
            let anonymised = anonymise_ip(IpAddr::V4(Ipv4Addr::from(bits)));
            prop_assert_eq!(anonymised, IpAddr::V4(Ipv4Addr::from(bits >> 8 << 8)));
        }

        #[test]
        fn ipv6_keeps_exactly_its_48_bit_prefix(bits: u128) {
            let v6 = Ipv6Addr::from(bits);
            prop_assume!(v6.to_ipv4_mapped().is_none());
            let IpAddr::V6(anonymised) = anonymise_ip(IpAddr::V6(v6)) else {
                return Err(TestCaseError::fail("an IPv6 address stays IPv6"));
            };
            prop_assert_eq!(anonymised.to_bits() >> 80, bits >> 80);
            prop_assert_eq!(anonymised.to_bits() & ((1u128 << 80) - 1), 0);
        }

        #[test]
        fn anonymising_twice_changes_nothing_more(bits: u128, v4: bool) {
            let ip = if v4 {
                IpAddr::V4(Ipv4Addr::from(bits as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(bits))
            };
            let once = anonymise_ip(ip);
            prop_assert_eq!(anonymise_ip(once), once);
        }
    }
}
