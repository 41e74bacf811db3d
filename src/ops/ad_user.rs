//! The `AdUser` handle: an on-premises AD user as scripts see it (`ad::get_user`,
//! `ad::find_user`), with its properties; and the reference its write functions act on.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, Map};

use crate::ad::actions::AdUserRef;
use crate::ad::AdUser;

/// The resolved AD user handle (`AdUser` in scripts).
#[derive(Debug, Clone)]
pub struct AdUserHandle(pub Arc<AdUser>);

fn opt(s: &Option<String>) -> Dynamic {
    s.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT)
}

impl AdUserHandle {
    fn groups(&self) -> Array {
        self.0
            .groups
            .iter()
            .map(|g| {
                let mut m = Map::new();
                m.insert("dn".into(), g.dn.clone().into());
                m.insert("name".into(), g.name.clone().into());
                m.insert("scope".into(), g.scope.as_str().into());
                m.insert("security".into(), g.security.into());
                m.insert("primary".into(), g.primary.into());
                Dynamic::from_map(m)
            })
            .collect()
    }

    fn exchange(&self) -> Dynamic {
        match &self.0.exchange {
            None => Dynamic::UNIT,
            Some(x) => {
                let mut m = Map::new();
                m.insert("hidden_from_gal".into(), x.hidden_from_gal.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
                m.insert("remote_recipient_type".into(), x.remote_recipient_type.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
                m.insert("recipient_type_details".into(), x.recipient_type_details.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
                m.insert("remote_mailbox".into(), x.remote_recipient_type.is_some().into());
                m.insert("mail_nickname".into(), opt(&x.mail_nickname));
                Dynamic::from_map(m)
            }
        }
    }

    fn to_map(&self) -> Map {
        let u = &self.0;
        let mut m = Map::new();
        m.insert("guid".into(), u.guid.clone().into());
        m.insert("dn".into(), u.dn.clone().into());
        m.insert("ou".into(), u.parent().to_string().into());
        m.insert("sam".into(), u.sam.clone().into());
        m.insert("upn".into(), opt(&u.upn));
        m.insert("mail".into(), opt(&u.mail));
        m.insert("display_name".into(), opt(&u.display_name));
        m.insert("enabled".into(), u.enabled().into());
        m.insert("user_account_control".into(), (u.uac as i64).into());
        m.insert("employee_id".into(), opt(&u.employee_id));
        m.insert("manager".into(), opt(&u.manager));
        m.insert("groups".into(), self.groups().into());
        m.insert("exchange".into(), self.exchange());
        m
    }
}

pub fn register_type(engine: &mut Engine) {
    engine
        .register_type_with_name::<AdUserHandle>("AdUser")
        .register_get("guid", |u: &mut AdUserHandle| u.0.guid.clone())
        .register_get("dn", |u: &mut AdUserHandle| u.0.dn.clone())
        .register_get("ou", |u: &mut AdUserHandle| u.0.parent().to_string())
        .register_get("sam", |u: &mut AdUserHandle| u.0.sam.clone())
        .register_get("upn", |u: &mut AdUserHandle| opt(&u.0.upn))
        .register_get("mail", |u: &mut AdUserHandle| opt(&u.0.mail))
        .register_get("display_name", |u: &mut AdUserHandle| opt(&u.0.display_name))
        .register_get("enabled", |u: &mut AdUserHandle| u.0.enabled())
        .register_get("user_account_control", |u: &mut AdUserHandle| u.0.uac as i64)
        .register_get("employee_id", |u: &mut AdUserHandle| opt(&u.0.employee_id))
        .register_get("manager", |u: &mut AdUserHandle| opt(&u.0.manager))
        .register_get("groups", |u: &mut AdUserHandle| u.groups())
        .register_get("primary_group", |u: &mut AdUserHandle| {
            u.0.primary_group().map(|g| Dynamic::from(g.name.clone())).unwrap_or(Dynamic::UNIT)
        })
        .register_get("exchange", |u: &mut AdUserHandle| u.exchange())
        .register_fn("to_map", |u: &mut AdUserHandle| u.to_map())
        .register_fn("to_string", |u: &mut AdUserHandle| format!("{} (AD {})", u.0.display(), u.0.dn))
        .register_fn("to_debug", |u: &mut AdUserHandle| format!("AdUser({})", u.0.dn));
}

/// The identity of the AD user that actions carry (the GUID the directory returned).
pub(crate) fn ad_user_ref(u: &AdUserHandle) -> AdUserRef {
    AdUserRef { guid: u.0.guid.clone(), dn: u.0.dn.clone(), display: u.0.display() }
}
