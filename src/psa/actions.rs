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
//! matches only mean it is already done. A tenant without a PSA skips the step and says so; so
//! does a PSA that is down (a failed check would stop the whole offboarding at the plan).

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;

use super::Contact;
use crate::entra::actions::UserRef;
use crate::exec::{Action, ActionError, Cx, Observation, Target};
use crate::psa::PsaAccess;

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
        let matches = match psa.find_contacts(&self.email).await {
            Ok(m) => m,
            // A PSA outage must not block the offboarding (a failed check in the plan would):
            // the step says it was not checked, and the next run does it.
            Err(e) if e.is_unavailable() => {
                return Ok(Observation::Skip {
                    reason: format!("not checked: {e}; run the offboarding again later to deactivate the contact"),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let active: Vec<&Contact> = matches.iter().filter(|c| c.active).collect();
        let company = psa.company_id();
        match (matches.len(), active.len()) {
            (0, _) => {
                Ok(Observation::Skip { reason: format!("no {} contact with e-mail {} in company {company}", psa.kind(), self.email) })
            }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::exec::Providers;
    use crate::journal::{Mode, SqliteJournal};
    use crate::psa::fake::FakePsa;

    fn contact(id: &str, active: bool) -> Contact {
        Contact { id: id.into(), name: format!("Lee {id}"), email: "lee@contoso.test".into(), company_id: "7".into(), active }
    }

    fn cx(psa: Option<Arc<FakePsa>>) -> Cx {
        let mut providers = Providers::default();
        if let Some(p) = psa {
            crate::psa::provide_psa(&mut providers, p);
        }
        Cx::new("t".into(), "r".into(), Mode::Apply, Arc::new(SqliteJournal::open_in_memory().unwrap()), providers, Default::default())
    }

    fn action() -> DisableContact {
        DisableContact::new(UserRef { id: "u1".into(), upn: "lee@contoso.test".into() }, "lee@contoso.test".into())
    }

    #[tokio::test]
    async fn deactivates_the_one_active_contact_and_records_its_prior_state() {
        let psa = Arc::new(FakePsa::default());
        psa.contacts.lock().unwrap().extend([contact("1", false), contact("2", true)]);
        let (a, cx) = (action(), cx(Some(psa.clone())));
        let Observation::Needed { prior, detail } = a.observe(&cx).await.unwrap() else { panic!("needed") };
        assert_eq!(prior["contact_id"], "2");
        assert_eq!(prior["active"], true);
        assert!(detail.contains("#2 Lee 2"), "{detail}");
        assert_eq!(a.target().id, "2");
        a.apply(&cx).await.unwrap();
        assert!(matches!(a.observe(&cx).await.unwrap(), Observation::AlreadyDone { .. }));
    }

    #[tokio::test]
    async fn several_active_matches_are_an_error_naming_them() {
        let psa = Arc::new(FakePsa::default());
        psa.contacts.lock().unwrap().extend([contact("1", true), contact("2", true)]);
        let e = action().observe(&cx(Some(psa))).await.unwrap_err().to_string();
        assert!(e.contains("2 active fake contacts") && e.contains("#1 Lee 1") && e.contains("#2 Lee 2"), "{e}");
    }

    #[tokio::test]
    async fn no_psa_or_no_contact_is_skipped_with_the_reason() {
        let Observation::Skip { reason } = action().observe(&cx(None)).await.unwrap() else { panic!("skip") };
        assert!(reason.contains("no PSA configured"), "{reason}");
        let Observation::Skip { reason } = action().observe(&cx(Some(Arc::new(FakePsa::default())))).await.unwrap() else { panic!("skip") };
        assert!(reason.contains("no fake contact with e-mail lee@contoso.test in company 7"), "{reason}");
        let down = Arc::new(FakePsa::default());
        down.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let Observation::Skip { reason } = action().observe(&cx(Some(down))).await.unwrap() else { panic!("skip") };
        assert!(reason.starts_with("not checked: ") && reason.contains("503"), "{reason}");
    }
}
