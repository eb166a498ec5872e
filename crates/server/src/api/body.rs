//! Request bodies: size-limited, JSON only, and decoded with the path of the field at fault.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiResult};

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than {limit} bytes"),
    )
    .field("body")
}

/// Reads a JSON body of at most `limit` bytes into `T`. An empty body reads as `{}` when
/// `empty_ok`. Errors: 413 too large, 415 not JSON, 400 malformed JSON, 422 a field that does not
/// fit (named by its path, e.g. `sender.l1`).
pub(crate) async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    empty_ok: bool,
) -> ApiResult<T> {
    let bytes = read_bytes(headers, body, limit).await?;
    parse_json(&bytes, empty_ok)
}

/// Reads a JSON body's bytes, at most `limit` of them (413 beyond; 415 when it is not JSON).
pub(crate) async fn read_bytes(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> ApiResult<axum::body::Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or_default().trim();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be application/json",
            )
            .field("content-type"));
        }
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            too_large(limit)
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read")
                .field("body")
        }
    })
}

/// Decodes a JSON body into `T` (400 malformed, 422 naming the field that does not fit).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8], empty_ok: bool) -> ApiResult<T> {
    let text: &[u8] =
        if bytes.iter().all(u8::is_ascii_whitespace) && empty_ok { b"{}" } else { bytes };
    let de = &mut serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let field = crate::config::error_key(&e.path().to_string(), &e.inner().to_string());
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            let err = ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            );
            if field.is_empty() {
                err.field("body")
            } else {
                err.field(field)
            }
        } else if field.is_empty() {
            ApiError::invalid("body", inner.to_string())
        } else {
            ApiError::invalid(field, inner.to_string())
        }
    })?;
    // Trailing data after the value is malformed too.
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
        .field("body")
    })?;
    Ok(value)
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}
