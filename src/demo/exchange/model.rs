//! Exchange Online's side of the demo tenant: one mailbox per user, with what an offboarding
//! touches (type, forwarding, permissions, devices, inbox rules, automatic replies), and the
//! accepted domains. Persisted with the rest of the tenant in the state file.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::demo::ids::*;
use crate::demo::model::User;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExoState {
    pub accepted_domains: Vec<String>,
    pub mailboxes: Vec<Mailbox>,
    /// Numbers new rule identities.
    pub next_rule: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Mailbox {
    pub user_id: String,
    pub upn: String,
    /// The mailbox's Name/alias, which Exchange uses as its Identity.
    pub alias: String,
    pub display_name: String,
    /// `UserMailbox` or `SharedMailbox`.
    pub type_details: String,
    /// A type change in flight: the type, and when (unix ms) it becomes visible.
    pub pending_type: Option<String>,
    pub pending_at_ms: Option<i64>,
    pub total_item_size: u64,
    pub hidden: bool,
    pub forwarding_address: Option<String>,
    pub forwarding_smtp_address: Option<String>,
    pub deliver_to_mailbox_and_forward: bool,
    pub dir_synced: bool,
    pub cloud_managed: bool,
    /// An online archive (`ArchiveStatus` Active).
    pub archive: bool,
    pub litigation_hold: bool,
    /// `LitigationHoldDuration`: days, or None for Exchange's `Unlimited`.
    pub litigation_hold_days: Option<u32>,
    /// `InPlaceHolds`: eDiscovery and retention-policy holds (e.g. `mbxa3f...:1`).
    pub in_place_holds: Vec<String>,
    /// Explicit FullAccess grants: (trustee UPN, automapping).
    pub full_access: Vec<FullAccess>,
    /// Explicit SendAs trustees (UPNs).
    pub send_as: Vec<String>,
    /// `GrantSendOnBehalfTo`: delegates, by recipient name (alias), as Exchange lists them.
    pub send_on_behalf: Vec<String>,
    /// Client protocols switched off with `Set-CASMailbox` (`OWAEnabled`, ...); all are on by default.
    pub protocols_off: Vec<String>,
    /// Meetings and appointments in the mailbox's calendar that it organises.
    pub meetings: Vec<Meeting>,
    /// `EmailAddresses` of a mailbox with no user of its own (a user's are its `proxyAddresses`).
    pub own_addresses: Vec<String>,
    pub devices: Vec<Device>,
    pub blocked_device_ids: Vec<String>,
    pub rules: Vec<Rule>,
    /// Graph's `automaticRepliesSetting`, as last written.
    pub auto_replies: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct FullAccess {
    pub user: String,
    pub automapping: bool,
}

/// A calendar item the mailbox organises. With attendees it is a meeting, which
/// `Remove-CalendarEvents -CancelOrganizedMeetings` cancels; without, an appointment, which it
/// leaves alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Meeting {
    pub subject: String,
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    pub attendees: Vec<String>,
    /// When it was cancelled (RFC 3339), if it was.
    pub cancelled_at: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Device {
    pub device_id: String,
    pub device_type: String,
    pub friendly_name: String,
    pub model: String,
    pub os: String,
    pub wipe_requested: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Rule {
    pub id: u64,
    pub name: String,
    pub enabled: bool,
    pub description: String,
    pub forward_to: Vec<String>,
    pub redirect_to: Vec<String>,
    /// Shown only with `-IncludeHidden` (the system rules).
    pub hidden: bool,
}

impl Mailbox {
    pub fn device_identity(&self, d: &Device) -> String {
        format!("{}\\ExchangeActiveSyncDevices\\{}\u{a7}{}", self.alias, d.device_type, d.device_id)
    }
    pub fn rule_identity(&self, r: &Rule) -> String {
        format!("{}\\{}", self.alias, r.id)
    }
    pub fn is(&self, who: &str) -> bool {
        [&self.upn, &self.alias, &self.user_id, &self.display_name].iter().any(|x| x.eq_ignore_ascii_case(who))
    }
}

pub fn disabled_replies() -> Value {
    json!({
        "status": "disabled",
        "externalAudience": "all",
        "internalReplyMessage": "",
        "externalReplyMessage": "",
        "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"},
    })
}

fn system_rules(next: &mut u64) -> Vec<Rule> {
    let mut rule = |name: &str| {
        *next += 1;
        Rule { id: *next, name: name.into(), enabled: true, hidden: true, ..Rule::default() }
    };
    vec![rule("Junk E-Mail Rule"), rule("Microsoft.Exchange.OOF.KnownSenders.Rule"), rule("Microsoft.Exchange.OOF.AllExternalSenders.Rule")]
}

const GB: u64 = 1024 * 1024 * 1024;

/// A mailbox for every user: the named ones with what the tests need.
pub fn seed(users: &[User], domain: &str) -> ExoState {
    let mut next = 0u64;
    let mut mailboxes = Vec::with_capacity(users.len());
    for (i, u) in users.iter().enumerate() {
        let alias = u.user_principal_name.split('@').next().unwrap_or_default().to_string();
        let mut m = Mailbox {
            user_id: u.id.clone(),
            upn: u.user_principal_name.clone(),
            alias,
            display_name: u.display_name.clone().unwrap_or_default(),
            type_details: "UserMailbox".into(),
            total_item_size: (i as u64 % 17 + 1) * 137 * 1024 * 1024,
            dir_synced: u.is_synced(),
            rules: system_rules(&mut next),
            auto_replies: disabled_replies(),
            ..Mailbox::default()
        };
        if u.id == LEAVER_CLOUD_ID {
            m.total_item_size = 3 * GB + 456 * 1024 * 1024;
            m.forwarding_smtp_address = Some("smtp:lee.cloud@gmail.example".into());
            m.deliver_to_mailbox_and_forward = true;
            m.devices = vec![
                Device {
                    device_id: "ApplF17XK2Q1N3P4".into(),
                    device_type: "iPhone".into(),
                    friendly_name: "Lee's iPhone".into(),
                    model: "iPhone15,2".into(),
                    os: "iOS 17.5".into(),
                    wipe_requested: false,
                },
                Device {
                    device_id: "androidc1873361249".into(),
                    device_type: "Android".into(),
                    friendly_name: "Pixel 8".into(),
                    model: "Pixel 8".into(),
                    os: "Android 14".into(),
                    wipe_requested: false,
                },
            ];
            next += 1;
            m.rules.push(Rule {
                id: next,
                name: "Copy invoices home".into(),
                enabled: true,
                description: "If the message includes 'invoice' in the subject, forward to lee.cloud@gmail.example".into(),
                forward_to: vec!["lee.cloud@gmail.example".into()],
                ..Rule::default()
            });
        }
        if u.id == LEAVER_CLOUD_ID {
            m.meetings = leaver_meetings(domain);
        }
        if u.id == MANAGER_ID {
            // The leaver sends on the manager's behalf (an assistant's delegation).
            m.send_on_behalf = vec!["leaver.cloud".into()];
        }
        if u.id == LEAVER_SYNCED_ID {
            // Over 49 GB: converting it warns that a shared mailbox this big needs a licence.
            m.total_item_size = 50 * GB + 300 * 1024 * 1024;
        }
        mailboxes.push(m);
    }
    // A shared mailbox (no sign-in account of its own in the seed): a forwarding target for
    // clients that keep leavers' mail with a team, e.g. under legal hold, and a mailbox the
    // leaver has rights on.
    mailboxes.push(Mailbox {
        user_id: "c0000000-0001-4000-8000-00000000a001".into(),
        own_addresses: vec![format!("SMTP:legal.hold@{domain}")],
        // leaver.cloud works from it: FullAccess, SendAs and SendOnBehalf, the rights a leaver
        // keeps on other mailboxes until someone removes them.
        full_access: vec![FullAccess { user: format!("leaver.cloud@{domain}"), automapping: true }],
        send_as: vec![format!("leaver.cloud@{domain}")],
        send_on_behalf: vec!["leaver.cloud".into()],
        upn: format!("legal.hold@{domain}"),
        alias: "legal.hold".into(),
        display_name: "Legal Hold".into(),
        type_details: "SharedMailbox".into(),
        total_item_size: 12 * GB,
        rules: system_rules(&mut next),
        auto_replies: disabled_replies(),
        ..Mailbox::default()
    });
    ExoState { accepted_domains: vec![domain.to_string(), "contoso.onmicrosoft.com".into()], mailboxes, next_rule: next }
}

/// leaver.cloud's calendar: three meetings ahead (one beyond 120 days), one in the past, and an
/// appointment with no attendees (which `Remove-CalendarEvents` does not cancel).
fn leaver_meetings(domain: &str) -> Vec<Meeting> {
    let at = |days: i64, hours: i64| {
        (chrono::Utc::now().date_naive().and_hms_opt(9, 0, 0).unwrap_or_default().and_utc()
            + chrono::Duration::days(days)
            + chrono::Duration::hours(hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let meeting = |subject: &str, days: i64, attendees: &[&str]| Meeting {
        subject: subject.into(),
        start: at(days, 0),
        end: at(days, 1),
        attendees: attendees.iter().map(|a| format!("{a}@{domain}")).collect(),
        cancelled_at: None,
    };
    vec![
        meeting("Weekly pipeline review", 3, &["manager", "alex.adams"]),
        meeting("Quarterly business review", 40, &["manager", "bianca.baker", "carlos.castro"]),
        meeting("Dentist", 10, &[]),
        meeting("Kick-off 2027", 200, &["manager"]),
        meeting("Last month's retro", -30, &["manager"]),
    ]
}
