//! The dispatch payloads harmy reads itself instead of through twilight-model:
//! they borrow from the frame and keep the user and activities as the raw JSON
//! Discord sent (twilight's `Activity` drops `sync_id`, the Spotify track id,
//! and would cost a full allocation tree per update).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::app::presence::{ClientStatus, Status, Update};

/// `{"op":0,"t":…,"s":…,"d":…}`: only `d` is read here (twilight read the rest).
#[derive(Deserialize)]
pub struct Dispatch<T> {
    /// The event's data.
    pub d: T,
}

/// A Discord id, sent as a string (or, by some tools, a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Snowflake(pub u64);

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Snowflake;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a snowflake")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(n))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Snowflake, E> {
                s.parse().map(Snowflake).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// READY: the session's guilds.
#[derive(Deserialize)]
pub struct Ready {
    /// Every guild the bot is in (unavailable until its GUILD_CREATE).
    pub guilds: Vec<GuildRef>,
}

/// A guild id, with GUILD_DELETE's `unavailable` (true: an outage, not a removal).
#[derive(Deserialize)]
pub struct GuildRef {
    /// The guild.
    pub id: Snowflake,
    /// Set on outages.
    #[serde(default)]
    pub unavailable: Option<bool>,
}

/// GUILD_CREATE: the guild's members and presences (all of them unless `large`).
#[derive(Deserialize)]
pub struct GuildCreate<'a> {
    /// The guild.
    pub id: Snowflake,
    /// An outage announcement rather than a guild.
    #[serde(default)]
    pub unavailable: bool,
    /// Above `large_threshold`: members must be requested (op 8).
    #[serde(default)]
    pub large: bool,
    /// Members (all of them unless `large`).
    #[serde(default, borrow)]
    pub members: Vec<GuildMember<'a>>,
    /// Presences of members who are not offline.
    #[serde(default, borrow)]
    pub presences: Vec<Presence<'a>>,
}

/// GUILD_MEMBERS_CHUNK: part of the answer to op 8.
#[derive(Deserialize)]
pub struct MembersChunk<'a> {
    /// The guild.
    pub guild_id: Snowflake,
    /// This chunk's index, from 0.
    pub chunk_index: u32,
    /// How many chunks answer the request.
    pub chunk_count: u32,
    /// The request's nonce.
    #[serde(default, borrow)]
    pub nonce: Option<Cow<'a, str>>,
    /// Members of this chunk.
    #[serde(default, borrow)]
    pub members: Vec<GuildMember<'a>>,
    /// Presences of this chunk's members who are not offline.
    #[serde(default, borrow)]
    pub presences: Vec<Presence<'a>>,
}

/// RATE_LIMITED: Discord dropped a gateway command (op 8 so far) and says when
/// to try again. Read leniently: fields Discord may add later are ignored.
#[derive(Deserialize)]
pub struct RateLimited<'a> {
    /// The refused command's opcode.
    #[serde(default)]
    pub opcode: Option<u64>,
    /// Seconds to wait, possibly fractional.
    #[serde(default)]
    pub retry_after: f64,
    /// Which request it was.
    #[serde(default, borrow)]
    pub meta: RateLimitMeta<'a>,
}

/// `meta` of a RATE_LIMITED for op 8.
#[derive(Deserialize, Default)]
pub struct RateLimitMeta<'a> {
    /// The guild whose members were requested.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// The request's nonce.
    #[serde(default, borrow)]
    pub nonce: Option<Cow<'a, str>>,
}

/// A guild member (also GUILD_MEMBER_ADD and GUILD_MEMBER_UPDATE, with `guild_id`).
#[derive(Deserialize)]
pub struct GuildMember<'a> {
    /// The raw user object.
    #[serde(borrow)]
    pub user: &'a RawValue,
    /// The nickname in the guild.
    #[serde(default, borrow)]
    pub nick: Option<Cow<'a, str>>,
    /// Set on GUILD_MEMBER_ADD/UPDATE.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
}

/// GUILD_MEMBER_REMOVE.
#[derive(Deserialize)]
pub struct MemberRemove<'a> {
    /// The guild left.
    pub guild_id: Snowflake,
    /// The raw user object.
    #[serde(borrow)]
    pub user: &'a RawValue,
}

/// A presence (PRESENCE_UPDATE, or inside GUILD_CREATE and chunks).
#[derive(Deserialize)]
pub struct Presence<'a> {
    /// The raw user object: `{"id":…}`, or a full user when it changed.
    #[serde(borrow)]
    pub user: &'a RawValue,
    /// Set on PRESENCE_UPDATE.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// online, idle, dnd, invisible or offline.
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    /// Status per platform.
    #[serde(default, borrow)]
    pub client_status: Platforms<'a>,
    /// The raw activities array.
    #[serde(default, borrow)]
    pub activities: Option<&'a RawValue>,
}

/// `client_status`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Platforms<'a> {
    #[serde(borrow)]
    desktop: Option<Cow<'a, str>>,
    #[serde(borrow)]
    mobile: Option<Cow<'a, str>>,
    #[serde(borrow)]
    web: Option<Cow<'a, str>>,
    #[serde(borrow)]
    embedded: Option<Cow<'a, str>>,
    #[serde(borrow)]
    vr: Option<Cow<'a, str>>,
}

impl Presence<'_> {
    /// The cache's form of it.
    pub fn update(&self) -> Update<'_> {
        let mut clients = ClientStatus::default();
        let p = &self.client_status;
        for (platform, status) in
            [("desktop", &p.desktop), ("mobile", &p.mobile), ("web", &p.web), ("embedded", &p.embedded), ("vr", &p.vr)]
        {
            if let Some(status) = status {
                clients.set(platform, status);
            }
        }
        Update {
            status: Status::from_gateway(&self.status),
            clients,
            activities: self.activities.map_or("", RawValue::get),
        }
    }
}

/// What a raw user object says about itself.
pub struct UserRef {
    /// The user.
    pub id: u64,
    /// Whether it is a full user object rather than `{"id":…}`.
    pub full: bool,
}

/// Reads the id (and fullness) of a raw user object.
pub fn user_ref(raw: &RawValue) -> Option<UserRef> {
    #[derive(Deserialize)]
    struct Raw {
        id: Snowflake,
        #[serde(default)]
        username: Option<serde::de::IgnoredAny>,
    }
    let user: Raw = serde_json::from_str(raw.get()).ok()?;
    (user.id.0 != 0).then_some(UserRef { id: user.id.0, full: user.username.is_some() })
}
