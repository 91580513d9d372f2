//! Password hashing with argon2id (PHC strings). Hashing is deliberately slow: call it off the
//! async runtime (`spawn_blocking`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {0} characters")]
    TooShort(usize),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("too many sign-ins are being checked at once; retry in a moment")]
    Busy,
}

pub const MIN_LENGTH: usize = 8;

pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort(MIN_LENGTH));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Argon2 takes tens of milliseconds of CPU and ~19 MiB by design, so hashes run on a few
/// threads of their own — never on the blocking pool that embedding and search use — behind a
/// short queue: a burst of sign-ins waits there or is turned away, and can neither starve
/// searches nor grow memory without bound.
const HASH_THREADS: usize = 2;
const HASH_QUEUE: usize = 64;

type HashJob = Box<dyn FnOnce() + Send>;

fn hasher() -> &'static std::sync::mpsc::SyncSender<HashJob> {
    static HASHER: std::sync::OnceLock<std::sync::mpsc::SyncSender<HashJob>> =
        std::sync::OnceLock::new();
    HASHER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<HashJob>(HASH_QUEUE);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for n in 0..HASH_THREADS {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        tx
    })
}

/// Run `work` on the hashing threads; `Busy` when their queue is full.
async fn on_hasher<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = tx.send(work());
    });
    hasher().try_send(job).map_err(|e| match e {
        std::sync::mpsc::TrySendError::Full(_) => PasswordError::Busy,
        std::sync::mpsc::TrySendError::Disconnected(_) => {
            PasswordError::Hash("the password hashing threads stopped".into())
        }
    })?;
    rx.await
        .map_err(|_| PasswordError::Hash("a password hash was abandoned".into()))
}

/// `hash` on the hashing threads.
pub async fn hash_off_runtime(password: String) -> Result<String, PasswordError> {
    on_hasher(move || hash(&password)).await?
}

/// `verify` on the hashing threads.
pub async fn verify_off_runtime(
    password: String,
    stored: Option<String>,
) -> Result<bool, PasswordError> {
    on_hasher(move || verify(&password, stored.as_deref())).await
}

/// Whether `password` matches `stored`. With no stored hash (unknown user, SSO-only account) a
/// dummy hash is still checked, so the answer takes as long as for a real account.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default());
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash("correct horse battery").expect("hash");
        let b = hash("correct horse battery").expect("hash");
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&a)));
        assert!(!verify("wrong horse battery", Some(&a)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("x", Some("not a phc string")));
    }

    #[tokio::test]
    async fn a_burst_beyond_the_queue_is_turned_away_not_queued_without_bound() {
        let tasks: Vec<_> = (0..HASH_THREADS + HASH_QUEUE + 40)
            .map(|i| tokio::spawn(verify_off_runtime(format!("guess {i}"), None)))
            .collect();
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(ok) => assert!(!ok),
                Err(PasswordError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(busy >= 40 - HASH_THREADS, "{busy} turned away");
        // Once the burst is over, hashing works again.
        let h = hash_off_runtime("correct horse battery".into())
            .await
            .unwrap();
        assert!(verify_off_runtime("correct horse battery".into(), Some(h))
            .await
            .unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash("short"), Err(PasswordError::TooShort(8))));
    }
}
