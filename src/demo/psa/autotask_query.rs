//! The query language of the simulated Autotask: the JSON filter (`{"op","field","value"}` and
//! nested `and` / `or` groups), `MaxRecords`, `IncludeFields`, and paging by `nextPageUrl`.
//!
//! The operators are the ones Autotask documents (REST_Basic_Query_Calls.htm): comparison
//! (`eq`, `noteq`, `gt`, `gte`, `lt`, `lte`), string (`beginsWith`, `endsWith`, `contains`), null
//! (`exist`, `notExist`) and list (`in`, `notIn`). An operator Autotask does not know is an error,
//! not a filter that silently matches nothing: a typo in a client must fail here as it fails there.
//! Strings compare ignoring case, as Autotask's SQL collation does.
//!
//! Results come sorted by id, at most `MaxRecords` (1 to 500, default 500) a page; when more
//! remain, `pageDetails.nextPageUrl` is an absolute GET URL (`…/{Entity}/query/next?paging=…&search=…`)
//! that carries the query and the last id seen, as Autotask's does.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

pub(super) const MAX_RECORDS: usize = 500;

/// A value from an object by a key matched ignoring case (Autotask reads JSON that way).
pub(super) fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    }
}

/// Numbers compare as numbers (a numeric string counts: Autotask converts to the field's type),
/// everything else as case-folded text (ISO dates order correctly as text).
fn compare(have: &Value, want: &Value) -> Ordering {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (num(have), num(want)) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => text(have).cmp(&text(want)),
    }
}

/// Does `entity` pass `filter`? A top-level array is an AND of its items. `Err` names what
/// Autotask would refuse (an unknown operator, a list operator without a list).
pub(super) fn matches(entity: &Value, filter: &Value) -> Result<bool, String> {
    let all = |items: &[Value]| -> Result<bool, String> {
        let mut ok = true;
        for f in items {
            // Evaluate every item, so a bad operator is reported even after a non-match.
            ok &= matches(entity, f)?;
        }
        Ok(ok)
    };
    let Value::Object(_) = filter else {
        return match filter {
            Value::Array(items) => all(items),
            _ => Err("The filter must be an array of filter expressions.".into()),
        };
    };
    let op = get_ci(filter, "op").and_then(Value::as_str).unwrap_or_default();
    let items: &[Value] = get_ci(filter, "items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let name = get_ci(filter, "field").and_then(Value::as_str).unwrap_or_default();
    let want = get_ci(filter, "value").unwrap_or(&Value::Null);
    let have = get_ci(entity, name).unwrap_or(&Value::Null);
    let present = !have.is_null();
    let list = || want.as_array().ok_or_else(|| format!("The '{op}' operator requires an array value."));
    Ok(match op.to_ascii_lowercase().as_str() {
        "and" => all(items)?,
        "or" => {
            let mut any = false;
            for f in items {
                any |= matches(entity, f)?;
            }
            any
        }
        "eq" => present && compare(have, want) == Ordering::Equal,
        // SQL semantics: a null field is neither equal nor unequal to a value.
        "noteq" => present && compare(have, want) != Ordering::Equal,
        "gt" => present && compare(have, want) == Ordering::Greater,
        "gte" => present && compare(have, want) != Ordering::Less,
        "lt" => present && compare(have, want) == Ordering::Less,
        "lte" => present && compare(have, want) != Ordering::Greater,
        "beginswith" => present && text(have).starts_with(&text(want)),
        "endswith" => present && text(have).ends_with(&text(want)),
        // Autotask runs `contains` as SQL Server's LIKE, where `[…]` is a character class: a
        // bracketed text never matches itself.
        "contains" => present && !text(want).contains('[') && text(have).contains(&text(want)),
        "exist" => present,
        "notexist" => !present,
        "in" => present && list()?.iter().any(|w| compare(have, w) == Ordering::Equal),
        "notin" => present && !list()?.iter().any(|w| compare(have, w) == Ordering::Equal),
        _ => return Err(format!("Invalid filter operator: '{op}'.")),
    })
}

/// The parts of a query body (or of the `search` parameter) the simulator reads.
pub(super) struct Search {
    pub filter: Value,
    pub max_records: usize,
    pub include_fields: Vec<String>,
    /// The whole query as received, carried in `nextPageUrl`.
    pub raw: Value,
}

impl Search {
    pub fn parse(raw: &Value) -> Result<Search, String> {
        let filter = get_ci(raw, "filter").cloned().unwrap_or(Value::Array(vec![]));
        let max_records = match get_ci(raw, "MaxRecords") {
            None | Some(Value::Null) => MAX_RECORDS,
            Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if (1..=MAX_RECORDS).contains(&n) => n,
                _ => return Err(format!("MaxRecords must be between 1 and {MAX_RECORDS}.")),
            },
        };
        let include_fields = get_ci(raw, "IncludeFields")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default();
        Ok(Search { filter, max_records, include_fields, raw: raw.clone() })
    }
}

/// One page of `rows` (each with an `id`) for `search`, after the id `after` (a next page).
/// `next_base` is the absolute `…/{Entity}/query/next` URL. A page after the first also links
/// back (`prevPageUrl`) to the page before it, in the same form, as Autotask's page details do.
pub(super) fn page(mut rows: Vec<Value>, search: &Search, after: i64, next_base: &str) -> Result<Value, String> {
    let id = |r: &Value| get_ci(r, "id").and_then(Value::as_i64).unwrap_or_default();
    rows.sort_by_key(id);
    let (mut earlier, mut found) = (Vec::new(), Vec::new());
    for r in rows {
        if matches(&r, &search.filter)? {
            if id(&r) > after {
                found.push(r)
            } else {
                earlier.push(id(&r))
            }
        }
    }
    let link = |last_id: i64| {
        let paging = json!({"pageSize": search.max_records, "lastId": last_id}).to_string();
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        json!(format!("{next_base}?paging={}&search={}", enc(&paging), enc(&search.raw.to_string())))
    };
    let more = found.len() > search.max_records;
    found.truncate(search.max_records);
    let next = match (more, found.last()) {
        (true, Some(last)) => link(id(last)),
        _ => Value::Null,
    };
    // The previous page holds the last `max_records` matches up to `after`; it starts after the
    // match before them (or from the beginning).
    let prev = match earlier.len() {
        0 => Value::Null,
        n => link(n.checked_sub(search.max_records + 1).map(|i| earlier[i]).unwrap_or(0)),
    };
    let items: Vec<Value> = found.into_iter().map(|r| project(r, &search.include_fields)).collect();
    Ok(
        json!({"items": items, "pageDetails": {"count": items.len(), "requestCount": search.max_records, "prevPageUrl": prev, "nextPageUrl": next}}),
    )
}

/// `IncludeFields`: only the named fields (and always `id`, which Autotask always returns).
fn project(row: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return row;
    }
    let Value::Object(m) = row else { return row };
    let kept: Map<String, Value> = m.into_iter().filter(|(k, _)| k == "id" || fields.iter().any(|f| f.eq_ignore_ascii_case(k))).collect();
    Value::Object(kept)
}

/// The `paging` parameter of a `query/next` URL: the last id of the previous page.
pub(super) fn after_id(paging: Option<&str>) -> Option<i64> {
    let v: Value = serde_json::from_str(paging?).ok()?;
    get_ci(&v, "lastId").and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> Value {
        json!({"id": 7, "firstName": "Lee", "emailAddress": "Lee@Contoso.test", "isActive": 1, "title": null})
    }

    fn m(f: Value) -> Result<bool, String> {
        matches(&contact(), &f)
    }

    #[test]
    fn every_documented_operator_filters() {
        let cases = [
            (json!({"op": "noteq", "field": "firstName", "value": "lee"}), false),
            (json!({"op": "noteq", "field": "firstName", "value": "sam"}), true),
            (json!({"op": "gt", "field": "id", "value": 6}), true),
            (json!({"op": "gt", "field": "id", "value": "7"}), false),
            (json!({"op": "gte", "field": "id", "value": 7}), true),
            (json!({"op": "lt", "field": "id", "value": 7}), false),
            (json!({"op": "lte", "field": "id", "value": 7}), true),
            (json!({"op": "beginsWith", "field": "emailAddress", "value": "lee@"}), true),
            (json!({"op": "endsWith", "field": "emailAddress", "value": "@fabrikam.test"}), false),
            (json!({"op": "exist", "field": "title"}), false),
            (json!({"op": "notExist", "field": "title"}), true),
            (json!({"op": "in", "field": "id", "value": [1, 7]}), true),
            (json!({"op": "notIn", "field": "id", "value": [1, 7]}), false),
            (json!({"op": "or", "items": [{"op": "eq", "field": "id", "value": 1}, {"op": "eq", "field": "isActive", "value": 1}]}), true),
            (
                json!({"op": "and", "items": [{"op": "eq", "field": "id", "value": 7}, {"op": "eq", "field": "isActive", "value": 0}]}),
                false,
            ),
        ];
        for (f, want) in cases {
            assert_eq!(m(f.clone()), Ok(want), "{f}");
        }
    }

    #[test]
    fn an_unknown_operator_or_a_list_operator_without_a_list_is_an_error() {
        assert!(m(json!({"op": "like", "field": "firstName", "value": "L%"})).unwrap_err().contains("like"));
        assert!(m(json!([{"op": "eq", "field": "id", "value": 1}, {"op": "neq", "field": "id", "value": 1}])).is_err());
        assert!(m(json!({"op": "in", "field": "id", "value": 7})).is_err());
    }

    #[test]
    fn pages_follow_the_last_id_and_stop() {
        let rows: Vec<Value> = (1..=5).rev().map(|i| json!({"id": i, "isActive": 1})).collect();
        let s = Search::parse(&json!({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 2})).expect("search");
        let p1 = page(rows.clone(), &s, 0, "http://x/Contacts/query/next").expect("page");
        assert_eq!(p1["items"], json!([{"id": 1, "isActive": 1}, {"id": 2, "isActive": 1}]));
        let next = p1["pageDetails"]["nextPageUrl"].as_str().expect("next");
        let paging = url::Url::parse(next).expect("url").query_pairs().find(|(k, _)| k == "paging").map(|(_, v)| v.into_owned());
        assert_eq!(after_id(paging.as_deref()), Some(2));
        assert_eq!(p1["pageDetails"]["prevPageUrl"], Value::Null, "the first page has no previous one");
        let p3 = page(rows.clone(), &s, 4, "http://x").expect("page");
        assert_eq!((p3["items"].as_array().map(Vec::len), &p3["pageDetails"]["nextPageUrl"]), (Some(1), &Value::Null));
        // Back from the third page (id 5) to the second (ids 3 and 4, after id 2), and from the
        // second to the first (after id 0).
        let back = |p: &Value| {
            let url = url::Url::parse(p["pageDetails"]["prevPageUrl"].as_str().expect("prev")).expect("url");
            after_id(url.query_pairs().find(|(k, _)| k == "paging").map(|(_, v)| v.into_owned()).as_deref())
        };
        assert_eq!(back(&p3), Some(2));
        assert_eq!(back(&page(rows, &s, 2, "http://x").expect("page")), Some(0));
        assert!(Search::parse(&json!({"MaxRecords": 501})).is_err());
    }
}
