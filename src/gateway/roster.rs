//! Gateway dispatches → the presence cache: who is a member of which monitored
//! guild, and their presence. Each guild's full member list (GUILD_CREATE, or
//! the last GUILD_MEMBERS_CHUNK of a large guild) opens a new sync epoch and
//! sweeps members it no longer lists, so a new session rebuilds the cache
//! without emptying it first (the API keeps serving meanwhile). A large guild's
//! member requests (op 8) go through `members`, which keeps Discord's limit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::time::Instant;
use twilight_model::gateway::payload::outgoing::RequestGuildMembers;
use twilight_model::id::Id;

use super::members::{self, MemberRequests};
use super::payload::{
    self, Dispatch, GuildCreate, GuildMember, GuildRef, MemberRemove, MembersChunk, Presence, RateLimited, Ready,
};
use crate::app::App;
use crate::app::presence::{self, Update};

/// The monitored guilds and their sync epochs.
pub struct Roster {
    app: Arc<App>,
    /// Configured guilds; empty = every guild.
    configured: HashSet<u64>,
    epochs: HashMap<u64, u32>,
    next_epoch: u32,
    requests: MemberRequests,
}

impl Roster {
    /// A roster for the configured guilds.
    pub fn new(app: Arc<App>) -> Roster {
        let configured = app.config().discord.guild_ids.iter().copied().collect();
        Roster { app, configured, epochs: HashMap::new(), next_epoch: 1, requests: MemberRequests::default() }
    }

    fn monitored(&self, guild: u64) -> bool {
        self.configured.is_empty() || self.configured.contains(&guild)
    }

    fn epoch(&self, guild: u64) -> u32 {
        self.epochs.get(&guild).copied().unwrap_or(0)
    }

    fn new_epoch(&mut self, guild: u64) -> u32 {
        let epoch = self.next_epoch;
        self.next_epoch = self.next_epoch.wrapping_add(1).max(1);
        self.epochs.insert(guild, epoch);
        epoch
    }

    /// Applies one dispatch; events that are not about presence are ignored.
    /// Returns the member request (op 8) to send now for a large guild; one
    /// that may not go yet comes later from [`Roster::due_requests`].
    pub fn handle(&mut self, kind: &str, frame: &str) -> Result<Option<RequestGuildMembers>, serde_json::Error> {
        match kind {
            "PRESENCE_UPDATE" => self.presence_update(serde_json::from_str::<Dispatch<Presence>>(frame)?.d),
            "GUILD_CREATE" => return Ok(self.guild_create(serde_json::from_str::<Dispatch<GuildCreate>>(frame)?.d)),
            "GUILD_MEMBERS_CHUNK" => self.chunk(serde_json::from_str::<Dispatch<MembersChunk>>(frame)?.d),
            "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" => {
                let member = serde_json::from_str::<Dispatch<GuildMember>>(frame)?.d;
                if let Some(guild) = member.guild_id.filter(|g| self.monitored(g.0)) {
                    self.member(guild.0, self.epoch(guild.0), &member);
                }
            }
            "GUILD_MEMBER_REMOVE" => {
                let removed = serde_json::from_str::<Dispatch<MemberRemove>>(frame)?.d;
                let guild = removed.guild_id.0;
                let user = payload::user_ref(removed.user).filter(|_| self.monitored(guild));
                if let Some(user) = user.filter(|u| self.app.presences.remove_member(u.id, guild)) {
                    tracing::debug!(user = user.id, guild, "member left");
                }
            }
            "GUILD_DELETE" => {
                let guild = serde_json::from_str::<Dispatch<GuildRef>>(frame)?.d;
                if guild.unavailable != Some(true) {
                    self.requests.forget(guild.id.0);
                    let gone = self.app.presences.retain_guilds(|g| g != guild.id.0);
                    tracing::info!(guild = guild.id.0, members = gone.len(), "removed from a guild");
                }
            }
            "READY" => {
                let ready = serde_json::from_str::<Dispatch<Ready>>(frame)?.d;
                let guilds: HashSet<u64> = ready.guilds.iter().map(|g| g.id.0).collect();
                self.requests.new_session(|g| guilds.contains(&g));
                self.app.presences.retain_guilds(|g| guilds.contains(&g));
                let monitored = guilds.iter().filter(|g| self.monitored(**g)).count();
                tracing::info!(guilds = guilds.len(), monitored_guilds = monitored, "gateway session started");
                for guild in &self.configured {
                    if !guilds.contains(guild) {
                        tracing::warn!(
                            guild,
                            "the bot is not in configured guild {guild}: invite it (harmy bot invite)"
                        );
                    }
                }
            }
            "RATE_LIMITED" => self.rate_limited(serde_json::from_str::<Dispatch<RateLimited>>(frame)?.d),
            _ => {}
        }
        Ok(None)
    }

    /// The member requests whose time has come (Discord's limit kept them back).
    pub fn due_requests(&mut self) -> Vec<RequestGuildMembers> {
        self.requests.due(Instant::now())
    }

    /// When the next member request that waits is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.requests.next_due()
    }

    fn rate_limited(&mut self, limited: RateLimited<'_>) {
        let Some(guild) = limited.meta.guild_id.filter(|_| limited.opcode.is_none_or(|op| op == 8)) else {
            tracing::warn!(opcode = limited.opcode, "Discord rate-limited a gateway command harmy does not resend");
            return;
        };
        let wait = members::retry_after(limited.retry_after);
        let now = Instant::now();
        match self.requests.rate_limited(guild.0, limited.meta.nonce.as_deref(), wait, now) {
            Some(at) => tracing::warn!(
                guild = guild.0,
                retry_after = limited.retry_after,
                resend_in_secs = at.saturating_duration_since(now).as_secs_f64(),
                "Discord rate-limited the guild's member request: it is sent again later"
            ),
            None => tracing::debug!(guild = guild.0, "rate limit of a member request that is not pending"),
        }
    }

    fn presence_update(&mut self, presence: Presence<'_>) {
        let Some(guild) = presence.guild_id.filter(|g| self.monitored(g.0)) else { return };
        self.presence(guild.0, self.epoch(guild.0), &presence);
    }

    fn presence(&self, guild: u64, epoch: u32, presence: &Presence<'_>) {
        let Some(user) = payload::user_ref(presence.user) else { return };
        let full = user.full.then(|| presence.user.get());
        if self.app.presences.update_presence(user.id, guild, epoch, presence.update(), full) {
            tracing::debug!(user = user.id, status = %presence.status, "presence changed");
        }
    }

    fn member(&self, guild: u64, epoch: u32, member: &GuildMember<'_>) {
        let Some(user) = payload::user_ref(member.user) else { return };
        let member_data = presence::MemberSeen { user: member.user.get(), nick: member.nick.as_deref() };
        if self.app.presences.upsert_member(user.id, guild, epoch, member_data) {
            tracing::debug!(user = user.id, guild, "member changed");
        }
    }

    /// A frame's members, each with the presence the frame carries for them
    /// applied in the same step (so none is ever seen without it); members
    /// without one are offline when the list is complete for them
    /// (`offline_unlisted`). Then the presences of users the frame lists no
    /// member object for.
    fn members(
        &self,
        guild: u64,
        epoch: u32,
        members: &[GuildMember<'_>],
        presences: &[Presence<'_>],
        offline_unlisted: bool,
    ) {
        let mut by_user: HashMap<u64, &Presence<'_>> =
            presences.iter().filter_map(|p| Some((payload::user_ref(p.user)?.id, p))).collect();
        for member in members {
            let Some(user) = payload::user_ref(member.user) else { continue };
            let presence = match by_user.remove(&user.id) {
                Some(p) => {
                    let full = payload::user_ref(p.user).filter(|u| u.full).map(|_| p.user.get());
                    Some((p.update(), full))
                }
                None => offline_unlisted.then(|| (Update::default(), None)),
            };
            let member_data = presence::MemberSeen { user: member.user.get(), nick: member.nick.as_deref() };
            if self.app.presences.sync_member(user.id, guild, epoch, member_data, presence) {
                tracing::debug!(user = user.id, guild, "member changed");
            }
        }
        for presence in presences {
            let user = payload::user_ref(presence.user).map(|u| u.id);
            if user.is_some_and(|user| by_user.remove(&user).is_some()) {
                self.presence(guild, epoch, presence);
            }
        }
    }

    fn guild_create(&mut self, guild: GuildCreate<'_>) -> Option<RequestGuildMembers> {
        let id = guild.id.0;
        if guild.unavailable || !self.monitored(id) {
            return None;
        }
        let epoch = self.new_epoch(id);
        self.members(id, epoch, &guild.members, &guild.presences, !guild.large);
        if !guild.large {
            self.end_sync(id, epoch);
            return None;
        }
        // The rest of the members, with presences, come as GUILD_MEMBERS_CHUNKs. The
        // nonce ties them to this sync, so a stale request's last chunk sweeps nothing.
        tracing::info!(guild = id, members = guild.members.len(), "large guild: requesting its members");
        let request = RequestGuildMembers::builder(Id::new_checked(id)?).presences(true).nonce(format!("{id}:{epoch}"));
        let now = Instant::now();
        let request = self.requests.submit(id, request.query("", None), now);
        if request.is_none() {
            tracing::info!(
                guild = id,
                "the guild's members were requested less than 30 s ago: asking again at the 30 s mark"
            );
        }
        request
    }

    fn chunk(&mut self, chunk: MembersChunk<'_>) {
        let guild = chunk.guild_id.0;
        if !self.monitored(guild) {
            return;
        }
        let epoch = self.epoch(guild);
        self.members(guild, epoch, &chunk.members, &chunk.presences, true);
        let requested = chunk.nonce.as_deref().and_then(|n| n.split_once(':')).and_then(|(_, e)| e.parse().ok());
        if chunk.chunk_index + 1 >= chunk.chunk_count && requested == Some(epoch) {
            self.end_sync(guild, epoch);
        }
    }

    fn end_sync(&self, guild: u64, epoch: u32) {
        let gone = self.app.presences.sweep(guild, epoch);
        for user in &gone {
            tracing::debug!(user = user.0, guild, "member gone since the last sync");
        }
        tracing::info!(guild, monitored = self.app.presences.monitored_count(), "guild synced");
    }
}
