//! Fixed object ids of the named seed objects, so tests and demo scripts can refer to them without
//! looking them up first. Everything else in the seed gets ids derived from its name (see `seed`).

pub const MANAGER_ID: &str = "a1b2c3d4-0001-4000-8000-000000000001";
pub const LEAVER_CLOUD_ID: &str = "a1b2c3d4-0002-4000-8000-000000000002";
pub const LEAVER_SYNCED_ID: &str = "a1b2c3d4-0003-4000-8000-000000000003";

pub const MANAGER_UPN: &str = "manager@contoso.test";
pub const LEAVER_CLOUD_UPN: &str = "leaver.cloud@contoso.test";
pub const LEAVER_SYNCED_UPN: &str = "leaver.synced@contoso.test";
/// A leaver who holds Global Administrator: refused unless the run passes `--allow-privileged`.
pub const LEAVER_ADMIN_ID: &str = "a1b2c3d4-0004-4000-8000-000000000004";
pub const LEAVER_ADMIN_UPN: &str = "leaver.admin@contoso.test";
/// The break-glass (emergency access) account: a Global Administrator the demo configuration
/// lists in `protected_users`, so it is never offboarded.
pub const BREAK_GLASS_ID: &str = "a1b2c3d4-0005-4000-8000-000000000005";
pub const BREAK_GLASS_UPN: &str = "breakglass@contoso.test";
/// leaver.synced's `onPremisesImmutableId`: base64 of the 16 bytes of its AD account's
/// ms-DS-ConsistencyGuid (tests/samba/seed.ldif sets the same bytes), as Entra Connect writes it.
pub const LEAVER_SYNCED_IMMUTABLE_ID: &str = "PgwdWi97ak6cgQ0uP0pbbA==";

pub const GROUP_SALES_TEAM: &str = "b0000000-0001-4000-8000-000000000001";
pub const GROUP_PROJECT_FALCON: &str = "b0000000-0002-4000-8000-000000000002";
pub const GROUP_ALL_SALES_DYNAMIC: &str = "b0000000-0003-4000-8000-000000000003";
pub const GROUP_FINANCE_APPROVERS: &str = "b0000000-0004-4000-8000-000000000004";
pub const GROUP_SALES_DL: &str = "b0000000-0005-4000-8000-000000000005";
pub const GROUP_VISIO_LICENCE: &str = "b0000000-0006-4000-8000-000000000006";
pub const GROUP_HQ_FILESHARE: &str = "b0000000-0007-4000-8000-000000000007";
/// An empty security group a Conditional Access policy blocks sign-in for (for client scripts that
/// add leavers to it).
pub const GROUP_BLOCK_SIGN_IN: &str = "b0000000-0008-4000-8000-000000000008";

/// A Microsoft Teams team (a Microsoft 365 group with `resourceProvisioningOptions` `["Team"]`)
/// whose only owner is leaver.cloud, as is Project Falcon: a hand-over must add an owner first.
pub const GROUP_SALES_PIPELINE_TEAM: &str = "b0000000-0009-4000-8000-000000000009";

pub const ROLE_GLOBAL_READER: &str = "c0000000-0001-4000-8000-000000000001";
pub const ROLE_GLOBAL_ADMIN: &str = "c0000000-0002-4000-8000-000000000002";

pub const SKU_SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
pub const SKU_POWER_BI_PRO: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
pub const SKU_VISIOCLIENT: &str = "c5928f49-12ba-48f7-ada3-0d743a3601d5";
pub const SKU_EMS: &str = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e";

/// leaver.cloud's Intune devices: a company-owned Windows laptop and a personal iPhone.
pub const MANAGED_DEVICE_LAPTOP: &str = "d0000000-0001-4000-8000-000000000001";
pub const MANAGED_DEVICE_PHONE: &str = "d0000000-0002-4000-8000-000000000002";

/// A stable GUID from a name, so derived objects keep their id across resets.
pub fn derived_id(kind: &str, key: &str) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("offboard-demo:{kind}:{}", key.to_ascii_lowercase()));
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}
