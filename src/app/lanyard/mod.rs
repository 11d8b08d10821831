//! Moving from Lanyard (docs/API.md, "Moving from Lanyard"): a Lanyard
//! instance's KV, API keys and last-seen times, read from its Redis by
//! `harmy migrate --from-lanyard` (`cli::lanyard`), brought into harmy.
//!
//! * [`prepare`]: what Redis holds for one user → what harmy would store
//!   ([`Record`]), with what breaks harmy's rules set aside ([`Skip`]). The CLI
//!   runs it as it reads, so that only what fits travels on; [`App::import_lanyard`]
//!   checks the pairs again against the limits of the process that stores them.
//! * [`App::import_lanyard`] stores one batch of records in one transaction, so
//!   a run stopped half-way leaves whole batches, and a rerun finds them
//!   unchanged. What harmy already has wins unless the import overwrites. KV goes
//!   through the write path of the public state (readers and sockets see it at
//!   once), keys through the tokens service (hashed, then as after a rotation),
//!   last-seen times into the store and the in-memory book together.
//! * [`report`]: the counts and the skips, per kind.

pub mod prepare;
pub mod report;

pub use self::prepare::{RawHash, RawUser, Record, prepare};
pub use self::report::{Counts, Kind, Reason, Report, Skip};
use super::App;
use super::kv::data as kv_data;
use super::privacy::data as privacy_data;
use super::tokens::imported::{self, KeyDecision};
use crate::error::Result;
use crate::ids::UserId;
use crate::store;

/// What the write of one batch found, per user.
struct Written {
    kv: Vec<(UserId, kv_data::Imported)>,
    keys: Vec<(UserId, KeyDecision)>,
}

impl App {
    /// Stores a batch of records from Lanyard in one transaction (or, `dry_run`,
    /// says what it would store and changes nothing); existing values win
    /// unless `overwrite`.
    pub async fn import_lanyard(&self, records: Vec<Record>, overwrite: bool, dry_run: bool) -> Result<Report> {
        let mut report = Report::default();
        let limits = self.kv.limits();
        // A user who hid (or asked to be forgotten) said what they want kept: nothing.
        let (hidden, mut records): (Vec<Record>, Vec<Record>) = records
            .into_iter()
            .partition(|r| self.privacy.visibility().choice(r.user) == Some(super::privacy::Choice::Hidden));
        for record in hidden {
            let user = record.user;
            if !record.kv.is_empty() {
                report.skip(Skip::whole(user, Kind::Kv, record.kv.len(), Reason::UserHidden));
            }
            if record.key.is_some() {
                report.skip(Skip::whole(user, Kind::Key, 1, Reason::UserHidden));
            }
            if record.last_seen.is_some() {
                report.skip(Skip::whole(user, Kind::LastSeen, 1, Reason::UserHidden));
            }
        }
        for record in &mut records {
            // Checked by the reader already, against its config; this process's limits rule.
            record.kv.retain(|(key, value)| match limits.check_pair(key, value) {
                Ok(()) => true,
                Err(e) => {
                    report.skip(Skip::pair(record.user, key, prepare::reason_of(e)));
                    false
                }
            });
        }
        let keys: Vec<(UserId, String)> = records.iter().filter_map(|r| Some((r.user, r.key.clone()?))).collect();
        // argon2 first, outside the turn of the last-seen batches.
        let prepared = self.tokens.prepare_keys(keys, overwrite, dry_run).await?;

        let last_seen = self.privacy.last_seen();
        let _flushing = last_seen.flushing().await;
        let mut times = Vec::new();
        for record in &records {
            let Some(at) = record.last_seen else { continue };
            match last_seen.get(record.user) {
                Some(known) if known == at => report.last_seen.unchanged += 1,
                Some(_) if !overwrite => {
                    report.skip(Skip::whole(record.user, Kind::LastSeen, 1, Reason::HarmyTimeKept));
                }
                _ => times.push((record.user, at)),
            }
        }

        let users: Vec<UserId> = records.iter().map(|r| r.user).collect();
        let kv: Vec<(UserId, Vec<(String, String)>)> =
            records.into_iter().filter(|r| !r.kv.is_empty()).map(|r| (r.user, r.kv)).collect();
        let stored_times = times.clone();
        let write = move |txn: &redb::WriteTransaction| {
            let mut written = Written { kv: Vec::with_capacity(kv.len()), keys: Vec::new() };
            for (user, pairs) in &kv {
                written.kv.push((*user, kv_data::import(txn, *user, pairs, &limits, overwrite)?));
            }
            written.keys = imported::write_keys(txn, &prepared, overwrite)?;
            privacy_data::put_last_seen(txn, &stored_times)?;
            Ok(written)
        };
        let written = if dry_run {
            store::blocking(&self.store, move |store| store.rehearse(write)).await?
        } else {
            self.writes.run_many(users, write).await?
        };

        if !dry_run {
            let replaced = written.keys.iter().filter(|(_, d)| *d == KeyDecision::Import).map(|(user, _)| *user);
            self.tokens.replaced(replaced);
            for &(user, at) in &times {
                last_seen.imported(user, at);
                self.changes.mark(user);
            }
        }
        report.last_seen.imported += times.len();
        count_kv(&mut report, written.kv);
        count_keys(&mut report, written.keys);
        Ok(report)
    }
}

fn count_kv(report: &mut Report, written: Vec<(UserId, kv_data::Imported)>) {
    for (user, imported) in written {
        report.kv.imported += imported.written;
        report.kv.unchanged += imported.unchanged;
        if let Some((refused, pairs)) = imported.refused {
            report.skip(Skip::whole(user, Kind::Kv, pairs, prepare::reason_of(refused)));
        }
        for key in &imported.kept {
            report.skip(Skip::pair(user, key, Reason::HarmyValueKept));
        }
    }
}

fn count_keys(report: &mut Report, decisions: Vec<(UserId, KeyDecision)>) {
    for (user, decision) in decisions {
        let reason = match decision {
            KeyDecision::Import => {
                report.keys.imported += 1;
                continue;
            }
            KeyDecision::Unchanged => {
                report.keys.unchanged += 1;
                continue;
            }
            KeyDecision::KeptToken => Reason::HarmyTokenKept,
            KeyDecision::KeptKey => Reason::ImportedKeyKept,
            KeyDecision::TakenByOther => Reason::KeyOfAnotherUser,
        };
        report.skip(Skip::whole(user, Kind::Key, 1, reason));
    }
}

#[cfg(test)]
mod tests;
