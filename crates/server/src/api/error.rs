//! The API's one error shape: `{ "error": { "code", "message", "field" } }`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use starkroute_executor::machine::Refusal;
use starkroute_store::StoreError;

/// An error answer. Internal failures are reported with a generic message; their detail goes to
/// the server's log, not to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code, e.g. `invalid_field`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// The request field at fault (a JSON path such as `sender.l1`, a path or query parameter,
    /// or a header), when one is.
    pub field: Option<String>,
}

/// The body of every error answer (schema `Error`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable machine-readable code, e.g. `invalid_field`.
    code: &'static str,
    /// What went wrong, for people.
    message: String,
    /// The field at fault: a JSON path (`sender.l1`), a path or query parameter, or a header.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

/// Handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None }
    }

    /// Names the field at fault.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 422: a field has a bad value.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).field(field)
    }

    /// 404 for a route the tenant does not have (another tenant's route included).
    pub fn route_not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "route_not_found", format!("no route {id}")).field("id")
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message).field("authorization")
    }

    /// 500/503 with the detail logged, not shown.
    pub fn internal(what: &str, detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(what, error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("{what} failed"))
    }

    /// 503: a dependency is unavailable and retrying later may help.
    pub fn unavailable(what: &str, detail: &dyn std::fmt::Display) -> Self {
        tracing::warn!(what, error = %detail, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{what} is unavailable; retry later"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = (self.status, self.code);
        let body = ErrorBody {
            error: ErrorDetail { code: self.code, message: self.message, field: self.field },
        };
        let mut res = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE || code == "route_busy" {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound { what } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
            }
            StoreError::IdempotencyConflict { .. } => Self::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "this Idempotency-Key was already used with a different request body",
            )
            .field("idempotency-key"),
            StoreError::Conflict { .. }
            | StoreError::Leased { .. }
            | StoreError::LeaseLost { .. } => busy(),
            StoreError::Invalid(m) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", m.clone())
            }
            StoreError::Backend { retryable: true, .. } => Self::unavailable("the route store", &e),
            _ => Self::internal("the route store", &e),
        }
    }
}

/// 409: the route is being driven right now or kept changing; the same call can be retried.
pub fn busy() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "route_busy",
        "the route is changing right now; retry in a moment",
    )
}

impl From<starkroute_executor::Error> for ApiError {
    fn from(e: starkroute_executor::Error) -> Self {
        use starkroute_executor::Error as E;
        match e {
            E::Store(s) => s.into(),
            E::NotFound(id) => Self::route_not_found(&id.to_string()),
            E::Refused(Refusal::NoSuchLeg { leg }) => Self::new(
                StatusCode::NOT_FOUND,
                "leg_not_found",
                format!("the route has no leg {leg}"),
            )
            .field("n"),
            E::Refused(Refusal::NotAwaitingSignature { status }) => Self::new(
                StatusCode::CONFLICT,
                "not_awaiting_signature",
                format!(
                    "the leg is {}, not awaiting a signature",
                    serde_json::json!(status).as_str().unwrap_or("?")
                ),
            ),
            E::Refused(r @ (Refusal::IrreversibleSent { .. } | Refusal::MaybeSent { .. })) => {
                Self::new(StatusCode::CONFLICT, "irreversible", r.to_string())
            }
            E::Refused(r @ Refusal::RouteTerminal { .. }) => {
                Self::new(StatusCode::CONFLICT, "route_terminal", r.to_string())
            }
            E::Refused(r) => Self::new(StatusCode::CONFLICT, "refused", r.to_string()),
            E::SignatureRefused(a) if a.retryable => Self::unavailable("the leg's layer", &a),
            E::SignatureRefused(a) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "signature_refused",
                format!("signature refused: {}; the leg still awaits a signature", a.message),
            )
            .field("signature"),
            e @ E::NoAdapter(_) => Self::internal("the executor", &e),
            e @ E::Corrupt { .. } => Self::internal("the executor", &e),
        }
    }
}
