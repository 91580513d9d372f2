//! Who is asking and what they may read: principals (users, API keys, SSO identities), their
//! roles and groups, password hashing, secret tokens and rate limits.

pub mod password;
pub mod rate;
pub mod tokens;

use serde::{Deserialize, Serialize};

/// The group every principal belongs to, and the default group of a document.
pub const EVERYONE: &str = "everyone";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Documents, users, keys, feedback, audit; reads every document.
    Admin,
    /// Asks, searches and keeps their own conversations, within their groups.
    Employee,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Employee => "employee",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "employee" => Some(Role::Employee),
            _ => None,
        }
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Ask and search with the key's groups.
    Ask,
    /// Everything an admin may do.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ask => "ask",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ask" => Some(Scope::Ask),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    pub fn role(self) -> Role {
        match self {
            Scope::Ask => Role::Employee,
            Scope::Admin => Role::Admin,
        }
    }
}

/// How the principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// A login session cookie; state-changing requests must echo its CSRF token.
    Session {
        #[serde(skip)]
        csrf_token: String,
    },
    ApiKey {
        key_id: String,
    },
    /// The company's reverse proxy vouched for the user (trusted-header SSO).
    TrustedHeader,
}

/// An authenticated caller. Built only by the authentication layer, so a handler holding one
/// knows the request was authenticated.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    /// Stable owner id for conversations and rate limits: `user:<id>`, `key:<id>`, `sso:<name>`.
    pub id: String,
    /// A readable name for logs and the audit trail.
    pub name: String,
    pub role: Role,
    /// The groups this principal reads with (always including `everyone`).
    pub groups: Vec<String>,
    pub credential: Credential,
}

impl Principal {
    pub fn new(
        id: String,
        name: String,
        role: Role,
        groups: Vec<String>,
        credential: Credential,
    ) -> Self {
        Self {
            id,
            name,
            role,
            groups: with_everyone(groups),
            credential,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The groups retrieval is filtered by: `None` (everything) for admins.
    pub fn read_filter(&self) -> Option<Vec<String>> {
        (!self.is_admin()).then(|| self.groups.clone())
    }

    /// Whether a document readable by `document_groups` is visible to this principal.
    pub fn can_read(&self, document_groups: &[String]) -> bool {
        self.is_admin() || document_groups.iter().any(|g| self.groups.contains(g))
    }
}

/// Trimmed, de-duplicated group names with `everyone` added.
pub fn with_everyone(groups: Vec<String>) -> Vec<String> {
    let mut out = normalise_groups(groups);
    if !out.iter().any(|g| g == EVERYONE) {
        out.push(EVERYONE.to_string());
    }
    out
}

/// Trimmed, non-empty, de-duplicated group names in their first order.
pub fn normalise_groups(groups: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        let g = g.trim().to_string();
        if !g.is_empty() && !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn employee(groups: &[&str]) -> Principal {
        Principal::new(
            "user:1".into(),
            "u".into(),
            Role::Employee,
            groups.iter().map(|g| g.to_string()).collect(),
            Credential::TrustedHeader,
        )
    }

    #[test]
    fn employees_read_their_groups_and_everyone() {
        let p = employee(&["hr", " hr ", ""]);
        assert_eq!(p.groups, vec!["hr".to_string(), EVERYONE.to_string()]);
        assert!(p.can_read(&["hr".into()]));
        assert!(p.can_read(&[EVERYONE.into()]));
        assert!(!p.can_read(&["exec".into()]));
        assert!(!p.can_read(&[]));
        assert_eq!(p.read_filter(), Some(p.groups.clone()));
    }

    #[test]
    fn admins_read_everything() {
        let mut p = employee(&[]);
        p.role = Role::Admin;
        assert!(p.can_read(&["exec".into()]));
        assert_eq!(p.read_filter(), None);
    }
}
