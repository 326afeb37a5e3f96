//! The scaling run common to the three ways of making a namespace: grow the
//! population to each size in turn, and at each size time create+remove
//! cycles of extra namespaces.

use std::time::Instant;

use serde_json::{Value, json};

use crate::stats::Samples;

/// One way of making and removing a namespace with a veth uplink, NAT and DNS.
pub trait Subject {
    async fn create(&mut self, name: &str) -> Result<(), String>;
    async fn remove(&mut self, name: &str) -> Result<(), String>;

    /// Called before and after the timed cycles at each size.
    fn cycles_begin(&mut self) {}
    fn cycles_end(&mut self, _alive: usize) {}

    /// Called once the cycles at a size are done, with that many alive.
    async fn at_size(&mut self, _alive: usize, _largest: bool) -> Result<(), String> {
        Ok(())
    }
}

/// Figures at one population size.
#[derive(Debug, Clone)]
pub struct AtSize {
    pub alive: usize,
    pub create: Samples,
    pub remove: Samples,
    /// The creates that grew the population to this size.
    pub grow: Samples,
}

#[derive(Debug, Clone)]
pub struct Scaling {
    pub method: &'static str,
    pub sizes: Vec<AtSize>,
    /// Removal of the whole population at the end.
    pub teardown: Samples,
}

impl Scaling {
    pub fn at(&self, alive: usize) -> Option<&AtSize> {
        self.sizes.iter().find(|s| s.alive == alive)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "method": self.method,
            "sizes": self.sizes.iter().map(|s| json!({
                "alive": s.alive,
                "create": s.create.to_json(),
                "remove": s.remove.to_json(),
                "grow": s.grow.to_json(),
            })).collect::<Vec<_>>(),
            "teardown": self.teardown.to_json(),
        })
    }
}

fn progress(method: &str, what: &str) {
    eprintln!("bench: {method}: {what}");
}

/// Runs the sizes (ascending) with `cycles` create+remove cycles at each, and
/// removes everything at the end, also when a step fails.
pub async fn run<S: Subject>(
    s: &mut S,
    method: &'static str,
    prefix: &str,
    sizes: &[usize],
    cycles: usize,
) -> Result<Scaling, String> {
    let mut alive: Vec<String> = Vec::new();
    let mut out = Scaling {
        method,
        sizes: Vec::new(),
        teardown: Samples::new(),
    };
    let r = grow_and_cycle(s, method, prefix, sizes, cycles, &mut alive, &mut out).await;
    progress(method, &format!("removing {} namespaces", alive.len()));
    let mut teardown_err = None;
    for name in alive.iter().rev() {
        let t = Instant::now();
        match s.remove(name).await {
            Ok(()) => out.teardown.push(t.elapsed()),
            Err(e) => {
                eprintln!("bench: {method}: removing {name}: {e}");
                teardown_err.get_or_insert(e);
            }
        }
    }
    r?;
    match teardown_err {
        Some(e) => Err(format!("{method}: teardown: {e}")),
        None => Ok(out),
    }
}

async fn grow_and_cycle<S: Subject>(
    s: &mut S,
    method: &'static str,
    prefix: &str,
    sizes: &[usize],
    cycles: usize,
    alive: &mut Vec<String>,
    out: &mut Scaling,
) -> Result<(), String> {
    let largest = sizes.iter().copied().max().unwrap_or(0);
    for &n in sizes {
        progress(method, &format!("growing to {n} namespaces"));
        let mut grow = Samples::new();
        while alive.len() < n {
            let name = format!("{prefix}-{}", alive.len());
            let t = Instant::now();
            if let Err(e) = s.create(&name).await {
                let _ = s.remove(&name).await;
                return Err(format!("{method}: create {name}: {e}"));
            }
            grow.push(t.elapsed());
            alive.push(name);
        }
        progress(method, &format!("{cycles} create+remove cycles at {n}"));
        let (mut create, mut remove) = (Samples::new(), Samples::new());
        s.cycles_begin();
        for k in 0..cycles {
            let name = format!("{prefix}x{n}-{k}");
            let t = Instant::now();
            if let Err(e) = s.create(&name).await {
                let _ = s.remove(&name).await;
                return Err(format!("{method}: create {name}: {e}"));
            }
            create.push(t.elapsed());
            let t = Instant::now();
            s.remove(&name)
                .await
                .map_err(|e| format!("{method}: remove {name}: {e}"))?;
            remove.push(t.elapsed());
        }
        s.cycles_end(n);
        s.at_size(n, n == largest).await?;
        out.sizes.push(AtSize {
            alive: n,
            create,
            remove,
            grow,
        });
    }
    Ok(())
}
