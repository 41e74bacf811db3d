//! Searching the directory's users: the filter a technician gives (department, name prefix,
//! disabled, licence) as one Graph `$filter`, and the users found.
//!
//! Every value goes through [`odata_string`] (quotes doubled), so `O'Brien` is a name and not the
//! end of the literal. The query is sent as an advanced query (`ConsistencyLevel: eventual` and
//! `$count=true`): the filters themselves work by default, but only an advanced query returns
//! `@odata.count`, which lets the caller say how many matched when it lists fewer, and sort by
//! display name together with a `$filter` (Graph refuses that combination otherwise).

use serde::Serialize;
use serde_json::Value;

use crate::graph::{odata_string, query_value};

/// The properties listed for each user found.
pub const LIST_SELECT: &str = "id,userPrincipalName,displayName,mail,department,jobTitle,accountEnabled,assignedLicenses";

/// What to search for; every filter given must match (`and`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    /// Exact department (Graph compares it ignoring case).
    pub department: Option<String>,
    /// Prefix of the display name, given name, surname or UPN.
    pub name: Option<String>,
    /// `Some(true)`: only blocked accounts (`accountEnabled eq false`); `Some(false)`: only enabled.
    pub disabled: Option<bool>,
    /// The skuId (a GUID) of a licence the user has.
    pub sku_id: Option<String>,
    /// At most this many users are read.
    pub max: usize,
}

impl UserQuery {
    /// The `$filter` expression, or None when nothing is filtered.
    pub fn filter(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(d) = &self.department {
            parts.push(format!("department eq {}", odata_string(d)));
        }
        if let Some(n) = &self.name {
            let n = odata_string(n);
            parts.push(format!(
                "(startswith(displayName,{n}) or startswith(givenName,{n}) or startswith(surname,{n}) or startswith(userPrincipalName,{n}))"
            ));
        }
        if let Some(disabled) = self.disabled {
            parts.push(format!("accountEnabled eq {}", !disabled));
        }
        if let Some(sku) = &self.sku_id {
            // A GUID literal is unquoted in OData; only a well-formed one is pasted (see `is_guid`).
            parts.push(format!("assignedLicenses/any(x:x/skuId eq {sku})"));
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }

    /// The request path: `/users?$filter=...&$select=...&$orderby=displayName&$count=true&$top=N`.
    pub fn path(&self) -> String {
        let mut path = format!("/users?$select={LIST_SELECT}&$orderby=displayName&$count=true&$top={}", self.max.clamp(1, 999));
        if let Some(f) = self.filter() {
            path.push_str(&format!("&$filter={}", query_value(&f)));
        }
        path
    }
}

/// Is `s` a GUID (8-4-4-4-12 hex digits)? Only such a value goes unquoted into a filter.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// One user found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ListedUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub account_enabled: bool,
    /// Part numbers of the licences (the skuId when the tenant's subscriptions do not name it).
    pub licenses: Vec<String>,
}

impl ListedUser {
    /// From a Graph user (under [`LIST_SELECT`]), with the part numbers from `skus`.
    pub fn from_graph(v: &Value, skus: &super::SkuMap) -> ListedUser {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let licenses = v
            .get("assignedLicenses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.get("skuId").and_then(Value::as_str))
                    .map(|id| skus.get(&id.to_ascii_lowercase()).map(|i| i.part.clone()).unwrap_or_else(|| id.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        ListedUser {
            id: s("id").unwrap_or_default(),
            upn: s("userPrincipalName").unwrap_or_default(),
            display_name: s("displayName").unwrap_or_default(),
            mail: s("mail"),
            department: s("department"),
            job_title: s("jobTitle"),
            account_enabled: v.get("accountEnabled").and_then(Value::as_bool).unwrap_or(false),
            licenses,
        }
    }
}

/// Users found, at most the query's `max` of them.
#[derive(Debug, Clone, Default)]
pub struct UserList {
    pub users: Vec<ListedUser>,
    /// How many match in all, when Graph said (`@odata.count`).
    pub total: Option<u64>,
    /// More matched than are listed.
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_joins_what_was_given_and_escapes_quotes() {
        let q = UserQuery {
            department: Some("Sales".into()),
            name: Some("O'Br".into()),
            disabled: Some(true),
            sku_id: Some("c7df2760-2c81-4ef7-b578-5b5392b571df".into()),
            max: 50,
        };
        assert_eq!(
            q.filter().unwrap(),
            "department eq 'Sales' and (startswith(displayName,'O''Br') or startswith(givenName,'O''Br') or \
             startswith(surname,'O''Br') or startswith(userPrincipalName,'O''Br')) and accountEnabled eq false and \
             assignedLicenses/any(x:x/skuId eq c7df2760-2c81-4ef7-b578-5b5392b571df)"
        );
        // The injection attempt stays inside its literal.
        let evil = UserQuery { department: Some("x' or accountEnabled eq true or department eq 'y".into()), max: 5, ..Default::default() };
        assert_eq!(evil.filter().unwrap(), "department eq 'x'' or accountEnabled eq true or department eq ''y'");
        assert!(UserQuery { max: 5, ..Default::default() }.filter().is_none());
        assert!(q.path().starts_with("/users?$select=") && q.path().contains("&$count=true&$top=50&$filter=department%20eq%20%27Sales%27"));
    }

    #[test]
    fn only_well_formed_guids_are_guids() {
        assert!(is_guid("c7df2760-2c81-4ef7-b578-5b5392b571df"));
        assert!(!is_guid("c7df2760-2c81-4ef7-b578-5b5392b571dz"));
        assert!(!is_guid("ENTERPRISEPACK"));
        assert!(!is_guid("c7df2760-2c81-4ef7-b578-5b5392b571df) or (true"));
    }
}
