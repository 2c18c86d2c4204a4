//! Where a notification may go: an `http` or `https` URL whose host is a public address.
//!
//! A notify URL is chosen by the merchant, so without a check it could make the wallet POST to its
//! own network: the cloud metadata service (`169.254.169.254`), a database on loopback, an admin
//! page on a private address. The URL is checked when a payment names it (a bad one is refused with
//! `PARAM_ILLEGAL`) and again when each notification is sent: names are resolved by
//! [`CheckedResolver`], which refuses a name if any of its addresses is not public, and the
//! connection goes to the addresses it checked, so a name that resolves to a public address at pay
//! time and to an internal one later (DNS rebinding) is still refused. Redirects are never
//! followed. An operator who runs merchants on a private network (or the demo and the tests, on
//! loopback) sets `notifier.allow_private_targets`.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest notify URL accepted.
pub const NOTIFY_URL_MAX_CHARS: usize = 2048;

/// True for an address on the public internet; false for loopback, private, link-local, shared
/// (carrier-grade NAT), unspecified, broadcast, multicast, documentation and other reserved ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, embeds an IPv4 address
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

/// Checks a notify URL before it is stored or used: absolute `http` or `https`, a host, no user
/// name or password, and, unless `allow_private`, a host that is not `localhost` nor a non-public
/// address literal. A name is checked again after resolution, when the notification is sent.
pub fn check_notify_url(url: &str, allow_private: bool) -> Result<Url, String> {
    if url.chars().count() > NOTIFY_URL_MAX_CHARS {
        return Err(format!(
            "the notify URL is longer than {NOTIFY_URL_MAX_CHARS} characters"
        ));
    }
    let u = Url::parse(url).map_err(|e| format!("the notify URL is not an absolute URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!(
            "the notify URL must be http or https, not {}",
            u.scheme()
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("the notify URL must not carry a user name or password".into());
    }
    let host = match u.host_str() {
        Some(h) if !h.is_empty() => h.to_owned(),
        _ => return Err("the notify URL has no host".into()),
    };
    if allow_private {
        return Ok(u);
    }
    let refused = |what: String| {
        Err(format!(
            "the notify URL's host is {what}; notifications go to public addresses only"
        ))
    };
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) if !is_public(ip) => refused(format!("{ip}, not a public address")),
        Ok(_) => Ok(u),
        Err(_) if is_local_name(&host) => refused(format!("{host:?}, a local name")),
        Err(_) => Ok(u),
    }
}

/// Names that always mean this machine or its own network.
fn is_local_name(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    n == "localhost" || n.ends_with(".localhost") || n.ends_with(".local") || n.ends_with(".internal")
}

/// A DNS resolver for the notifier that refuses a name if any address it resolves to is not
/// public (unless private targets are allowed), so the connection only ever goes to checked
/// addresses.
#[derive(Debug, Clone)]
pub struct CheckedResolver {
    pub allow_private: bool,
}

/// The refusal of a name that resolves to a non-public address.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves to {ip}, not a public address; notifications go to public addresses only")]
pub struct PrivateTarget {
    name: String,
    ip: IpAddr,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            // The port is replaced by the URL's own when connecting.
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                    return Err(Box::new(PrivateTarget {
                        name: host,
                        ip: bad.ip(),
                    }) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn notify_urls_are_http_to_public_hosts() {
        assert!(check_notify_url("https://merchant.example/notify?x=1", false).is_ok());
        assert!(check_notify_url("http://93.184.216.34:8080/n", false).is_ok());
        for bad in [
            "file:///etc/passwd",
            "gopher://merchant.example/",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9090/notify",
            "http://[::1]/n",
            "http://localhost/n",
            "http://api.localhost/n",
            "http://user:pw@merchant.example/n",
            "notify",
        ] {
            assert!(check_notify_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_notify_url("http://127.0.0.1:9090/notify", true).is_ok());
        assert!(check_notify_url("file:///etc/passwd", true).is_err());
    }
}
