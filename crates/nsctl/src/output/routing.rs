//! `nsctl route list` and `nsctl rule list`, as `ip route` and `ip rule`
//! print them.

use super::format::{terminal_safe, to_line};
use crate::routing::{Route, Rule, TABLE_MAIN};
use crate::tables::table_name;

/// One route as `ip route` prints it.
fn route_line(r: &Route) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some(t) = &r.kind {
        words.push(terminal_safe(t).into_owned());
    }
    words.push(terminal_safe(&r.destination).into_owned());
    if let Some(gw) = &r.gateway {
        words.push(format!("via {}", terminal_safe(gw)));
    }
    match (&r.device, &r.device_object) {
        (Some(name), _) => words.push(format!("dev {}", terminal_safe(name))),
        (None, Some(object)) => words.push(format!("dev {object}")),
        (None, None) => {}
    }
    if r.table != TABLE_MAIN {
        words.push(format!("table {}", table_name(r.table)));
    }
    if let Some(p) = &r.protocol {
        words.push(format!("proto {}", terminal_safe(p)));
    }
    if let Some(s) = r.scope.as_deref().filter(|s| *s != "global") {
        words.push(format!("scope {}", terminal_safe(s)));
    }
    if let Some(m) = r.metric {
        words.push(format!("metric {m}"));
    }
    words.join(" ")
}

/// `nsctl route list`: one line per route, as `ip route` prints them.
pub fn routes_text(routes: &[Route]) -> String {
    routes.iter().map(|r| route_line(r) + "\n").collect()
}

/// `nsctl --json route list`: an array of route objects.
pub fn routes_json(routes: &[Route]) -> String {
    to_line(routes)
}

/// One rule as `ip rule` prints it.
fn rule_line(r: &Rule) -> String {
    let mut line = format!("{}:\t", r.priority);
    if r.invert {
        line.push_str("not ");
    }
    line.push_str("from ");
    line.push_str(&terminal_safe(r.from.as_deref().unwrap_or("all")));
    if let Some(to) = &r.to {
        line.push_str(&format!(" to {}", terminal_safe(to)));
    }
    if let Some(i) = &r.iif {
        line.push_str(&format!(" iif {}", terminal_safe(i)));
    }
    if let Some(o) = &r.oif {
        line.push_str(&format!(" oif {}", terminal_safe(o)));
    }
    if let Some(m) = r.fwmark {
        line.push_str(&format!(" fwmark {m:#x}"));
        if let Some(k) = r.fwmask {
            line.push_str(&format!("/{k:#x}"));
        }
    }
    match (&r.action, r.table) {
        (Some(a), _) => line.push_str(&format!(" {}", terminal_safe(a))),
        (None, Some(t)) => line.push_str(&format!(" lookup {}", table_name(t))),
        (None, None) => {}
    }
    // As `ip rule` does: not for the kernel's own rules (nor unspecified).
    if let Some(p) = r
        .protocol
        .as_deref()
        .filter(|p| !matches!(*p, "kernel" | "unspec"))
    {
        line.push_str(&format!(" proto {}", terminal_safe(p)));
    }
    line
}

/// `nsctl rule list`: one line per rule, as `ip rule` prints them.
pub fn rules_text(rules: &[Rule]) -> String {
    rules.iter().map(|r| rule_line(r) + "\n").collect()
}

/// `nsctl --json rule list`: an array of rule objects.
pub fn rules_json(rules: &[Rule]) -> String {
    to_line(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use serde_json::json;

    fn route(dest: &str) -> Route {
        Route {
            destination: dest.into(),
            family: "inet".into(),
            gateway: None,
            device: None,
            device_object: None,
            table: 254,
            metric: None,
            scope: Some("global".into()),
            protocol: None,
            kind: None,
            other: Default::default(),
        }
    }

    #[test]
    fn routes_print_as_ip_route_does() {
        let mut default = route("default");
        default.gateway = Some("10.0.0.1".into());
        default.device = Some("eth0".into());
        default.device_object = Some("/net/netnsd/Netns1/Devices/3".into());
        default.protocol = Some("netnsd".into());
        default.metric = Some(100);
        let mut link = route("10.0.0.0/24");
        link.device = Some("eth0".into());
        link.scope = Some("link".into());
        link.protocol = Some("kernel".into());
        let mut other = route("10.8.0.0/16");
        other.table = 100;
        other.device_object = Some("/net/netnsd/Netns1/Devices/9".into());
        let mut blackhole = route("192.0.2.0/24");
        blackhole.kind = Some("blackhole".into());
        blackhole.table = 253;
        let expected = "\
default via 10.0.0.1 dev eth0 proto netnsd metric 100
10.0.0.0/24 dev eth0 proto kernel scope link
10.8.0.0/16 dev /net/netnsd/Netns1/Devices/9 table 100
blackhole 192.0.2.0/24 table default
";
        assert_eq!(
            routes_text(&[default.clone(), link, other, blackhole]),
            expected
        );
        assert_eq!(routes_text(&[]), "");

        let v: Value = serde_json::from_str(&routes_json(&[default])).unwrap();
        assert_eq!(
            v,
            json!([{
                "destination": "default",
                "family": "inet",
                "gateway": "10.0.0.1",
                "device": "eth0",
                "device_object": "/net/netnsd/Netns1/Devices/3",
                "table": 254,
                "metric": 100,
                "scope": "global",
                "protocol": "netnsd",
            }])
        );
    }

    fn rule(priority: u32, table: u32) -> Rule {
        Rule {
            priority,
            family: "inet".into(),
            from: None,
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            fwmask: None,
            table: Some(table),
            action: None,
            invert: false,
            protocol: Some("kernel".into()),
            other: Default::default(),
        }
    }

    #[test]
    fn rules_print_as_ip_rule_does() {
        let mut src = rule(1000, 100);
        src.from = Some("10.0.0.0/24".into());
        src.to = Some("192.0.2.0/24".into());
        src.iif = Some("veth0".into());
        src.oif = Some("tun0".into());
        src.protocol = Some("netnsd".into());
        let mut mark = rule(1001, 100);
        mark.fwmark = Some(16);
        mark.fwmask = Some(255);
        mark.invert = true;
        let mut black = rule(1002, 0);
        black.table = None;
        black.action = Some("blackhole".into());
        let expected = "\
0:\tfrom all lookup local
1000:\tfrom 10.0.0.0/24 to 192.0.2.0/24 iif veth0 oif tun0 lookup 100 proto netnsd
1001:\tnot from all fwmark 0x10/0xff lookup 100
1002:\tfrom all blackhole
32766:\tfrom all lookup main
";
        assert_eq!(
            rules_text(&[rule(0, 255), src, mark.clone(), black, rule(32766, 254)]),
            expected
        );
        let v: Value = serde_json::from_str(&rules_json(&[mark])).unwrap();
        assert_eq!(
            v,
            json!([{
                "priority": 1001,
                "family": "inet",
                "fwmark": 16,
                "fwmask": 255,
                "table": 100,
                "invert": true,
                "protocol": "kernel",
            }])
        );
    }
}
