//! Per-member limits on bot commands. Discord slows down how fast one member
//! writes in one channel, but not across channels, DMs and slash commands, and
//! every command costs a store write, or worse: an argon2 hash (`.token`, tens
//! of milliseconds of CPU) or a GitHub request (`.github LOGIN`, out of the 60
//! an hour GitHub grants without a token, shared by the whole server). So each
//! member gets [`COMMANDS_PER_MINUTE`] commands a minute, of which at most
//! [`COSTLY_PER_HOUR`] costly ones (`.token`, `.github LOGIN`) an hour.
//!
//! Each member's windows ([`crate::limit::Window`]) are opened by their first
//! command. Memory holds one small entry (about 100 bytes) per member who sent a
//! command within the hour, at most [`MAX_MEMBERS`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::command::Action;
use crate::ids::UserId;
use crate::limit::{Clock, Count, Instant, Keyed, Window};

/// Commands one member may run in a minute.
pub const COMMANDS_PER_MINUTE: u32 = 20;
/// New tokens and GitHub links one member may ask for in an hour.
pub const COSTLY_PER_HOUR: u32 = 5;
/// Members whose windows are kept at most (the least recently seen go first).
const MAX_MEMBERS: usize = 100_000;
const COMMANDS: Window = Window::per_minute(COMMANDS_PER_MINUTE);
const COSTLY: Window = Window::new(COSTLY_PER_HOUR, Duration::from_secs(3600));

/// What the limiter says about one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run it.
    Run,
    /// Refuse it and say so; `retry_after` in seconds.
    Refuse { retry_after: u64 },
    /// Refuse it silently: the member was already told within the minute (a
    /// reply to each message of a flood would be a flood of the bot's own).
    Ignore,
}

#[derive(Debug, Default)]
struct Member {
    commands: Count,
    costly: Count,
    /// When the member was last told to slow down, ms on the clock plus one (0: never).
    told: AtomicU64,
}

/// The members' windows.
pub struct CommandLimits {
    clock: Clock,
    members: Keyed<UserId, Member>,
}

impl Default for CommandLimits {
    fn default() -> Self {
        CommandLimits { clock: Clock::new(), members: Keyed::new(MAX_MEMBERS, COSTLY.length()) }
    }
}

impl CommandLimits {
    /// Counts a command of `user` at `now`; a refused command is not counted.
    /// `quiet` asks for `Ignore` rather than a second `Refuse` within a minute
    /// (messages); slash commands always get an answer.
    pub fn check(&self, user: UserId, action: &Action, now: Instant, quiet: bool) -> Verdict {
        let now_ms = self.clock.ms(now);
        let costly = matches!(action, Action::Token | Action::GithubLink { .. });
        self.members.with(user, now_ms, |member| {
            let command = COMMANDS.take(&member.commands, now_ms);
            let refused = if !command.allowed {
                command
            } else if costly {
                let taken = COSTLY.take(&member.costly, now_ms);
                if taken.allowed {
                    return Verdict::Run;
                }
                // A refused command does not count.
                COMMANDS.give_back(&member.commands, &command);
                taken
            } else {
                return Verdict::Run;
            };
            let told = member.told.load(Ordering::Relaxed);
            if quiet && told > 0 && now_ms.saturating_sub(told - 1) < COMMANDS.length().as_millis() as u64 {
                return Verdict::Ignore;
            }
            member.told.store(now_ms + 1, Ordering::Relaxed);
            Verdict::Refuse { retry_after: refused.retry_after() }
        })
    }
}

/// What the bot answers to a refused command.
pub fn refusal(retry_after: u64) -> String {
    format!(
        "Slow down: at most {COMMANDS_PER_MINUTE} commands a minute, of which {COSTLY_PER_HOUR} new tokens \
         or GitHub links an hour. Try again in {retry_after} s."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: UserId = UserId(2);

    /// The limits, and the instant `s` seconds after their start.
    fn limits() -> (CommandLimits, impl Fn(u64) -> Instant) {
        let limits = CommandLimits::default();
        let t0 = Instant::now();
        (limits, move |s| t0 + Duration::from_secs(s))
    }

    #[test]
    fn the_twenty_first_command_in_a_minute_is_refused_once_then_ignored() {
        let (limits, at) = limits();
        for _ in 0..COMMANDS_PER_MINUTE {
            assert_eq!(limits.check(ALICE, &Action::KvList, at(0), true), Verdict::Run);
        }
        assert_eq!(limits.check(ALICE, &Action::KvList, at(5), true), Verdict::Refuse { retry_after: 55 });
        assert_eq!(limits.check(ALICE, &Action::KvList, at(6), true), Verdict::Ignore);
        assert_eq!(
            limits.check(ALICE, &Action::KvList, at(7), false),
            Verdict::Refuse { retry_after: 53 },
            "a slash command is always answered"
        );
        assert_eq!(limits.check(UserId(3), &Action::KvList, at(7), true), Verdict::Run, "others are not affected");
        assert_eq!(limits.check(ALICE, &Action::KvList, at(60), true), Verdict::Run, "a new minute starts over");
    }

    #[test]
    fn tokens_and_github_links_are_limited_per_hour() {
        let (limits, at) = limits();
        let link = Action::GithubLink { login: "octocat".into() };
        for minute in 0..u64::from(COSTLY_PER_HOUR) {
            let action = if minute % 2 == 0 { &link } else { &Action::Token };
            assert_eq!(limits.check(ALICE, action, at(60 * minute), true), Verdict::Run);
        }
        assert_eq!(limits.check(ALICE, &link, at(600), true), Verdict::Refuse { retry_after: 3000 });
        for _ in 1..COMMANDS_PER_MINUTE {
            assert_eq!(limits.check(ALICE, &Action::KvList, at(601), true), Verdict::Run, "other commands still run");
        }
        assert_eq!(limits.check(ALICE, &Action::KvList, at(602), true), Verdict::Run, "the refused one did not count");
        assert_eq!(limits.check(ALICE, &link, at(3600), true), Verdict::Run, "a new hour starts over");
    }

    #[test]
    fn members_not_seen_for_an_hour_are_dropped() {
        let (limits, at) = limits();
        for id in 0..1000 {
            limits.check(UserId(id + 10), &Action::KvList, at(0), true);
        }
        assert_eq!(limits.members.len(), 1000);
        limits.check(ALICE, &Action::KvList, at(3700), true);
        assert_eq!(limits.members.len(), 1);
    }
}
