//! `User`: the resolved user handle scripts pass to write functions.
//!
//! Only `graph::get_user` creates one, so every write acts on an object id that the directory
//! returned, never on a string the script typed (a typo cannot aim a write at another account).
//! Properties are read-only snapshots taken when the user was resolved; actions re-read the live
//! state before writing.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map};

use crate::entra::CloudUser;

#[derive(Debug, Clone)]
pub struct User(pub Arc<CloudUser>);

fn opt(s: &Option<String>) -> Dynamic {
    s.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT)
}

impl User {
    pub fn groups(&self) -> Array {
        self.0
            .groups
            .iter()
            .map(|g| {
                let mut m = Map::new();
                m.insert("id".into(), g.id.clone().into());
                m.insert("name".into(), g.name.clone().into());
                m.insert("kind".into(), g.kind.as_str().into());
                m.insert("dynamic".into(), g.dynamic.into());
                m.insert("synced".into(), g.synced.into());
                m.insert("mail".into(), opt(&g.mail));
                m.insert("license_group".into(), (!g.license_skus.is_empty()).into());
                let reason = g.hold_reason();
                m.insert("removable".into(), reason.is_none().into());
                m.insert("reason".into(), reason.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
                Dynamic::from_map(m)
            })
            .collect()
    }

    pub fn licenses(&self) -> Array {
        self.0
            .licenses
            .iter()
            .map(|l| {
                let mut m = Map::new();
                m.insert("sku_id".into(), l.sku_id.clone().into());
                m.insert("sku".into(), l.sku.clone().into());
                m.insert("direct".into(), l.direct.into());
                let via: Array =
                    l.via_groups.iter().map(|g| self.0.group(g).map(|g| g.name.clone()).unwrap_or_else(|| g.clone()).into()).collect();
                m.insert("via_groups".into(), via.into());
                Dynamic::from_map(m)
            })
            .collect()
    }

    pub fn manager(&self) -> Dynamic {
        match &self.0.manager {
            None => Dynamic::UNIT,
            Some(mg) => {
                let mut m = Map::new();
                m.insert("id".into(), mg.id.clone().into());
                m.insert("upn".into(), mg.upn.clone().into());
                m.insert("display_name".into(), mg.display_name.clone().into());
                m.insert("mail".into(), opt(&mg.mail));
                Dynamic::from_map(m)
            }
        }
    }

    pub fn to_map(&self) -> Map {
        let u = &self.0;
        let mut m = Map::new();
        m.insert("id".into(), u.id.clone().into());
        m.insert("upn".into(), u.upn.clone().into());
        m.insert("display_name".into(), u.display_name.clone().into());
        m.insert("mail".into(), opt(&u.mail));
        m.insert("account_enabled".into(), u.account_enabled.into());
        m.insert("synced".into(), u.synced.into());
        m.insert("employee_id".into(), opt(&u.employee_id));
        m.insert("job_title".into(), opt(&u.job_title));
        m.insert("department".into(), opt(&u.department));
        m.insert("manager".into(), self.manager());
        m.insert("groups".into(), self.groups().into());
        m.insert("licenses".into(), self.licenses().into());
        m
    }
}

pub fn register_type(engine: &mut Engine) {
    engine
        .register_type_with_name::<User>("User")
        .register_get("id", |u: &mut User| u.0.id.clone())
        .register_get("upn", |u: &mut User| u.0.upn.clone())
        .register_get("display_name", |u: &mut User| u.0.display_name.clone())
        .register_get("mail", |u: &mut User| opt(&u.0.mail))
        .register_get("account_enabled", |u: &mut User| u.0.account_enabled)
        .register_get("synced", |u: &mut User| u.0.synced)
        .register_get("employee_id", |u: &mut User| opt(&u.0.employee_id))
        .register_get("job_title", |u: &mut User| opt(&u.0.job_title))
        .register_get("department", |u: &mut User| opt(&u.0.department))
        .register_get("manager", |u: &mut User| u.manager())
        .register_get("groups", |u: &mut User| u.groups())
        .register_get("licenses", |u: &mut User| u.licenses())
        .register_fn("to_map", |u: &mut User| u.to_map())
        .register_fn("to_string", |u: &mut User| format!("{} <{}>", u.0.display_name, u.0.upn))
        .register_fn("to_debug", |u: &mut User| format!("User({})", u.0.upn));
}

/// One property of `User`, for the reference and the editor definitions.
pub struct Property {
    pub name: &'static str,
    /// As shown in the reference; `X or ()` when the value may be missing.
    pub ty: &'static str,
    pub doc: &'static str,
}

/// Every property `register_type` registers, documented (a test keeps the two in step).
pub const PROPERTIES: &[Property] = &[
    Property { name: "id", ty: "String", doc: "Directory object id: what every write acts on." },
    Property { name: "upn", ty: "String", doc: "User principal name, e.g. `leaver.cloud@contoso.test`." },
    Property { name: "display_name", ty: "String", doc: "Display name." },
    Property { name: "mail", ty: "String or ()", doc: "Primary e-mail address; `()` when the user has none." },
    Property { name: "account_enabled", ty: "bool", doc: "Sign-in allowed, when the user was resolved." },
    Property { name: "synced", ty: "bool", doc: "Synced from on-premises AD: AD is the source of authority and steps that belong there are skipped." },
    Property { name: "employee_id", ty: "String or ()", doc: "Employee id; `()` when not set." },
    Property { name: "job_title", ty: "String or ()", doc: "Job title; `()` when not set." },
    Property { name: "department", ty: "String or ()", doc: "Department; `()` when not set." },
    Property { name: "manager", ty: "Map or ()", doc: "`#{id, upn, display_name, mail}` of the manager; `()` when none." },
    Property {
        name: "groups",
        ty: "Array",
        doc: "One map per group: `#{id, name, kind, dynamic, synced, mail, license_group, removable, reason}`. `kind` is the group type; `removable` is false, with the `reason`, when Graph cannot change the membership (dynamic, synced, mail-enabled, distribution list); `license_group` when the group assigns licences.",
    },
    Property {
        name: "licenses",
        ty: "Array",
        doc: "One map per licence: `#{sku_id, sku, direct, via_groups}`. `direct` when assigned to the user; `via_groups` names the groups that assign it.",
    },
];

/// Methods of `User` besides its properties: (signature, doc).
pub const METHODS: &[(&str, &str, &str)] =
    &[("to_map", "Map", "Every property as one map (for printing or serialising)."), ("to_string", "String", "`Display Name <upn>`.")];
