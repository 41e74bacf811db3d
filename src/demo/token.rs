//! The Entra ID token endpoint (client-credentials only) and bearer checking for `/v1.0`.
//!
//! Error bodies copy Entra's (`error`, `error_description` with the AADSTS code, `error_codes`), so
//! a client's handling of a wrong secret or tenant can be tested for real. Tokens are opaque random
//! strings remembered in memory with their expiry.

use std::time::{Duration, Instant};

use rand::RngCore;
use serde_json::{json, Value};

use super::reply::{now, Ctx, Reply};
use super::shared::{Audience, Headers, Shared};
use super::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_DOMAIN, DEMO_TENANT_ID};

const LIFETIME_SECS: u64 = 3599;

fn aad_error(status: u16, error: &str, code: u64, description: &str) -> (u16, Value) {
    let trace = uuid::Uuid::new_v4();
    let corr = uuid::Uuid::new_v4();
    (
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {}", now()),
            "error_codes": [code],
            "timestamp": now(),
            "trace_id": trace.to_string(),
            "correlation_id": corr.to_string(),
        }),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub fn issue(shared: &Shared, tenant: &str, headers: &Headers, body: &[u8]) -> (u16, Value) {
    if !(tenant.eq_ignore_ascii_case(DEMO_TENANT_ID) || tenant.eq_ignore_ascii_case(DEMO_DOMAIN)) {
        return aad_error(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        None => return aad_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."),
        Some("client_credentials") => {}
        Some(other) => {
            return aad_error(400, "unsupported_grant_type", 70003, &format!("The app requested an unsupported grant type '{other}'."))
        }
    }
    // client_secret_basic (RFC 6749 2.3.1): the id and secret, form-encoded, in a Basic header;
    // Entra takes it as well as the two form fields.
    let basic = basic_credentials(headers);
    let client_id = basic.as_ref().map(|(i, _)| i.as_str()).or(get("client_id"));
    let client_secret = basic.as_ref().map(|(_, s)| s.as_str()).or(get("client_secret"));
    let Some(client_id) = client_id else {
        return aad_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
    };
    if client_id != DEMO_CLIENT_ID {
        return aad_error(
            401,
            "invalid_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{DEMO_DOMAIN}'."),
        );
    }
    if client_secret != Some(DEMO_CLIENT_SECRET) {
        return aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '0d3f5b1e-demo-4c0f-8e21-offboardhost'.",
        );
    }
    let audience = match get("scope") {
        Some(s) => {
            let asked: Vec<Audience> = [Audience::Graph, Audience::Exchange]
                .into_iter()
                .filter(|a| s.split(' ').any(|x| x.eq_ignore_ascii_case(a.scope())))
                .collect();
            match asked.as_slice() {
                [one] => *one,
                [] => return aad_error(400, "invalid_scope", 1002012, &format!("The provided value for scope {s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")),
                _ => return aad_error(400, "invalid_scope", 28000, &format!("Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {s} is not valid.")),
            }
        }
        None => return aad_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."),
    };
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = format!("demo.{}", hex::encode(raw));
    {
        let mut tokens = shared.lock_tokens();
        let at = Instant::now();
        tokens.retain(|_, (exp, _)| *exp > at);
        tokens.insert(token.clone(), (at + Duration::from_secs(LIFETIME_SECS), audience));
    }
    (200, json!({"token_type": "Bearer", "expires_in": LIFETIME_SECS, "ext_expires_in": LIFETIME_SECS, "access_token": token}))
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, decoded.
pub(super) fn basic_credentials(headers: &Headers) -> Option<(String, String)> {
    use base64::Engine as _;
    let raw = headers.get("authorization")?.trim();
    let (scheme, b64) = raw.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((decode(id)?, decode(secret)?))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`: the discovery document an OIDC or
/// OAuth library reads to find the token endpoint, with this server's own addresses.
pub fn discovery(origin: &str, tenant: &str) -> (u16, Value) {
    if !(tenant.eq_ignore_ascii_case(DEMO_TENANT_ID) || tenant.eq_ignore_ascii_case(DEMO_DOMAIN)) {
        return aad_error(400, "invalid_tenant", 90002, &format!("Tenant '{tenant}' not found."));
    }
    let t = DEMO_TENANT_ID;
    (
        200,
        json!({
            "issuer": format!("https://login.microsoftonline.com/{t}/v2.0"),
            "authorization_endpoint": format!("{origin}/{t}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{origin}/{t}/oauth2/v2.0/token"),
            "jwks_uri": format!("{origin}/{t}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "tid", "ver", "oid", "preferred_username", "email"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }),
    )
}

/// Check `Authorization: Bearer <issued token>` on a request to the API `audience` (Graph or
/// Exchange): a token issued for the other resource is refused, as Entra-protected APIs refuse a
/// token whose `aud` is not theirs. The 401 carries `WWW-Authenticate` and `request-id` as Graph's
/// does, so a client can tell an authentication failure from any other 401.
pub fn check_bearer(shared: &Shared, headers: &Headers, audience: Audience) -> Result<(), Reply> {
    let ctx = Ctx::new(headers.get("client-request-id"), headers.get("host"));
    let deny = |msg: &str| {
        let mut r = ctx.error(401, "InvalidAuthenticationToken", msg);
        let request_id = ctx.request_id.clone();
        r.headers.push((
            "WWW-Authenticate".into(),
            format!(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\", error=\"invalid_token\", error_description=\"{msg}\""
            ),
        ));
        r.headers.push(("request-id".into(), request_id));
        Err(r)
    };
    let raw = headers.get("authorization").unwrap_or("").trim();
    let token = match raw.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ if raw.is_empty() => "",
        _ => return deny("Access token validation failure. Invalid audience."),
    };
    if token.is_empty() {
        return deny("Access token is empty.");
    }
    let found = shared.lock_tokens().get(token).copied();
    match found {
        Some((exp, aud)) if exp > Instant::now() && aud == audience => Ok(()),
        Some((exp, _)) if exp <= Instant::now() => deny("Lifetime validation failed, the token is expired."),
        // Unknown, or issued for the other API.
        _ => deny("Access token validation failure. Invalid audience."),
    }
}
