//! `[[console.api_tokens]]`: the tokens PSAs and HR systems call the console's JSON API with
//! (`Authorization: Bearer <token>`), each scoped to clients and roles.
//!
//! ```toml
//! [[console.api_tokens]]
//! name = "halo-webhook"        # the identity the journal records for what the token does
//! sha256 = "9f86d0…"           # SHA-256 of the token, hex: `printf %s "$TOKEN" | sha256sum`
//! clients = ["contoso"]        # tenant names, or "*"
//! roles = ["request"]          # request | approve | admin
//!
//! [[console.deny]]             # deny beats allow for tokens too
//! who = ["token:halo-webhook"]
//! roles = ["request"]
//! clients = ["fabrikam"]
//! ```
//!
//! Only the hash is configured: the token itself is never stored, so a leaked configuration file
//! (or a backup of it) does not let anyone call the API. A hash without a salt is safe here only
//! because tokens are long and random (`openssl rand -hex 32`), which is why a presented token
//! shorter than [`MIN_TOKEN_LEN`] is refused before it is hashed.

use serde::Deserialize;

use super::{ConsoleSettings, Role};

/// The shortest token the API accepts: 128 bits as hex. Anything shorter could be guessed from
/// its unsalted hash.
pub const MIN_TOKEN_LEN: usize = 32;

/// One `[[console.api_tokens]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// Letters, digits, `.`, `_` and `-`: how the journal and deny entries (`token:<name>`) name it.
    pub name: String,
    /// The SHA-256 of the token, 64 hex digits.
    pub sha256: String,
    /// Tenant names of `[tenants.<name>]`, or `"*"`.
    pub clients: Vec<String>,
    pub roles: Vec<Role>,
}

impl ApiToken {
    /// The hash as bytes (validated at load: 64 hex digits).
    pub fn digest(&self) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(self.sha256.trim(), &mut out).ok()?;
        Some(out)
    }

    /// How `[[console.deny]]` names this token.
    pub fn who(&self) -> String {
        format!("token:{}", self.name)
    }

    fn allows(&self, role: Role, client: &str) -> bool {
        self.roles.contains(&role) && self.clients.iter().any(|c| c == "*" || c == client)
    }
}

impl ConsoleSettings {
    /// Whether the API token may act in `role` for `client`: its own entry says so and no deny
    /// entry naming `token:<name>` says otherwise (deny beats allow, as for people).
    pub fn token_may(&self, token: &ApiToken, role: Role, client: &str) -> bool {
        let who = token.who();
        let denied = self
            .deny
            .iter()
            .any(|g| g.who.iter().any(|w| w.trim() == who) && g.roles.contains(&role) && g.clients.iter().any(|c| c == "*" || c == client));
        token.allows(role, client) && !denied
    }

    /// What serde cannot check of the tokens: names, hashes, scopes, and that `token:` entries
    /// mean something.
    pub(super) fn validate_tokens(&self, tenants: &[&str]) -> Result<(), String> {
        let tokens = &self.api_tokens;
        for (i, t) in tokens.iter().enumerate() {
            let ok_name = !t.name.is_empty() && t.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !ok_name {
                return Err(format!("[[console.api_tokens]] name '{}': use letters, digits, '.', '_' and '-'", t.name));
            }
            if t.digest().is_none() {
                return Err(format!(
                    "[[console.api_tokens]] '{}': sha256 must be the token's SHA-256 as 64 hex digits (printf %s \"$TOKEN\" | sha256sum)",
                    t.name
                ));
            }
            if t.roles.is_empty() || t.clients.is_empty() {
                return Err(format!("[[console.api_tokens]] '{}' needs roles and clients", t.name));
            }
            if let Some(c) = t.clients.iter().find(|c| *c != "*" && !tenants.contains(&c.as_str())) {
                return Err(format!("[[console.api_tokens]] '{}' names client '{c}', which is not a configured tenant", t.name));
            }
            if let Some(other) = tokens[..i].iter().find(|o| o.name == t.name) {
                return Err(format!("[[console.api_tokens]] the name '{}' is used twice", other.name));
            }
            if let Some(other) = tokens[..i].iter().find(|o| o.digest() == t.digest()) {
                // One token, two names: which identity would the journal record?
                return Err(format!("[[console.api_tokens]] '{}' and '{}' have the same sha256", other.name, t.name));
            }
        }
        // A token's roles are its own entry's; an allow entry for a token would be a second place.
        if self.allow.iter().flat_map(|g| &g.who).any(|w| w.trim().starts_with("token:")) {
            return Err("[[console.allow]] cannot name a token: give a token its roles in its [[console.api_tokens]] entry".into());
        }
        // A deny entry for a token that does not exist denies nothing: a typo must not pass unseen.
        for w in self.deny.iter().flat_map(|g| &g.who).filter_map(|w| w.trim().strip_prefix("token:")) {
            if !tokens.iter().any(|t| t.name == w) {
                return Err(format!("[[console.deny]] names token:{w}, which is not in [[console.api_tokens]]"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "issuer_url='https://login.example/v2.0'\nclient_id='c'\nclient_secret_env='S'\npublic_url='https://c.example'\n";
    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn parse(text: &str) -> Result<ConsoleSettings, String> {
        toml::from_str::<ConsoleSettings>(&format!("{BASE}{text}")).map_err(|e| e.to_string())
    }

    fn token(extra: &str) -> String {
        format!("[[api_tokens]]\nname='halo'\nsha256='{HASH}'\nclients=['a']\nroles=['request']\n{extra}")
    }

    #[test]
    fn a_token_has_its_scope_and_deny_beats_it() {
        let s = parse(&format!("{}[[deny]]\nwho=['token:halo']\nroles=['request']\nclients=['a']\n", token(""))).expect("parses");
        s.validate(&["a", "b"]).expect("valid");
        let t = &s.api_tokens[0];
        assert!(!s.token_may(t, Role::Request, "a"), "denied");
        let s = parse(&token("")).expect("parses");
        let t = &s.api_tokens[0];
        assert!(s.token_may(t, Role::Request, "a"));
        assert!(!s.token_may(t, Role::Request, "b"), "another client");
        assert!(!s.token_may(t, Role::Approve, "a"), "another role");
        assert!(!s.may(Some("token:halo"), "token:halo", Role::Request, "a"), "a token is no person");
    }

    #[test]
    fn unknown_keys_bad_hashes_and_dangling_names_are_refused() {
        let e = parse(&token("sha265='x'\n")).unwrap_err();
        assert!(e.contains("unknown field `sha265`, expected one of `name`, `sha256`, `clients`, `roles`"), "{e}");
        let e = parse(&format!("api_token=[]\n{}", token(""))).unwrap_err();
        assert!(e.contains("unknown field `api_token`") && e.contains("`api_tokens`"), "{e}");
        let bad = |text: &str| parse(text).expect("parses").validate(&["a"]).unwrap_err();
        assert!(bad(&token("").replace(HASH, "abc")).contains("64 hex digits"));
        assert!(bad(&token("").replace("'halo'", "'ha lo'")).contains("letters, digits"));
        assert!(bad(&token("").replace("['a']", "['zz']")).contains("'zz'"));
        assert!(bad(&format!("{}{}", token(""), token("").replace("'halo'", "'psa'"))).contains("same sha256"));
        assert!(bad(&format!("{}{}", token(""), token(""))).contains("used twice"));
        assert!(bad(&format!("{}[[deny]]\nwho=['token:hal']\nroles=['request']\nclients=['a']\n", token(""))).contains("token:hal"));
        assert!(
            bad(&format!("{}[[allow]]\nwho=['token:halo']\nroles=['admin']\nclients=['a']\n", token(""))).contains("cannot name a token")
        );
    }
}
