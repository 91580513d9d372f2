//! The states and kinds stored as text (job status, version status, ingest outcome, message
//! role): one enum each with one string form, read fail-safe from the database and compared
//! nowhere as loose strings.

use serde::{Deserialize, Serialize};

use super::StoreError;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The stored text; an unknown value is an error, never a guess.
            pub fn parse(text: &str) -> Result<Self, StoreError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(StoreError::Invalid(format!(
                        "unknown {} `{other}` in the database",
                        stringify!($name)
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}

text_enum! {
    /// Where an ingest job is.
    JobStatus {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

impl JobStatus {
    /// Done or failed: nothing more will happen to it.
    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Failed)
    }
}

text_enum! {
    /// Where a document version is.
    VersionStatus {
        /// Being built: its points are in the index, invisible.
        Indexing = "indexing",
        /// The one searchable version of its document.
        Active = "active",
        /// Replaced by a newer version.
        Superseded = "superseded",
        Failed = "failed",
    }
}

text_enum! {
    /// What a finished ingest did.
    Outcome {
        /// A new version, now active.
        Indexed = "indexed",
        /// The same content as the active version: nothing changed.
        Unchanged = "unchanged",
        /// The same content; the groups the upload named were applied.
        Regrouped = "regrouped",
    }
}

text_enum! {
    /// Why an ingest job failed (or last failed, when it is retried).
    ErrorKind {
        Unsupported = "unsupported",
        Malformed = "malformed",
        Empty = "empty",
        TooLarge = "too_large",
        BadName = "bad_name",
        Embed = "embed",
        Index = "index",
        Store = "store",
        Io = "io",
        Internal = "internal",
        Timeout = "timeout",
        LeaseLost = "lease_lost",
        Cancelled = "cancelled",
        BadGroups = "bad_groups",
        /// The process stopped while the job ran, each of its attempts.
        Interrupted = "interrupted",
    }
}

text_enum! {
    /// Who wrote a conversation message.
    Role {
        User = "user",
        Assistant = "assistant",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_as_itself_and_nothing_else_reads() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()).ok(), Some(*s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::json!(s.as_str()))
            );
        }
        for s in VersionStatus::ALL {
            assert_eq!(VersionStatus::parse(s.as_str()).ok(), Some(*s));
        }
        for s in Outcome::ALL {
            assert_eq!(Outcome::parse(s.as_str()).ok(), Some(*s));
        }
        for s in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(s.as_str()).ok(), Some(*s));
        }
        assert!(JobStatus::parse("Done").is_err());
        assert!(Role::parse("system").is_err());
        assert!(JobStatus::Done == "done" && JobStatus::Failed != "done");
    }
}
