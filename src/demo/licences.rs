//! Licences: `assignLicense`, `licenseDetails` and `subscribedSkus`.
//!
//! A SKU can reach a user directly or through a group; Graph refuses to remove an inherited one
//! directly, and keeps one `licenseAssignmentStates` entry per path while `assignedLicenses` lists
//! the SKU once. Seats are derived from who holds what, so they can't drift from the users.

use serde_json::{json, Value};

use super::ids::derived_id;
use super::model::{LicenseState, State};
use super::odata::{self, Query};
use super::reply::{now, Ctx, Reply};
use super::users;

fn invalid_body(ctx: &Ctx, why: &str) -> Reply {
    ctx.error(400, "Request_BadRequest", &format!("Invalid value specified for property '{why}' of resource 'User'."))
}

pub fn assign(st: &mut State, ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return ctx.error(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        );
    };
    let (Some(add), Some(remove)) = (obj.get("addLicenses"), obj.get("removeLicenses")) else {
        return ctx.error(400, "Request_BadRequest", "Both addLicenses and removeLicenses must be specified.");
    };
    let (Some(add), Some(remove)) = (add.as_array(), remove.as_array()) else {
        return invalid_body(ctx, "addLicenses");
    };
    let mut adds: Vec<(String, Vec<String>)> = Vec::new();
    for a in add {
        let Some(sku) = a.get("skuId").and_then(Value::as_str) else { return invalid_body(ctx, "addLicenses") };
        let plans = match a.get("disabledPlans") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(p)) => p.iter().filter_map(Value::as_str).map(String::from).collect(),
            Some(_) => return invalid_body(ctx, "disabledPlans"),
        };
        adds.push((sku.to_ascii_lowercase(), plans));
    }
    let mut removes: Vec<String> = Vec::new();
    for r in remove {
        let Some(sku) = r.as_str() else { return invalid_body(ctx, "removeLicenses") };
        removes.push(sku.to_ascii_lowercase());
    }

    // Check everything before changing anything: a refused call assigns nothing.
    let user = &st.users[uix];
    for (sku, _) in &adds {
        let Some(s) = st.sku(sku) else {
            return ctx.bad_request(&format!("License {sku} does not correspond to a valid company License."));
        };
        if user.usage_location.as_deref().is_none_or(str::is_empty) {
            return ctx.bad_request("License assignment cannot be done for user with invalid usage location.");
        }
        if !user.has_sku(sku) && st.consumed_units(sku) >= s.enabled_units {
            return ctx.bad_request(&format!("Subscription {} for {} does not have any available licenses.", s.sku_id, s.sku_part_number));
        }
    }
    for sku in &removes {
        let states: Vec<&LicenseState> = user.license_assignment_states.iter().filter(|s| s.sku_id.eq_ignore_ascii_case(sku)).collect();
        if states.is_empty() {
            return ctx.bad_request("User does not have a corresponding license.");
        }
        if states.iter().all(|s| s.assigned_by_group.is_some()) {
            return ctx.bad_request("User license is inherited from a group membership and it cannot be removed directly from the user.");
        }
    }

    let stamp = now();
    let u = &mut st.users[uix];
    u.license_assignment_states.retain(|s| s.assigned_by_group.is_some() || !removes.iter().any(|r| s.sku_id.eq_ignore_ascii_case(r)));
    for (sku, plans) in adds {
        match u.license_assignment_states.iter_mut().find(|s| s.assigned_by_group.is_none() && s.sku_id.eq_ignore_ascii_case(&sku)) {
            Some(s) => {
                s.disabled_plans = plans;
                s.last_updated_date_time = stamp.clone();
            }
            None => u.license_assignment_states.push(LicenseState {
                sku_id: sku,
                assigned_by_group: None,
                state: "Active".into(),
                error: "None".into(),
                disabled_plans: plans,
                last_updated_date_time: stamp.clone(),
            }),
        }
    }
    match users::render(&st.users[uix], &Query::default(), ctx) {
        Ok(mut m) => {
            m.insert("@odata.context".into(), json!("https://graph.microsoft.com/v1.0/$metadata#users/$entity"));
            Reply::json(200, Value::Object(m)).changed()
        }
        Err(r) => r,
    }
}

pub fn details(st: &State, ctx: &Ctx, id: &str, q: &Query, path: &str) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let u = &st.users[uix];
    let items = u
        .assigned_licenses()
        .iter()
        .filter_map(|a| a.get("skuId").and_then(Value::as_str))
        .map(|sku| {
            let part = st.sku(sku).map(|s| s.sku_part_number.clone()).unwrap_or_default();
            json!({
                "id": derived_id("licenseDetails", &format!("{}:{sku}", u.id)),
                "skuId": sku,
                "skuPartNumber": part,
                "servicePlans": st.sku(sku).map(|s| s.service_plans_json()).unwrap_or_else(|| json!([])),
            })
        })
        .collect();
    let context = format!("https://graph.microsoft.com/v1.0/$metadata#users('{}')/licenseDetails", u.id);
    Reply::json(200, odata::page(items, q, path, ctx, context))
}

pub fn subscribed_skus(st: &State, _ctx: &Ctx) -> Reply {
    let value: Vec<Value> = st
        .skus
        .iter()
        .map(|s| {
            json!({
                "id": format!("{}_{}", st.tenant_id, s.sku_id),
                "skuId": s.sku_id,
                "skuPartNumber": s.sku_part_number,
                "consumedUnits": st.consumed_units(&s.sku_id),
                "prepaidUnits": {"enabled": s.enabled_units, "suspended": 0, "warning": 0, "lockedOut": 0},
                "capabilityStatus": "Enabled",
                "appliesTo": "User",
                "servicePlans": s.service_plans_json(),
            })
        })
        .collect();
    Reply::json(200, json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus", "value": value}))
}
