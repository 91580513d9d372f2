//! Per-principal rate limits (governor's keyed GCRA limiters): questions per minute for each
//! user or key, and login attempts per minute for each user name.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::LimitSettings;

pub struct RateLimits {
    asks: Option<DefaultKeyedRateLimiter<String>>,
    logins: Option<DefaultKeyedRateLimiter<String>>,
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
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `principal` asked too often; `wait` is when the next question is allowed.
    pub fn ask(&self, principal: &str) -> Result<(), Duration> {
        self.check(self.asks.as_ref(), principal)
    }

    pub fn login(&self, username: &str) -> Result<(), Duration> {
        self.check(self.logins.as_ref(), &username.to_lowercase())
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
        for l in [&self.asks, &self.logins].into_iter().flatten() {
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
        });
        assert!(limits.ask("user:a").is_ok());
        assert!(limits.ask("user:a").is_ok());
        let wait = limits
            .ask("user:a")
            .expect_err("third question in a minute");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30));
        assert!(limits.ask("user:b").is_ok());
        for _ in 0..100 {
            assert!(limits.login("admin").is_ok(), "0 means unlimited");
        }
    }
}
