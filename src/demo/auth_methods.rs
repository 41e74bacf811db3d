//! A user's authentication methods: `GET /users/{id}/authentication/methods` (every type, each
//! with its `@odata.type`), the per-type collections (`phoneMethods`, `fido2Methods`, ...) and
//! their DELETE routes, as Microsoft Graph v1.0 documents them.
//!
//! The refusals an offboarding meets are modelled on purpose: the password method is listed but
//! has no DELETE (Graph documents none); the default MFA method cannot be deleted while the user
//! has another method (Graph's `badRequest` "Cannot delete default method with other methods
//! configured"), so a client must remove the others first; and a mobile number cannot go while
//! an alternate mobile remains. Every user has the password method, so it is not stored: it is
//! shown with the fixed id Graph gives it.

use serde_json::{json, Map, Value};

use super::model::{AuthMethod, State};
use super::odata::{self, Query, Segments};
use super::reply::{Ctx, Reply};

/// The id Graph gives every user's password method.
pub const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";
/// Graph's fixed ids of the three phone slots, and of the e-mail method.
const PHONE_IDS: [(&str, &str); 3] = [
    ("mobile", "3179e48a-750b-4051-897c-87b9720928f7"),
    ("alternateMobile", "b6332ec1-7057-4abe-9331-3d72feddfe41"),
    ("office", "e37fc753-ff3b-4958-9484-eaa9425c82bc"),
];
const EMAIL_METHOD_ID: &str = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f";

/// Navigation segment of `authentication` (lower case) → the derived type it holds.
const COLLECTIONS: &[(&str, &str)] = &[
    ("phonemethods", "phoneAuthenticationMethod"),
    ("microsoftauthenticatormethods", "microsoftAuthenticatorAuthenticationMethod"),
    ("fido2methods", "fido2AuthenticationMethod"),
    ("windowshelloforbusinessmethods", "windowsHelloForBusinessAuthenticationMethod"),
    ("softwareoathmethods", "softwareOathAuthenticationMethod"),
    ("temporaryaccesspassmethods", "temporaryAccessPassAuthenticationMethod"),
    ("emailmethods", "emailAuthenticationMethod"),
    ("passwordmethods", "passwordAuthenticationMethod"),
];

/// Every method of a user, the password one first (as Graph lists it).
fn methods_of(st: &State, uix: usize) -> Vec<AuthMethod> {
    let u = &st.users[uix];
    let password = AuthMethod {
        id: PASSWORD_METHOD_ID.into(),
        user_id: u.id.clone(),
        kind: "passwordAuthenticationMethod".into(),
        created_date_time: u.last_password_change_date_time.clone(),
        // Graph never returns the password itself.
        props: Map::from_iter([("password".to_string(), Value::Null)]),
        is_default: false,
    };
    let mut out = vec![password];
    out.extend(st.auth_methods.iter().filter(|m| m.user_id == u.id).cloned());
    out
}

fn to_graph(m: &AuthMethod, typed: bool) -> Value {
    let mut o = Map::new();
    if typed {
        o.insert("@odata.type".into(), json!(format!("#microsoft.graph.{}", m.kind)));
    }
    o.insert("id".into(), json!(m.id));
    o.insert("createdDateTime".into(), json!(m.created_date_time));
    o.extend(m.props.clone());
    Value::Object(o)
}

/// Every route under `/users/{id}/authentication`.
pub fn route(st: &mut State, ctx: &Ctx, method: &str, p: &Segments, q: &Query) -> Reply {
    let (lc, segs, path) = (p.lc, p.segs, p.path);
    let Some(uix) = st.user_index(&segs[1]) else { return ctx.not_found(&segs[1]) };
    let user_id = st.users[uix].id.clone();
    let (rest, ids) = (&lc[3..], &segs[3..]);
    let context = |tail: &str| format!("https://graph.microsoft.com/v1.0/$metadata#users('{user_id}')/authentication/{tail}");
    let kind = rest.first().and_then(|s| COLLECTIONS.iter().find(|(c, _)| c == s)).map(|(_, k)| *k);
    let all = rest.first() == Some(&"methods");
    if kind.is_none() && !all || rest.len() > 2 {
        let bad = if kind.is_none() && !all { ids.first() } else { ids.get(2) };
        return ctx.error(400, "BadRequest", &format!("Resource not found for the segment '{}'.", bad.map(String::as_str).unwrap_or("")));
    }
    let mine = |m: &&AuthMethod| all || Some(m.kind.as_str()) == kind;
    match (rest.len(), method) {
        (1, "GET") => {
            let items = methods_of(st, uix).iter().filter(mine).map(|m| to_graph(m, all)).collect();
            Reply::json(200, odata::page(items, q, path, ctx, context(&ids[0])))
        }
        (2, "GET") => match methods_of(st, uix).iter().filter(mine).find(|m| m.id.eq_ignore_ascii_case(&ids[1])) {
            Some(m) => Reply::json(200, with_context(to_graph(m, all), context(&format!("{}/$entity", ids[0])))),
            None => ctx.not_found(&ids[1]),
        },
        (2, "DELETE") if kind.is_some_and(|k| k != "passwordAuthenticationMethod") => {
            delete(st, ctx, &user_id, kind.unwrap_or(""), &ids[1])
        }
        // Graph has no DELETE for the password method, nor on the generic `methods`
        // collection: a client must use the per-type collections.
        _ => ctx.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."),
    }
}

fn with_context(mut v: Value, context: String) -> Value {
    v["@odata.context"] = json!(context);
    v
}

fn delete(st: &mut State, ctx: &Ctx, user_id: &str, kind: &str, id: &str) -> Reply {
    let Some(ix) = st.auth_methods.iter().position(|m| m.user_id == user_id && m.kind == kind && m.id.eq_ignore_ascii_case(id)) else {
        return ctx.not_found(id);
    };
    let m = &st.auth_methods[ix];
    let others = st.auth_methods.iter().filter(|o| o.user_id == user_id && o.id != m.id).count();
    if m.is_default && others > 0 {
        return ctx.error(
            400,
            "badRequest",
            "Cannot delete default method with other methods configured. Please change default method before deletion.",
        );
    }
    let phone_type = |x: &AuthMethod| x.props.get("phoneType").and_then(Value::as_str).map(str::to_string);
    if phone_type(m).as_deref() == Some("mobile")
        && st.auth_methods.iter().any(|o| o.user_id == user_id && phone_type(o).as_deref() == Some("alternateMobile"))
    {
        return ctx.error(
            400,
            "badRequest",
            "A user can't have an alternateMobile number without a mobile number. Update the mobile number, then delete the alternateMobile number.",
        );
    }
    st.auth_methods.remove(ix);
    Reply::no_content()
}

fn method(user_id: &str, kind: &str, id: &str, days_ago: i64, is_default: bool, props: Value) -> AuthMethod {
    let created = (chrono::Utc::now() - chrono::Duration::days(days_ago)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    AuthMethod {
        id: id.into(),
        user_id: user_id.into(),
        kind: kind.into(),
        created_date_time: Some(created),
        props: props.as_object().cloned().unwrap_or_default(),
        is_default,
    }
}

fn phone(user_id: &str, slot: &str, number: &str, is_default: bool) -> AuthMethod {
    let id = PHONE_IDS.iter().find(|(s, _)| *s == slot).map(|(_, id)| *id).unwrap_or_default();
    let sms = if slot == "mobile" { "notAllowedByPolicy" } else { "notSupported" };
    let props = json!({"phoneNumber": number, "phoneType": slot, "smsSignInState": sms});
    method(user_id, "phoneAuthenticationMethod", id, 300, is_default, props)
}

/// The leavers' registered methods: leaver.cloud has one of every kind (a mobile as default),
/// leaver.synced an Authenticator default with a phone and e-mail, leaver.admin a FIDO2 key
/// default with an Authenticator. Everyone else has only the password.
pub fn seed(leavers: &[(&str, &str)]) -> Vec<AuthMethod> {
    let mut out = Vec::new();
    let id = |user: &str, what: &str| super::ids::derived_id("auth-method", &format!("{user}:{what}"));
    let authenticator = |user: &str, device: &str, is_default: bool| {
        let props = json!({"displayName": device, "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.7"});
        method(user, "microsoftAuthenticatorAuthenticationMethod", &id(user, "authenticator"), 200, is_default, props)
    };
    let fido2 = |user: &str, is_default: bool| {
        let props = json!({"displayName": "YubiKey 5 NFC", "aaGuid": "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
            "model": "YubiKey 5 Series with NFC", "attestationCertificates": ["dbe793efdf1945e2df25d93653a1e8a3268a9075"],
            "attestationLevel": "attested"});
        method(user, "fido2AuthenticationMethod", &id(user, "fido2"), 150, is_default, props)
    };
    let email = |user: &str, address: &str| {
        method(user, "emailAuthenticationMethod", EMAIL_METHOD_ID, 400, false, json!({"emailAddress": address}))
    };
    for (user, who) in leavers {
        match *who {
            "cloud" => {
                out.push(phone(user, "mobile", "+44 7700 900123", true));
                out.push(phone(user, "alternateMobile", "+44 7700 900456", false));
                out.push(authenticator(user, "Lee's iPhone", false));
                out.push(fido2(user, false));
                let hello = json!({"displayName": "LEE-LAPTOP", "keyStrength": "normal"});
                out.push(method(user, "windowsHelloForBusinessAuthenticationMethod", &id(user, "hello"), 100, false, hello));
                // Graph never returns the secret key once it is registered.
                out.push(method(user, "softwareOathAuthenticationMethod", &id(user, "oath"), 90, false, json!({"secretKey": null})));
                let tap = json!({"temporaryAccessPass": null, "startDateTime": super::reply::now(), "lifetimeInMinutes": 60,
                    "isUsableOnce": true, "isUsable": true, "methodUsabilityReason": "EnabledByPolicy"});
                out.push(method(user, "temporaryAccessPassAuthenticationMethod", &id(user, "tap"), 0, false, tap));
                out.push(email(user, "lee.cloud@gmail.example"));
            }
            "synced" => {
                out.push(authenticator(user, "Pixel 7", true));
                out.push(phone(user, "mobile", "+44 7700 900789", false));
                out.push(email(user, "sam.synced@outlook.example"));
            }
            _ => {
                out.push(fido2(user, true));
                out.push(authenticator(user, "Ada's iPhone", false));
            }
        }
    }
    out
}
