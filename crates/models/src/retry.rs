use std::time::Duration;

use rand::Rng;

const BASE_MS: f64 = 200.0;
const MAX_MS: f64 = 30_000.0;

/// Delay before retry number `attempt` (1-based): 200 ms doubling, capped at 30 s, with ±10 %
/// jitter so many clients do not retry in lockstep.
pub fn backoff(attempt: u32) -> Duration {
    let exp = BASE_MS * 2f64.powi(attempt.saturating_sub(1).min(16) as i32);
    let jitter = rand::rng().random_range(0.9..1.1);
    Duration::from_millis((exp.min(MAX_MS) * jitter) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        let first = backoff(1).as_millis();
        assert!((180..=220).contains(&first), "{first}");
        let third = backoff(3).as_millis();
        assert!((720..=880).contains(&third), "{third}");
        assert!(backoff(40) <= Duration::from_millis(33_000));
    }
}
