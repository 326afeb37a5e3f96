//! Latency samples and their summary.

use std::time::Duration;

use serde_json::{Value, json};

/// Latencies of one operation, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    ms: Vec<f64>,
}

impl Samples {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Duration) {
        self.ms.push(d.as_secs_f64() * 1000.0);
    }

    pub fn push_ms(&mut self, ms: f64) {
        self.ms.push(ms);
    }

    pub fn len(&self) -> usize {
        self.ms.len()
    }

    /// The samples from index `from` to `to` (exclusive), in the order
    /// they were taken.
    pub fn range(&self, from: usize, to: usize) -> Samples {
        let to = to.min(self.ms.len());
        Samples {
            ms: self.ms[from.min(to)..to].to_vec(),
        }
    }

    /// These samples followed by `other`'s.
    pub fn extend(&mut self, other: &Samples) {
        self.ms.extend_from_slice(&other.ms);
    }

    /// Median of the last tenth of the samples over that of the first
    /// tenth, in the order taken: how an operation repeated while a
    /// population grows slows down. None with fewer than 10 samples.
    pub fn growth(&self) -> Option<(f64, f64)> {
        let n = self.ms.len();
        let tenth = n / 10;
        if tenth == 0 {
            return None;
        }
        Some((self.range(0, tenth).p50(), self.range(n - tenth, n).p50()))
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The nearest-rank percentile `p` (0 < p ≤ 100); NaN when empty.
    pub fn percentile(&self, p: f64) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }

    pub fn p50(&self) -> f64 {
        self.percentile(50.0)
    }

    pub fn p99(&self) -> f64 {
        self.percentile(99.0)
    }

    pub fn mean(&self) -> f64 {
        if self.ms.is_empty() {
            return f64::NAN;
        }
        self.ms.iter().sum::<f64>() / self.ms.len() as f64
    }

    pub fn min(&self) -> f64 {
        self.ms.iter().copied().fold(f64::NAN, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.ms.iter().copied().fold(f64::NAN, f64::max)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "n": self.len(),
            "p50_ms": self.p50(),
            "p99_ms": self.p99(),
            "mean_ms": self.mean(),
            "min_ms": self.min(),
            "max_ms": self.max(),
        })
    }
}

/// Milliseconds with a sensible number of digits.
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "–".into()
    } else if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.3}")
    }
}

/// A ratio as `12.3×`.
pub fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "–".into()
    } else if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.2}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut s = Samples::new();
        for i in 1..=100 {
            s.push_ms(i as f64);
        }
        assert_eq!(s.p50(), 50.0);
        assert_eq!(s.p99(), 99.0);
        assert_eq!(s.percentile(100.0), 100.0);
        assert_eq!(s.min(), 1.0);
        assert_eq!(s.max(), 100.0);
        let mut one = Samples::new();
        one.push_ms(3.0);
        assert_eq!(one.p99(), 3.0);
        assert!(Samples::new().p50().is_nan());
    }
}
