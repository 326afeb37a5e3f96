//! What a VPN profile's own `[ipv4]` and `[ipv6]` groups add to what the
//! server pushed, as NetworkManager applies them to a VPN connection:
//! `routeN` added (with their metric, else `route-metric`), `dns` and
//! `dns-search` before the pushed ones, `ignore-auto-routes` and
//! `ignore-auto-dns` dropping the pushed routes and DNS of their family,
//! `never-default` leaving out the default route through the tunnel. In
//! an isolated namespace the tunnel stays the only way out: with
//! never-default there is simply no default route there.

use netnsd_api::{Error, Family};

use super::VpnConfig;
use crate::settings::Profile;
use crate::settings::ipgroup::IpGroup;

/// A profile's `[ipv4]` and `[ipv6]` groups, read (and checked) once, at
/// activation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileIp {
    pub v4: IpGroup,
    pub v6: IpGroup,
}

impl ProfileIp {
    /// Reads the groups; an error names the key.
    pub fn of(p: &Profile) -> Result<ProfileIp, Error> {
        Ok(ProfileIp {
            v4: IpGroup::of(p, Family::V4)?,
            v6: IpGroup::of(p, Family::V6)?,
        })
    }

    fn group(&self, f: Family) -> &IpGroup {
        match f {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    /// The pushed configuration with the profile's keys applied.
    pub fn apply(&self, mut c: VpnConfig) -> VpnConfig {
        c.routes
            .retain(|(dst, _)| !self.group(dst.family()).ignore_auto_routes);
        c.dns
            .retain(|ip| !self.group(Family::of(ip)).ignore_auto_dns);
        if self.v4.ignore_auto_dns || self.v6.ignore_auto_dns {
            c.domains.clear();
        }
        let mut dns: Vec<_> = self.v4.dns.iter().chain(&self.v6.dns).copied().collect();
        for d in c.dns {
            if !dns.contains(&d) {
                dns.push(d);
            }
        }
        c.dns = dns;
        let mut domains: Vec<String> = Vec::new();
        for d in self
            .v4
            .search
            .iter()
            .chain(&self.v6.search)
            .chain(&c.domains)
        {
            if !domains.contains(d) {
                domains.push(d.clone());
            }
        }
        c.domains = domains;
        c.never_default4 = self.v4.never_default;
        c.never_default6 = self.v6.never_default;
        c.metric4 = self.v4.route_metric;
        c.metric6 = self.v6.route_metric;
        for r in self.v4.routes.iter().chain(&self.v6.routes) {
            if !c.profile_routes.iter().any(|(d, _)| *d == r.destination) {
                c.profile_routes.push((r.destination, r.metric));
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(ipv4: &str, ipv6: &str) -> Profile {
        Profile::from_keyfile(&format!(
            "[connection]\nid=x\nuuid=2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11\ntype=vpn\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\nremote=h\n\n\
             [ipv4]\n{ipv4}\n\n[ipv6]\n{ipv6}\n"
        ))
        .unwrap()
    }

    fn pushed() -> VpnConfig {
        VpnConfig {
            tundev: "nsvpn0".into(),
            addr4: Some("10.8.0.2/24".parse().unwrap()),
            routes: vec![
                ("10.99.0.0/24".parse().unwrap(), None),
                ("fd99::/64".parse().unwrap(), None),
            ],
            dns: vec!["10.99.0.53".parse().unwrap()],
            domains: vec!["corp.test".into()],
            ..Default::default()
        }
    }

    #[test]
    fn nothing_set_changes_nothing() {
        let p = ProfileIp::of(&profile("method=auto", "method=auto")).unwrap();
        assert_eq!(p.apply(pushed()), pushed());
    }

    #[test]
    fn the_profiles_keys_apply() {
        let p = ProfileIp::of(&profile(
            "method=auto\nroute1=10.50.0.0/16,,20\nroute2=10.60.0.0/16\nnever-default=true\n\
             dns=10.50.0.53;\ndns-search=lab.test;\nroute-metric=30",
            "method=auto\nignore-auto-routes=true",
        ))
        .unwrap();
        let c = p.apply(pushed());
        assert_eq!(c.routes, vec![("10.99.0.0/24".parse().unwrap(), None)]);
        assert_eq!(
            c.profile_routes,
            vec![
                ("10.50.0.0/16".parse().unwrap(), Some(20)),
                ("10.60.0.0/16".parse().unwrap(), None)
            ]
        );
        let dns: Vec<String> = c.dns.iter().map(|d| d.to_string()).collect();
        assert_eq!(dns, ["10.50.0.53", "10.99.0.53"]);
        assert_eq!(c.domains, ["lab.test", "corp.test"]);
        assert!(c.never_default4 && !c.never_default6);
        assert_eq!((c.metric4, c.metric6), (Some(30), None));
    }

    #[test]
    fn ignore_auto_dns_and_routes() {
        let p = ProfileIp::of(&profile(
            "method=auto\nignore-auto-dns=true\nignore-auto-routes=true\ndns=192.0.2.53;",
            "",
        ))
        .unwrap();
        let c = p.apply(pushed());
        assert_eq!(c.routes, vec![("fd99::/64".parse().unwrap(), None)]);
        assert_eq!(
            c.dns,
            vec!["192.0.2.53".parse::<std::net::IpAddr>().unwrap()]
        );
        assert!(c.domains.is_empty());
    }
}
