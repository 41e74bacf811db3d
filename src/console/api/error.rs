//! The API's error answer: a status and `{"error": "..."}`, never an HTML page or a redirect.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every refusal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person reading the caller's log.
    pub error: String,
}

/// A refusal: the status and the message (and, for 401, the `WWW-Authenticate` challenge).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    challenge: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), challenge: None }
    }

    /// 401 with RFC 6750's challenge: `invalid_token` when a token was sent but is not known.
    pub fn unauthorized(message: &str, invalid_token: bool) -> ApiError {
        let challenge =
            if invalid_token { "Bearer realm=\"offboard-host\", error=\"invalid_token\"" } else { "Bearer realm=\"offboard-host\"" };
        ApiError { status: StatusCode::UNAUTHORIZED, message: message.into(), challenge: Some(challenge) }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// A JSON answer that no cache keeps (it holds client data).
pub fn json_answer(status: StatusCode, body: &impl Serialize) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = json_answer(self.status, &ErrorBody { error: self.message });
        if let Some(c) = self.challenge {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        resp
    }
}
