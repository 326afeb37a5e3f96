//! Running a program in a namespace, in the report: `nsctl exec`, Spawn
//! until ProcessExited and `ip netns exec` side by side at each size, and
//! their target (issue 18, item 2: both within 1.2× of `ip netns exec`).

use std::fmt::Write as _;

use crate::daemon::{Extras, IP_EXEC, NSCTL_EXEC, SPAWN_EXEC};
use crate::report::Target;
use crate::stats::{Samples, fmt_ms, fmt_ratio};

/// The most `nsctl exec` and Spawn may take, as a multiple of `ip netns exec`.
pub const EXEC_LIMIT: f64 = 1.2;

/// One size: (alive, nsctl exec, Spawn until ProcessExited, ip netns exec).
type Row<'a> = (usize, Option<&'a Samples>, Option<&'a Samples>, &'a Samples);

/// Whether `op` is one of the three (they have a table of their own).
pub fn is_exec(op: &str) -> bool {
    [NSCTL_EXEC, SPAWN_EXEC, IP_EXEC].contains(&op)
}

fn rows(x: &Extras) -> Vec<Row<'_>> {
    let find = |op: &str, alive: usize| {
        x.ops
            .iter()
            .find(|(o, a, _)| o == op && *a == alive)
            .map(|(_, _, s)| s)
    };
    x.ops
        .iter()
        .filter(|(op, _, s)| op == IP_EXEC && s.len() > 0)
        .map(|(_, alive, ip)| {
            (
                *alive,
                find(NSCTL_EXEC, *alive),
                find(SPAWN_EXEC, *alive),
                ip,
            )
        })
        .collect()
}

fn cell(s: Option<&Samples>) -> String {
    s.filter(|s| s.len() > 0).map_or("–".into(), |s| {
        format!("{} ({})", fmt_ms(s.p50()), fmt_ms(s.p99()))
    })
}

fn ratio(s: Option<&Samples>, ip: &Samples) -> Option<f64> {
    s.filter(|s| s.len() > 0).map(|s| s.p50() / ip.p50())
}

/// The table: p50 (p99) of each way at each size, and the ratios of the p50s.
pub fn table(x: &Extras) -> String {
    let mut s = String::from(
        "| alive | nsctl exec NS -- true | Spawn until ProcessExited | ip netns exec NS true | \
         nsctl / ip | Spawn / ip |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    for (alive, nsctl, spawn, ip) in rows(x) {
        let r = |v: Option<f64>| v.map_or("–".into(), fmt_ratio);
        let _ = writeln!(
            s,
            "| {alive} | {} | {} | {} | {} | {} |",
            cell(nsctl),
            cell(spawn),
            cell(Some(ip)),
            r(ratio(nsctl, ip)),
            r(ratio(spawn, ip))
        );
    }
    s
}

/// The targets: `nsctl exec` and Spawn within [`EXEC_LIMIT`] of `ip netns
/// exec` at every size.
pub fn targets(x: &Extras) -> Vec<Target> {
    let rows = rows(x);
    let mut t = Vec::new();
    for (what, pick) in [
        (
            "`nsctl exec NS -- true` within 1.2× of `ip netns exec NS true` at every size (p50s)",
            0,
        ),
        (
            "Spawn of /bin/true until ProcessExited within 1.2× of `ip netns exec NS true` at every size (p50s)",
            1,
        ),
    ] {
        let r: Vec<(usize, f64)> = rows
            .iter()
            .filter_map(|(alive, nsctl, spawn, ip)| {
                Some((*alive, ratio(if pick == 0 { *nsctl } else { *spawn }, ip)?))
            })
            .collect();
        if r.is_empty() {
            continue;
        }
        t.push(Target {
            what,
            measured: r
                .iter()
                .map(|(n, v)| format!("{} at {n}", fmt_ratio(*v)))
                .collect::<Vec<_>>()
                .join("; "),
            met: Some(r.iter().all(|(_, v)| *v <= EXEC_LIMIT)),
        });
    }
    t
}
