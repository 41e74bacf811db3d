//! The slice of OData query syntax the demo tenant understands: `$select`, `$top`, `$skiptoken`,
//! `$count` and a few `$filter` forms, plus building a page with an absolute `@odata.nextLink`.
//!
//! Anything outside that slice is refused the way Graph refuses it (`Request_UnsupportedQuery`),
//! rather than silently ignored, so a client that relies on an unsupported query fails in tests too.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::reply::{Ctx, Reply};

pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 999;

/// A request's path as the dispatcher split it: the segments as sent (percent-decoded), the same
/// in lower case (for matching), and the whole path under `/v1.0` (for nextLinks).
pub struct Segments<'a> {
    pub lc: &'a [&'a str],
    pub segs: &'a [String],
    pub path: &'a str,
}

/// The parsed query string of one request.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Every parameter, decoded, in order (used to rebuild nextLinks).
    pub params: Vec<(String, String)>,
    pub select: Option<Vec<String>>,
    pub filter: Option<String>,
    pub top: Option<usize>,
    pub skip: usize,
    /// `$count=true`. Graph answers it (`@odata.count`) only to an advanced query.
    pub count: bool,
    /// `$orderby`, as sent.
    pub orderby: Option<String>,
    /// The request carried `ConsistencyLevel: eventual` (set by the dispatcher from the headers).
    pub eventual: bool,
}

impl Query {
    pub fn parse(qs: &str, ctx: &Ctx) -> Result<Query, Reply> {
        let mut q = Query::default();
        for (k, v) in url::form_urlencoded::parse(qs.as_bytes()) {
            let (k, v) = (k.into_owned(), v.into_owned());
            match k.to_ascii_lowercase().as_str() {
                "$select" => {
                    let props: Vec<String> = v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                    // An empty $select means the default projection, as on Graph.
                    q.select = (!props.is_empty()).then_some(props);
                }
                "$filter" => q.filter = Some(v.clone()),
                "$top" => match v.trim().parse::<usize>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => q.top = Some(n),
                    _ => {
                        return Err(
                            ctx.bad_request(&format!("Invalid page size specified: '{v}'. Must be between 1 and {MAX_PAGE} inclusive."))
                        )
                    }
                },
                "$skiptoken" => match decode_skiptoken(&v) {
                    Some(n) => q.skip = n,
                    None => return Err(ctx.bad_request("Specified page token is invalid.")),
                },
                "$count" => q.count = v.eq_ignore_ascii_case("true"),
                "$orderby" => q.orderby = Some(v.clone()),
                _ => {}
            }
            q.params.push((k, v));
        }
        Ok(q)
    }

    pub fn page_size(&self) -> usize {
        self.top.unwrap_or(DEFAULT_PAGE)
    }

    /// Both advanced query parameters: `ConsistencyLevel: eventual` and `$count=true`.
    pub fn advanced(&self) -> bool {
        self.eventual && self.count
    }
}

// An opaque-looking token that is really just the offset; clients must not parse it and don't.
fn encode_skiptoken(offset: usize) -> String {
    format!("X%27{}%27", hex::encode(format!("offset:{offset}")))
}

fn decode_skiptoken(t: &str) -> Option<usize> {
    let inner = t.strip_prefix("X'")?.strip_suffix('\'')?;
    let text = String::from_utf8(hex::decode(inner).ok()?).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

/// Check `$select` names against a type's properties; returns them in canonical spelling.
pub fn check_select(select: &[String], allowed: &[&str], type_name: &str, ctx: &Ctx) -> Result<Vec<String>, Reply> {
    select
        .iter()
        .map(|s| {
            allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(s))
                .map(|a| a.to_string())
                .ok_or_else(|| ctx.bad_request(&format!("Could not find a property named '{s}' on type '{type_name}'.")))
        })
        .collect()
}

/// Keep only `props` of a full representation (absent ones come back as null, as Graph does).
pub fn project(full: &Map<String, Value>, props: &[String]) -> Map<String, Value> {
    props.iter().map(|p| (p.clone(), full.get(p).cloned().unwrap_or(Value::Null))).collect()
}

/// Is an `@odata.type` annotation in a request body the expected type? Graph ignores it when it
/// names the entity's own type (Microsoft's SDKs always send it) and refuses any other type.
/// `#` and the `graph.` alias are optional, as in OData JSON.
pub fn check_own_type(v: &Value, type_name: &str, ctx: &Ctx) -> Result<(), Reply> {
    let given = v.as_str().unwrap_or_default();
    let bare = given.trim_start_matches('#');
    let bare = bare.strip_prefix("graph.").map(|t| format!("microsoft.graph.{t}")).unwrap_or_else(|| bare.to_string());
    if bare.eq_ignore_ascii_case(type_name) {
        Ok(())
    } else {
        Err(ctx.bad_request(&format!("A type named '{given}' is not compatible with the expected type '{type_name}'.")))
    }
}

/// The `@odata.context` of an entity set, with the selection as Graph spells it.
pub fn context_url(set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) if !s.is_empty() => format!("https://graph.microsoft.com/v1.0/$metadata#{set}({})", s.join(",")),
        _ => format!("https://graph.microsoft.com/v1.0/$metadata#{set}"),
    }
}

const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b',').remove(b'$');

/// One page of a collection. `path` is the request path under `/v1.0` (e.g. `/users/x/memberOf`);
/// the nextLink is absolute and points back at this server, as Graph's point back at Graph.
pub fn page(items: Vec<Value>, q: &Query, path: &str, ctx: &Ctx, context: String) -> Value {
    let total = items.len();
    let size = q.page_size();
    let start = q.skip.min(total);
    let end = (start + size).min(total);
    let value: Vec<Value> = items.into_iter().skip(start).take(end - start).collect();
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(context));
    // Without `ConsistencyLevel: eventual` Graph silently ignores `$count=true` on directory
    // objects: no count, no error.
    if q.count && q.eventual {
        out.insert("@odata.count".into(), json!(total));
    }
    if end < total {
        let mut qs: Vec<String> = q
            .params
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY_VALUE), utf8_percent_encode(v, QUERY_VALUE)))
            .collect();
        qs.push(format!("$skiptoken={}", encode_skiptoken(end)));
        out.insert("@odata.nextLink".into(), json!(format!("{}/v1.0{}?{}", ctx.origin, path, qs.join("&"))));
    }
    out.insert("value".into(), Value::Array(value));
    Value::Object(out)
}

/// The `$filter` forms supported: `prop eq 'literal'` and `startswith(prop,'literal')`.
#[derive(Debug, PartialEq)]
pub enum Filter {
    Eq(String, String),
    StartsWith(String, String),
}

impl Filter {
    pub fn matches(&self, obj: &Map<String, Value>) -> bool {
        let get = |p: &str| obj.get(p).and_then(Value::as_str).map(str::to_lowercase);
        match self {
            Filter::Eq(p, lit) => get(p).is_some_and(|v| v == lit.to_lowercase()),
            Filter::StartsWith(p, lit) => get(p).is_some_and(|v| v.starts_with(&lit.to_lowercase())),
        }
    }
}

/// Parse a filter, accepting only the listed properties for each form.
pub fn parse_filter(s: &str, eq_props: &[&str], sw_props: &[&str], ctx: &Ctx) -> Result<Filter, Reply> {
    let unsupported = || ctx.error(400, "Request_UnsupportedQuery", "Unsupported Query.");
    let s = s.trim();
    let canon = |p: &str, allowed: &[&str]| allowed.iter().find(|a| a.eq_ignore_ascii_case(p)).map(|a| a.to_string());
    if let Some(rest) = strip_prefix_ci(s, "startswith(") {
        let (prop, rest) = rest.split_once(',').ok_or_else(unsupported)?;
        let prop = canon(prop.trim(), sw_props).ok_or_else(unsupported)?;
        let (lit, rest) = literal(rest.trim_start()).ok_or_else(unsupported)?;
        if rest.trim() != ")" {
            return Err(unsupported());
        }
        return Ok(Filter::StartsWith(prop, lit));
    }
    let (prop, rest) = s.split_once(char::is_whitespace).ok_or_else(unsupported)?;
    let prop = canon(prop, eq_props).ok_or_else(unsupported)?;
    let rest = strip_prefix_ci(rest.trim_start(), "eq").ok_or_else(unsupported)?;
    let (lit, rest) = literal(rest.trim_start()).ok_or_else(unsupported)?;
    if !rest.trim().is_empty() {
        return Err(unsupported());
    }
    Ok(Filter::Eq(prop, lit))
}

pub fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) && s[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// A quoted OData string literal (`''` inside means `'`); returns it and what follows.
pub fn literal(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('\'')?.char_indices().peekable();
    let body = &s[1..];
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if matches!(chars.peek(), Some((_, '\''))) {
                chars.next();
                out.push('\'');
            } else {
                return Some((out, &body[i + 1..]));
            }
        } else {
            out.push(c);
        }
    }
    None
}
