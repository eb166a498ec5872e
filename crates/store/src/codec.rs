//! How enums are spelled in the database (the same snake_case as the JSON API).

use starkroute_types::{LegKind, LegStatus, RouteStatus};

use crate::{Result, StoreError};

pub(crate) fn route_status_str(s: RouteStatus) -> &'static str {
    match s {
        RouteStatus::Pending => "pending",
        RouteStatus::Running => "running",
        RouteStatus::AwaitingSignature => "awaiting_signature",
        RouteStatus::Completed => "completed",
        RouteStatus::Failed => "failed",
        RouteStatus::Cancelled => "cancelled",
    }
}

const ROUTE_STATUSES: [RouteStatus; 6] = [
    RouteStatus::Pending,
    RouteStatus::Running,
    RouteStatus::AwaitingSignature,
    RouteStatus::Completed,
    RouteStatus::Failed,
    RouteStatus::Cancelled,
];

pub(crate) fn parse_route_status(s: &str) -> Result<RouteStatus> {
    ROUTE_STATUSES
        .into_iter()
        .find(|v| route_status_str(*v) == s)
        .ok_or_else(|| StoreError::corrupt(format!("unknown route status {s:?}")))
}

pub(crate) fn leg_status_str(s: LegStatus) -> &'static str {
    match s {
        LegStatus::Planned => "planned",
        LegStatus::Prepared => "prepared",
        LegStatus::AwaitingSignature => "awaiting_signature",
        LegStatus::Submitted => "submitted",
        LegStatus::AcceptedOnL2 => "accepted_on_l2",
        LegStatus::FinalOnL1 => "final_on_l1",
        LegStatus::Failed => "failed",
        LegStatus::Cancelled => "cancelled",
    }
}

const LEG_STATUSES: [LegStatus; 8] = [
    LegStatus::Planned,
    LegStatus::Prepared,
    LegStatus::AwaitingSignature,
    LegStatus::Submitted,
    LegStatus::AcceptedOnL2,
    LegStatus::FinalOnL1,
    LegStatus::Failed,
    LegStatus::Cancelled,
];

pub(crate) fn parse_leg_status(s: &str) -> Result<LegStatus> {
    LEG_STATUSES
        .into_iter()
        .find(|v| leg_status_str(*v) == s)
        .ok_or_else(|| StoreError::corrupt(format!("unknown leg status {s:?}")))
}

pub(crate) fn parse_leg_kind(s: &str) -> Result<LegKind> {
    s.parse().map_err(StoreError::corrupt)
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot encode JSON: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

pub(crate) fn to_u64(what: &str, v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::corrupt(format!("{what} is negative: {v}")))
}

pub(crate) fn to_i64(what: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} out of range: {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_serde() {
        for s in ROUTE_STATUSES {
            assert_eq!(serde_json::to_value(s).unwrap(), route_status_str(s));
            assert_eq!(parse_route_status(route_status_str(s)).unwrap(), s);
        }
        for s in LEG_STATUSES {
            assert_eq!(serde_json::to_value(s).unwrap(), leg_status_str(s));
            assert_eq!(parse_leg_status(leg_status_str(s)).unwrap(), s);
        }
        assert!(parse_route_status("done").is_err());
    }
}
