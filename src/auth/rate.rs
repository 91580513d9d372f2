//! Per-principal rate limits (governor's keyed GCRA limiters): questions per minute for each
//! user or key; login attempts per minute for each user name from each address, and for each
//! address whatever the names.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::LimitSettings;

pub struct RateLimits {
    asks: Option<DefaultKeyedRateLimiter<String>>,
    logins: Option<DefaultKeyedRateLimiter<String>>,
    login_addresses: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    pub fn new(settings: &LimitSettings) -> Self {
        Self {
            asks: limiter(settings.asks_per_minute),
            logins: limiter(settings.logins_per_minute),
            login_addresses: limiter(settings.logins_per_minute_per_address),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `principal` asked too often; `wait` is when the next question is allowed.
    pub fn ask(&self, principal: &str) -> Result<(), Duration> {
        self.check(self.asks.as_ref(), principal)
    }

    /// A sign-in attempt for `username` from `address` (unknown: one shared budget).
    pub fn login(&self, username: &str, address: Option<std::net::IpAddr>) -> Result<(), Duration> {
        let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
        self.check(self.login_addresses.as_ref(), &address)?;
        self.check(
            self.logins.as_ref(),
            &format!("{}\u{0}{address}", username.to_lowercase()),
        )
    }

    fn check(
        &self,
        limiter: Option<&DefaultKeyedRateLimiter<String>>,
        key: &str,
    ) -> Result<(), Duration> {
        match limiter {
            None => Ok(()),
            Some(l) => l
                .check_key(&key.to_string())
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
        }
    }

    /// Forget keys whose limits have fully recovered (bounded memory).
    pub fn forget_idle(&self) {
        for l in [&self.asks, &self.logins, &self.login_addresses]
            .into_iter()
            .flatten()
        {
            l.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_principal_has_its_own_budget() {
        let limits = RateLimits::new(&LimitSettings {
            asks_per_minute: 2,
            logins_per_minute: 0,
            logins_per_minute_per_address: 0,
        });
        assert!(limits.ask("user:a").is_ok());
        assert!(limits.ask("user:a").is_ok());
        let wait = limits
            .ask("user:a")
            .expect_err("third question in a minute");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30));
        assert!(limits.ask("user:b").is_ok());
        for _ in 0..100 {
            assert!(limits.login("admin", None).is_ok(), "0 means unlimited");
        }
    }

    #[test]
    fn a_stranger_cannot_lock_a_name_out_from_another_address() {
        let limits = RateLimits::new(&LimitSettings {
            asks_per_minute: 0,
            logins_per_minute: 3,
            logins_per_minute_per_address: 20,
        });
        let (stranger, owner) = (
            Some("10.9.9.9".parse().unwrap()),
            Some("10.1.1.1".parse().unwrap()),
        );
        for _ in 0..3 {
            assert!(limits.login("Admin", stranger).is_ok());
        }
        assert!(
            limits.login("admin", stranger).is_err(),
            "per name, case-insensitive"
        );
        assert!(
            limits.login("admin", owner).is_ok(),
            "the owner's address has its own budget"
        );
        // A spray of names from one address runs into the address's budget.
        let refused = (0..40)
            .filter(|i| limits.login(&format!("user{i}"), stranger).is_err())
            .count();
        assert!(refused >= 40 - 17, "{refused}");
        assert!(limits.login("admin", owner).is_ok());
    }
}
