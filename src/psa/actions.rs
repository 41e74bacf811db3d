//! `disable_psa_contact`: deactivate the departing user's contact in the client's PSA company
//! (`offboarding-anchors.md` F18).
//!
//! | PSA | find | deactivate |
//! |---|---|---|
//! | ConnectWise | `GET /company/contacts?conditions=company/id=N&childConditions=…` | `PATCH /company/contacts/{id}` inactiveFlag |
//! | Autotask | `POST /Contacts/query` (emailAddress, companyID) | `PATCH /Companies/{companyID}/Contacts {id, isActive:0}` |
//! | Halo | `GET /Users?search=…&client_id=N` | `POST /Users [{id, inactive:true}]` |
//!
//! The contact is found by e-mail in the client's company. Several *active* matches are an error
//! naming them (deactivating the wrong person's contact is worse than doing nothing); inactive
//! matches only mean it is already done. A tenant without a PSA skips the step and says so.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;

use super::Contact;
use crate::entra::actions::UserRef;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct DisableContact {
    pub user: UserRef,
    /// The address the contact is looked up by (the user's mail, else the UPN).
    pub email: String,
    /// The contact found by `observe`, for `apply` and the journal's target.
    found: Mutex<Option<Contact>>,
}

impl DisableContact {
    pub fn new(user: UserRef, email: String) -> DisableContact {
        DisableContact { user, email, found: Mutex::new(None) }
    }

    fn found(&self) -> Option<Contact> {
        self.found.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn describe(c: &Contact) -> String {
    format!("#{} {} <{}> ({})", c.id, c.name, c.email, if c.active { "active" } else { "inactive" })
}

#[async_trait]
impl Action for DisableContact {
    fn action(&self) -> &'static str {
        "disable_psa_contact"
    }
    fn directory(&self) -> &'static str {
        "psa"
    }
    fn target(&self) -> Target {
        match self.found() {
            Some(c) => Target { kind: "psa_contact", id: c.id.clone(), display: format!("{} <{}>", c.name, c.email) },
            None => Target { kind: "psa_contact", id: String::new(), display: self.email.clone() },
        }
    }
    fn subject_id(&self) -> String {
        self.user.id.clone()
    }
    fn params(&self) -> serde_json::Value {
        json!({"email": self.email})
    }
    fn idempotent(&self) -> bool {
        true
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let Some(psa) = cx.providers.psa() else {
            return Ok(Observation::Skip { reason: "this tenant has no PSA configured ([tenants.<name>.psa])".into() });
        };
        let matches = psa.find_contacts(&self.email).await?;
        let active: Vec<&Contact> = matches.iter().filter(|c| c.active).collect();
        let company = psa.company_id();
        match (matches.len(), active.len()) {
            (0, _) => Ok(Observation::Skip { reason: format!("no {} contact with e-mail {} in company {company}", psa.kind(), self.email) }),
            (_, 0) => {
                *self.found.lock().unwrap_or_else(|p| p.into_inner()) = matches.first().cloned();
                Ok(Observation::AlreadyDone {
                    detail: format!("already inactive: {}", matches.iter().map(describe).collect::<Vec<_>>().join(", ")),
                })
            }
            (_, 1) => {
                let c = active[0].clone();
                let detail = format!("deactivate {} contact {}", psa.kind(), describe(&c));
                let prior = json!({"psa": psa.kind(), "contact_id": c.id, "company_id": c.company_id, "active": true});
                *self.found.lock().unwrap_or_else(|p| p.into_inner()) = Some(c);
                Ok(Observation::Needed { prior, detail })
            }
            _ => Err(ActionError::Other(format!(
                "{} active {} contacts have the e-mail {} in company {company}: {}; deactivate the right one by hand",
                active.len(),
                psa.kind(),
                self.email,
                active.iter().map(|c| describe(c)).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let psa = cx.providers.psa().ok_or_else(|| ActionError::Other("this tenant has no PSA configured".into()))?;
        let c = self.found().ok_or_else(|| ActionError::Other("no contact was observed".into()))?;
        psa.deactivate_contact(&c).await?;
        Ok(format!("{} contact #{} {} deactivated", psa.kind(), c.id, c.name))
    }
}
