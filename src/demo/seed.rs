//! The starting tenant: three named users the offboarding tests revolve around, one group of each
//! kind Graph treats differently, and a thousand ordinary users so paging, bulk runs and the
//! benchmarks have something to chew on.
//!
//! Everything is deterministic (names from fixed lists, ids from a hash of the object's name) so a
//! reset and a first start produce the same tenant apart from timestamps, and a test can name an
//! object it has never looked up.

use chrono::{Duration, SecondsFormat, Utc};

use super::ids::*;
use super::model::{AssignedLicense, DirectoryRole, Group, LicenseState, Sku, State, User};
use super::SimStats;

/// How many ordinary users the seed holds (on top of the named ones): more than a bulk run can
/// offboard within one window of Graph's write quota (3,000 writes per 150 s), so a bulk of all
/// of them has to be paced.
pub const ORDINARY_USERS: usize = 1000;
/// The first ordinary users, the ones in the department teams, projects and licence groups (the
/// tenant as it was before it grew). The rest are in no group and hold only a direct E3 licence,
/// in departments no group or dynamic rule names, so adding them changed no group, no
/// membership and no existing user.
pub const TEAM_USERS: usize = 230;
/// The departments of the ordinary users after [`TEAM_USERS`].
const OTHER_DEPTS: &[&str] = &["Marketing", "Logistics", "Legal", "Field Service"];
/// In how many days the cloud leaver's `employeeLeaveDateTime` falls, from the day of seeding.
pub const LEAVER_CLOUD_LEAVES_IN_DAYS: i64 = 14;
/// The named users, first in the user list: the manager, the three leavers (cloud, synced,
/// admin) and the break-glass account.
pub const NAMED_USERS: usize = 5;

const FIRST: &[&str] = &[
    "Alex", "Bianca", "Carlos", "Dana", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira", "Liam", "Maya", "Noah", "Olivia",
    "Pavel", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe", "Amir", "Brooke", "Chen", "Diego",
];
// 31 names against 30: coprime lengths give distinct (first, last) pairs for the first 930 users.
const LAST: &[&str] = &[
    "Adams", "Baker", "Castro", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kowalski", "Lopez", "Murphy", "Nguyen",
    "Okafor", "Patel", "Quintero", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Wong", "Xu", "Yilmaz", "Zimmer", "Andersen", "Brennan",
    "Costa", "Dvorak", "Eriksen",
];
const DEPTS: &[&str] = &["Sales", "Finance", "Engineering", "Operations", "HR", "Support"];
const TITLES: &[&str] = &["Specialist", "Analyst", "Coordinator", "Associate", "Consultant"];
const TEAM_LEADS: usize = 10;
/// The ordinary user who also holds a directory role, so `memberOf` mixes object types.
const ROLE_HOLDER_INDEX: usize = 12;

fn ts_days_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn lic(sku: &str, by_group: Option<&str>) -> LicenseState {
    LicenseState {
        sku_id: sku.into(),
        assigned_by_group: by_group.map(String::from),
        state: "Active".into(),
        error: "None".into(),
        disabled_plans: vec![],
        last_updated_date_time: ts_days_ago(200),
    }
}

/// The licence state a group assignment gives a new member (used when a member is added).
pub(crate) fn group_license_state(sku: &str, group_id: &str) -> LicenseState {
    LicenseState { last_updated_date_time: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(), ..lic(sku, Some(group_id)) }
}

fn user(id: &str, upn: &str, given: &str, surname: &str, display: &str, title: &str, dept: &str, emp: &str, days: i64) -> User {
    User {
        id: id.into(),
        user_principal_name: upn.into(),
        display_name: Some(display.into()),
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        mail: Some(upn.into()),
        job_title: Some(title.into()),
        department: Some(dept.into()),
        account_enabled: true,
        employee_id: Some(emp.into()),
        usage_location: Some("GB".into()),
        proxy_addresses: vec![format!("SMTP:{upn}")],
        business_phones: vec![],
        preferred_language: Some("en-GB".into()),
        office_location: Some("London HQ".into()),
        created_date_time: Some(ts_days_ago(400 + days)),
        sign_in_sessions_valid_from_date_time: Some(ts_days_ago(9)),
        last_password_change_date_time: Some(ts_days_ago(31)),
        ..User::default()
    }
}

/// Some of Microsoft 365 E3's service plans (ids and names from Microsoft's licensing reference):
/// Exchange Online (Plan 2) is the one that keeps a mailbox.
const E3_PLANS: [(&str, &str); 3] = [
    ("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE"),
    ("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE"),
    ("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD"),
];

const EMS_PLANS: [(&str, &str); 2] =
    [("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A"), ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM")];

fn sku(id: &str, part: &str, units: u64, plans: &[(&str, &str)]) -> Sku {
    let service_plans = plans.iter().map(|(i, n)| (i.to_string(), n.to_string())).collect();
    Sku { sku_id: id.into(), sku_part_number: part.into(), enabled_units: units, service_plans }
}

fn group(id: &str, name: &str, nick: &str, types: &[&str], mail_enabled: bool, security_enabled: bool) -> Group {
    Group {
        id: id.into(),
        display_name: name.into(),
        description: Some(format!("{name} (demo tenant)")),
        group_types: types.iter().map(|s| s.to_string()).collect(),
        mail_enabled,
        security_enabled,
        mail: mail_enabled.then(|| format!("{nick}@{}", super::DEMO_DOMAIN)),
        mail_nickname: nick.into(),
        is_assignable_to_role: None,
        created_date_time: Some(ts_days_ago(900)),
        ..Group::default()
    }
}

/// Build the seeded tenant.
pub fn seed() -> State {
    seed_with(ORDINARY_USERS)
}

/// The seeded tenant with `ordinary` ordinary users (at least [`ORDINARY_USERS`]): the ones past
/// the thousandth are like those past [`TEAM_USERS`] (no group, a direct E3 licence), so a larger
/// tenant holds the default one unchanged and more leavers for the scale-out benchmark.
pub fn seed_with(ordinary: usize) -> State {
    let ordinary = ordinary.max(ORDINARY_USERS);
    let mut users = vec![
        {
            let mut u = user(MANAGER_ID, MANAGER_UPN, "Morgan", "Manager", "Morgan Manager", "Sales Director", "Sales", "E1000", 300);
            u.license_assignment_states = vec![lic(SKU_SPE_E3, None)];
            u
        },
        {
            let mut u = user(LEAVER_CLOUD_ID, LEAVER_CLOUD_UPN, "Lee", "Cloud", "Lee Cloud", "Account Executive", "Sales", "E1001", 120);
            u.manager_id = Some(MANAGER_ID.into());
            u.license_assignment_states =
                vec![lic(SKU_SPE_E3, None), lic(SKU_POWER_BI_PRO, None), lic(SKU_VISIOCLIENT, Some(GROUP_VISIO_LICENCE))];
            u.sign_in_sessions_valid_from_date_time = Some(ts_days_ago(12));
            u.last_password_change_date_time = Some(ts_days_ago(45));
            // HR has entered the last day: a date, kept as midnight UTC (`--last-day from-directory`).
            u.employee_leave_date_time =
                Some(format!("{}T00:00:00Z", (Utc::now() + Duration::days(LEAVER_CLOUD_LEAVES_IN_DAYS)).date_naive()));
            // Two aliases besides the primary address: what `remove_aliases` takes away.
            u.proxy_addresses.extend(["smtp:lee.c@contoso.test".to_string(), "smtp:sales.lee@contoso.onmicrosoft.com".to_string()]);
            u
        },
        {
            let mut u =
                user(LEAVER_SYNCED_ID, LEAVER_SYNCED_UPN, "Sam", "Synced", "Sam Synced", "Operations Analyst", "Operations", "E1002", 150);
            u.manager_id = Some(MANAGER_ID.into());
            u.on_premises_sync_enabled = Some(true);
            u.on_premises_immutable_id = Some(LEAVER_SYNCED_IMMUTABLE_ID.into());
            u.on_premises_sam_account_name = Some("ssynced".into());
            u.on_premises_domain_name = Some("contoso.test".into());
            u.on_premises_distinguished_name = Some("CN=Sam Synced,OU=Staff,DC=contoso,DC=test".into());
            u.license_assignment_states = vec![lic(SKU_SPE_E3, None)];
            u.sign_in_sessions_valid_from_date_time = Some(ts_days_ago(20));
            u.last_password_change_date_time = Some(ts_days_ago(60));
            u
        },
        {
            let mut u =
                user(LEAVER_ADMIN_ID, LEAVER_ADMIN_UPN, "Ada", "Admin", "Ada Admin", "IT Administrator", "Operations", "E1003", 500);
            u.manager_id = Some(MANAGER_ID.into());
            u.license_assignment_states = vec![lic(SKU_SPE_E3, None)];
            u
        },
        {
            let mut u = user(BREAK_GLASS_ID, BREAK_GLASS_UPN, "Break", "Glass", "Emergency Access", "Emergency access", "IT", "E0000", 800);
            u.employee_id = None;
            u
        },
    ];

    let mut sales_team = group(GROUP_SALES_TEAM, "Sales Team", "salesteam", &[], false, true);
    let mut falcon = group(GROUP_PROJECT_FALCON, "Project Falcon", "projectfalcon", &["Unified"], true, false);
    let mut dynamic = group(GROUP_ALL_SALES_DYNAMIC, "All Sales (dynamic)", "allsales", &["DynamicMembership"], false, true);
    dynamic.membership_rule = Some("user.department -eq \"Sales\"".into());
    dynamic.membership_rule_processing_state = Some("On".into());
    let mut approvers = group(GROUP_FINANCE_APPROVERS, "Finance Approvers", "financeapprovers", &[], true, true);
    let mut dl = group(GROUP_SALES_DL, "sales-dl", "sales-dl", &[], true, false);
    let mut visio = group(GROUP_VISIO_LICENCE, "Licence - Visio Users", "licence-visio", &[], false, true);
    visio.assigned_licenses = vec![AssignedLicense { disabled_plans: vec![], sku_id: SKU_VISIOCLIENT.into() }];
    let mut hq = group(GROUP_HQ_FILESHARE, "HQ-FileShare-RW", "HQ-FileShare-RW", &[], false, true);
    hq.on_premises_sync_enabled = Some(true);
    let block = group(GROUP_BLOCK_SIGN_IN, "CA - Block sign-in", "ca-block-sign-in", &[], false, true);
    let mut pipeline = group(GROUP_SALES_PIPELINE_TEAM, "Sales Pipeline", "salespipeline", &["Unified"], true, false);
    pipeline.resource_provisioning_options = vec!["Team".into()];

    // Department security groups; Sales uses the named "Sales Team".
    let mut dept_groups: Vec<Group> = DEPTS[1..]
        .iter()
        .map(|d| {
            let name = format!("{d} Team");
            let nick = format!("{}team", d.to_ascii_lowercase());
            group(&derived_id("group", &name), &name, &nick, &[], false, true)
        })
        .collect();
    let mut projects: Vec<Group> = ["Project Heron", "Project Osprey"]
        .iter()
        .map(|n| {
            let nick = n.replace(' ', "").to_ascii_lowercase();
            group(&derived_id("group", n), n, &nick, &["Unified"], true, false)
        })
        .collect();

    sales_team.members = vec![MANAGER_ID.into(), LEAVER_CLOUD_ID.into(), LEAVER_SYNCED_ID.into()];
    falcon.members = vec![LEAVER_CLOUD_ID.into(), LEAVER_SYNCED_ID.into()];
    approvers.members = vec![LEAVER_CLOUD_ID.into()];
    dl.members = vec![LEAVER_CLOUD_ID.into()];
    visio.members = vec![LEAVER_CLOUD_ID.into()];
    hq.members = vec![LEAVER_CLOUD_ID.into(), LEAVER_SYNCED_ID.into()];
    // Owners: leaver.cloud is the only owner of Project Falcon and of the Sales Pipeline team;
    // Project Heron has the manager as a second owner, so removing the leaver there is allowed.
    sales_team.owners = vec![MANAGER_ID.into()];
    falcon.owners = vec![LEAVER_CLOUD_ID.into()];
    pipeline.owners = vec![LEAVER_CLOUD_ID.into()];
    projects[0].owners = vec![LEAVER_CLOUD_ID.into(), MANAGER_ID.into()];

    // A set, not a list: with a thousand users a linear search per name is a million compares.
    let mut upns: std::collections::HashSet<String> = users.iter().map(|u| u.user_principal_name.clone()).collect();
    let mut lead_ids: Vec<String> = Vec::new();
    for i in 0..ordinary {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[i % LAST.len()];
        let base = format!("{}.{}", first.to_ascii_lowercase(), last.to_ascii_lowercase());
        let mut upn = format!("{base}@{}", super::DEMO_DOMAIN);
        let mut n = 2;
        while upns.contains(&upn) {
            upn = format!("{base}{n}@{}", super::DEMO_DOMAIN);
            n += 1;
        }
        upns.insert(upn.clone());
        if i >= TEAM_USERS {
            let dept = OTHER_DEPTS[i % OTHER_DEPTS.len()];
            let title = format!("{dept} {}", TITLES[i % TITLES.len()]);
            let id = derived_id("user", &upn);
            let mut u = user(&id, &upn, first, last, &format!("{first} {last}"), &title, dept, &format!("E2{i:03}"), (i % 365) as i64);
            u.manager_id = Some(lead_ids[i % TEAM_LEADS].clone());
            u.license_assignment_states.push(lic(SKU_SPE_E3, None));
            users.push(u);
            continue;
        }
        let dept_ix = i % DEPTS.len();
        let dept = DEPTS[dept_ix];
        let title = if i < TEAM_LEADS { format!("{dept} Team Lead") } else { format!("{dept} {}", TITLES[i % TITLES.len()]) };
        let id = derived_id("user", &upn);
        let mut u = user(&id, &upn, first, last, &format!("{first} {last}"), &title, dept, &format!("E2{i:03}"), i as i64);
        u.manager_id = Some(if i < TEAM_LEADS { MANAGER_ID.to_string() } else { lead_ids[i % TEAM_LEADS].clone() });
        u.license_assignment_states.push(lic(SKU_SPE_E3, None));
        if i % 4 == 0 {
            u.license_assignment_states.push(lic(SKU_EMS, None));
        }
        if i % 7 == 0 {
            u.license_assignment_states.push(lic(SKU_POWER_BI_PRO, None));
        }
        if dept_ix == 0 {
            sales_team.members.push(id.clone());
            if i < 60 {
                pipeline.members.push(id.clone());
            }
            if i % 12 == 0 {
                dl.members.push(id.clone());
            }
        } else {
            dept_groups[dept_ix - 1].members.push(id.clone());
        }
        if i % 12 == 1 {
            approvers.members.push(id.clone());
        }
        match i % 3 {
            0 => falcon.members.push(id.clone()),
            k => projects[k - 1].members.push(id.clone()),
        }
        if i % 50 == 3 {
            visio.members.push(id.clone());
            u.license_assignment_states.push(lic(SKU_VISIOCLIENT, Some(GROUP_VISIO_LICENCE)));
        }
        if i % 20 == 7 {
            hq.members.push(id.clone());
        }
        if i < TEAM_LEADS {
            lead_ids.push(id);
        }
        users.push(u);
    }

    // Dynamic membership is computed from the rule, as Entra would.
    dynamic.members = users.iter().filter(|u| u.department.as_deref() == Some("Sales")).map(|u| u.id.clone()).collect();

    let role_holder = users[NAMED_USERS + ROLE_HOLDER_INDEX].id.clone();
    let mut groups = vec![sales_team, falcon, dynamic, approvers, dl, visio, hq, block, pipeline];
    groups.append(&mut dept_groups);
    groups.append(&mut projects);

    let exchange = super::exchange::model::seed(&users, super::DEMO_DOMAIN);
    let managed_devices = super::intune::seed(&users);
    let leavers = [(LEAVER_CLOUD_ID, "cloud"), (LEAVER_SYNCED_ID, "synced"), (LEAVER_ADMIN_ID, "admin")];
    let auth_methods = super::auth_methods::seed(&leavers);
    // The manager and the leavers have opened their OneDrive (the break-glass account has no licence).
    let drives = super::drive::seed(&users[..NAMED_USERS - 1]);
    let mut state = State {
        auth_methods,
        drives,
        managed_devices,
        exchange,
        tenant_id: super::DEMO_TENANT_ID.into(),
        domain: super::DEMO_DOMAIN.into(),
        sent_mail: vec![],
        users,
        groups,
        directory_roles: vec![
            DirectoryRole {
                id: ROLE_GLOBAL_READER.into(),
                display_name: "Global Reader".into(),
                description: "Can read everything that a Global Administrator can, but not update anything.".into(),
                role_template_id: "f2ef992c-3afb-46b9-b7cf-a126ee74c451".into(),
                members: vec![role_holder],
            },
            DirectoryRole {
                id: ROLE_GLOBAL_ADMIN.into(),
                display_name: "Global Administrator".into(),
                description: "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."
                    .into(),
                role_template_id: "62e90394-69f5-4237-9190-012177145e10".into(),
                members: vec![LEAVER_ADMIN_ID.into(), BREAK_GLASS_ID.into()],
            },
        ],
        skus: vec![
            sku(SKU_SPE_E3, "SPE_E3", 1100, &E3_PLANS),
            sku(SKU_POWER_BI_PRO, "POWER_BI_PRO", 50, &[("70d33638-9c74-4d01-bfd3-562de28bd4ba", "BI_AZURE_P2")]),
            sku(SKU_VISIOCLIENT, "VISIOCLIENT", 20, &[("663a804f-1c30-4ff0-9915-9db84f0d1cea", "VISIO_CLIENT_SUBSCRIPTION")]),
            sku(SKU_EMS, "EMS", 300, &EMS_PLANS),
        ],
        stats: SimStats::default(),
        psa: super::psa::PsaState::seed(),
        ..State::default()
    };
    super::grants::seed(&mut state, &leavers);
    state
}
