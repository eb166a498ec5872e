//! Amounts and durations for people: what an app shows next to a quote (fees in ETH, ETAs).
//! Exact: no floating point.

use starkroute_types::Wei;

/// Formats wei as ETH exactly: `1234500000000000` → `0.0012345 ETH`.
pub fn format_eth(w: Wei) -> String {
    let whole = w.0 / 1_000_000_000_000_000_000;
    let frac = w.0 % 1_000_000_000_000_000_000;
    if frac == 0 {
        return format!("{whole} ETH");
    }
    let frac = format!("{frac:018}");
    format!("{whole}.{} ETH", frac.trim_end_matches('0'))
}

/// Formats seconds as `1d 2h`, `3h 5m`, `4m 10s` or `12s`.
pub fn format_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) if s == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_formatting_is_exact() {
        assert_eq!(format_eth(Wei(0)), "0 ETH");
        assert_eq!(format_eth(Wei(1)), "0.000000000000000001 ETH");
        assert_eq!(format_eth(Wei(1_234_500_000_000_000_000)), "1.2345 ETH");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(12), "12s");
        assert_eq!(format_duration(3600 + 120), "1h 2m");
        assert_eq!(format_duration(86_400 * 2 + 3600), "2d 1h");
        assert_eq!(format_duration(300), "5m");
    }
}
