//! The simulated guild of `harmy serve --demo`: twenty members with what real
//! members show (Spotify listeners whose tracks run out and change, players with
//! rich presence, custom statuses with emoji, streams, every status and
//! platform), and the changes that keep it moving, as the gateway payloads
//! Discord would send for them.
//!
//! It is a plain state machine over a seeded random generator and a clock the
//! caller passes in, so the tests drive it without waiting.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::frames::{self, Track};

/// The demo guild's id.
pub const GUILD_ID: u64 = 1_300_000_000_000_000_000;
/// The bot's user and application id in READY.
pub const BOT_ID: u64 = 1_300_000_000_000_000_100;
/// The first member's id; the others follow it (`FIRST_MEMBER + 1`, …).
pub const FIRST_MEMBER: u64 = 1_300_000_000_000_000_001;
/// The member with KV pairs, a linked GitHub profile and the printed token.
pub const DEMO_USER: u64 = FIRST_MEMBER;

/// Who the members are: username, display name, nickname in the guild, what they do at start.
const PEOPLE: [(&str, &str, Option<&str>, Start); 20] = [
    ("ada", "Ada", Some("ada (demo user)"), Start::Listening),
    ("bo.codes", "Bo", None, Start::Listening),
    ("cyrene", "Cyrene", None, Start::Listening),
    ("dmitri", "Dmitri", None, Start::Listening),
    ("elif", "Elif ✿", None, Start::Listening),
    ("farah", "Farah", None, Start::Playing),
    ("gus", "Gus", Some("gus the great"), Start::Playing),
    ("hana", "Hana", None, Start::Playing),
    ("ines", "Inès", None, Start::Playing),
    ("jonas", "Jonas", None, Start::Playing),
    ("kofi", "Kofi", None, Start::Custom),
    ("lena", "Lena", None, Start::Custom),
    ("mateo", "Mateo", None, Start::Custom),
    ("nour", "Nour", None, Start::Streaming),
    ("oskar", "Oskar", None, Start::Custom),
    ("priya", "Priya", None, Start::Idle),
    ("quinn", "Quinn", None, Start::Dnd),
    ("rosa", "Rosa", None, Start::Mobile),
    ("sven", "Sven", None, Start::Offline),
    ("tomoko", "Tomoko", None, Start::Offline),
];

#[derive(Clone, Copy)]
enum Start {
    Listening,
    Playing,
    Custom,
    Streaming,
    Idle,
    Dnd,
    Mobile,
    Offline,
}

/// Every member's id and display name (the web page lists them under `--demo`).
pub fn roster() -> impl Iterator<Item = (u64, &'static str)> {
    PEOPLE.iter().enumerate().map(|(i, &(_, global_name, _, _))| (FIRST_MEMBER + i as u64, global_name))
}

/// The tracks listeners go through: song, artist, album, seconds, Spotify track id, album art id.
const TRACKS: [(&str, &str, &str, u64, &str, &str); 10] = [
    (
        "Night Drive",
        "Neon Harbor",
        "Coastlines",
        214,
        "4uLU6hMCjMI75M1A2tKUQC",
        "ab67616d0000b2731f2a6e8d5c0f6b2a9e4c7d10",
    ),
    (
        "Paper Planes Over Lisbon",
        "The Quiet Hours",
        "Atlas",
        187,
        "1mCsF9Tw4AkIZOjvZbZZdT",
        "ab67616d0000b27327b4c3f0e5a8d9b1c6e2f411",
    ),
    ("Glasshouse", "Mira Sol", "Glasshouse", 243, "3n3Ppam7vgaVa1iaRUc9Lp", "ab67616d0000b2733c9d2e1f0a8b7c6d5e4f3a12"),
    (
        "Low Tide",
        "Kestrel & the Foxes",
        "Salt",
        199,
        "0VjIjW4GlUZAMYd2vXMi3b",
        "ab67616d0000b2734d0e3f2a1b9c8d7e6f5a4b13",
    ),
    (
        "Static Bloom",
        "Velvet Static",
        "Signals",
        226,
        "7qiZfU4dY1lWllzX7mPBI3",
        "ab67616d0000b2735e1f4a3b2c0d9e8f7a6b5c14",
    ),
    (
        "Sunday Compiler",
        "Lo-Fi Linker",
        "Build Passing",
        162,
        "2takcwOaAZWiXQijPHIx7B",
        "ab67616d0000b2736f2a5b4c3d1e0f9a8b7c6d15",
    ),
    (
        "Afterglow Avenue",
        "Juniper Lane",
        "Afterglow",
        231,
        "5HCyWlXZPP0y6Gqq8TgA20",
        "ab67616d0000b273701b6c5d4e2f1a0b9c8d7e16",
    ),
    (
        "Borrowed Light",
        "Aurel",
        "Borrowed Light",
        208,
        "6habFhsOp2NvshLv26DqMb",
        "ab67616d0000b273812c7d6e5f3a2b1c0d9e8f17",
    ),
    (
        "Copper Sky",
        "The Long Weekends",
        "Copper Sky",
        176,
        "1zi7xx7UVEFkmKfv06H8x0",
        "ab67616d0000b273923d8e7f6a4b3c2d1e0f9a18",
    ),
    ("Elevators", "Sora & Finch", "Up", 195, "3KkXRkHbMCARz0aVfEt68P", "ab67616d0000b273a34e9f8a7b5c4d3e2f1a0b19"),
];

/// Games and apps: name, application id, rich presence details, state.
const GAMES: [(&str, u64, Option<&str>, Option<&str>); 7] = [
    ("Minecraft", 356875570916753438, Some("Survival"), Some("Building a lighthouse")),
    ("Celeste", 1_300_000_000_000_000_201, Some("Chapter 7: The Summit"), Some("Deaths: 1 204")),
    ("Factorio", 1_300_000_000_000_000_202, Some("Megabase"), Some("Fixing the spaghetti")),
    ("Stardew Valley", 1_300_000_000_000_000_203, Some("Summer, Day 12"), Some("Fishing")),
    ("Rocket League", 1_300_000_000_000_000_204, Some("Ranked Doubles"), Some("2 - 1")),
    ("Visual Studio Code", 383226320970055681, Some("Editing main.rs"), Some("Workspace: my-site")),
    ("Tetris Effect", 1_300_000_000_000_000_205, None, None),
];

/// Custom statuses: text, emoji (a unicode name, or a custom emoji with id and name).
const CUSTOM: [(&str, &str); 8] = [
    ("building my site", "✨"),
    ("coffee first", "☕"),
    ("out walking the dog", "🐕"),
    ("deep in a bug hunt", "🐛"),
    ("on holiday until Monday", "🏖️"),
    ("listening to everything", "🎧"),
    ("learning Rust", "🦀"),
    ("do not disturb: exams", "📚"),
];

/// The member's status, platform and activities as the guild knows them.
struct DemoMember {
    id: u64,
    username: &'static str,
    global_name: &'static str,
    nick: Option<&'static str>,
    status: &'static str,
    platform: &'static str,
    custom: Option<usize>,
    game: Option<(usize, u64)>,
    /// The track playing and when it started.
    track: Option<(usize, u64)>,
    streaming: bool,
}

/// The simulated guild.
pub struct Guild {
    members: Vec<DemoMember>,
    rng: SmallRng,
}

impl Guild {
    /// The guild at `now_ms` (ms since the epoch); `seed` picks the random changes.
    pub fn new(seed: u64, now_ms: u64) -> Guild {
        let mut rng = SmallRng::seed_from_u64(seed);
        let members = PEOPLE
            .iter()
            .enumerate()
            .map(|(i, &(username, global_name, nick, start))| {
                let mut m = DemoMember {
                    id: FIRST_MEMBER + i as u64,
                    username,
                    global_name,
                    nick,
                    status: "online",
                    platform: "desktop",
                    custom: None,
                    game: None,
                    track: None,
                    streaming: false,
                };
                match start {
                    // Tracks started a while ago, so that they run out at different times.
                    Start::Listening => {
                        let track = (i * 3) % TRACKS.len();
                        m.track = Some((track, now_ms - rng.random_range(0..TRACKS[track].3 * 900)));
                        m.custom = (i % 2 == 0).then_some(i % CUSTOM.len());
                    }
                    Start::Playing => m.game = Some((i % GAMES.len(), now_ms - rng.random_range(60_000..5_400_000))),
                    Start::Custom => m.custom = Some(i % CUSTOM.len()),
                    Start::Streaming => m.streaming = true,
                    Start::Idle => m.status = "idle",
                    Start::Dnd => {
                        m.status = "dnd";
                        m.custom = Some(CUSTOM.len() - 1);
                    }
                    Start::Mobile => m.platform = "mobile",
                    Start::Offline => m.status = "offline",
                }
                if i == 0 {
                    m.custom = Some(0);
                }
                m
            })
            .collect();
        Guild { members, rng }
    }

    /// Every member's id.
    #[cfg(test)]
    pub fn member_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.members.iter().map(|m| m.id)
    }

    /// The GUILD_CREATE payload: every member and the presences of those not offline.
    pub fn guild_create(&self, now_ms: u64) -> Value {
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|m| {
                let avatar = None; // Discord's default avatars: nothing to fetch that a demo could not show
                frames::member(frames::user(m.id, m.username, Some(m.global_name), avatar), m.nick)
            })
            .collect();
        let presences: Vec<Value> =
            self.members.iter().filter(|m| m.status != "offline").map(|m| presence(m, now_ms)).collect();
        frames::guild_create(GUILD_ID, BOT_ID, false, &members, &presences)
    }

    /// The changes due at `now_ms`, as PRESENCE_UPDATE payloads: every track that
    /// ran out moves on to the next one, and one or two members change something
    /// (status, platform, game, custom status, or start or stop listening).
    pub fn step(&mut self, now_ms: u64) -> Vec<Value> {
        let mut changed = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            if let Some((track, start)) = m.track {
                let end = start + TRACKS[track].3 * 1000;
                if end <= now_ms {
                    m.track = Some(((track + 1) % TRACKS.len(), now_ms));
                    changed.push(i);
                }
            }
        }
        let count = self.rng.random_range(1..=2);
        for _ in 0..count {
            let i = self.rng.random_range(0..self.members.len());
            let roll = self.rng.random_range(0..100);
            let pick_custom = self.rng.random_range(0..CUSTOM.len());
            let pick_game = self.rng.random_range(0..GAMES.len());
            let pick_track = self.rng.random_range(0..TRACKS.len());
            let m = &mut self.members[i];
            match roll {
                // Status changes are the most common thing members do.
                0..40 => {
                    m.status = match m.status {
                        "online" if roll % 2 == 0 => "idle",
                        "online" => "dnd",
                        "offline" => "online",
                        _ if roll < 8 && i != 0 => "offline",
                        _ => "online",
                    };
                    if m.status == "offline" {
                        m.game = None;
                        m.track = None;
                        m.streaming = false;
                    }
                }
                40..55 => {
                    // The demo user keeps one, so that the URLs printed at start always show it.
                    m.custom = if m.custom.is_some() && roll % 3 == 0 && i != 0 { None } else { Some(pick_custom) };
                }
                55..70 => {
                    m.game = if m.game.is_some() { None } else { Some((pick_game, now_ms)) };
                }
                70..85 => {
                    m.track = if m.track.is_some() && roll % 2 == 0 { None } else { Some((pick_track, now_ms)) };
                }
                _ => {
                    m.platform = match m.platform {
                        "desktop" => "mobile",
                        "mobile" => "web",
                        _ => "desktop",
                    };
                }
            }
            if m.status == "offline" && roll >= 40 {
                m.status = "online"; // doing something brings a member back online
            }
            changed.push(i);
        }
        changed.sort_unstable();
        changed.dedup();
        changed.into_iter().map(|i| frames::presence_update(GUILD_ID, presence(&self.members[i], now_ms))).collect()
    }
}

/// A member's presence now.
fn presence(m: &DemoMember, now_ms: u64) -> Value {
    if m.status == "offline" {
        return frames::presence(m.id, "offline", json!({}), vec![]);
    }
    let mut activities = Vec::new();
    if let Some(i) = m.custom {
        let (text, emoji) = CUSTOM[i];
        activities.push(frames::custom_status(text, Some(json!({"name": emoji})), now_ms));
    }
    if m.streaming {
        activities.push(
            json!({"name": "Twitch", "type": 1, "id": "streaming", "url": "https://www.twitch.tv/harmy_demo",
                               "details": "Speedrunning Celeste", "state": "Celeste",
                               "assets": {"large_image": "twitch:harmy_demo"}, "created_at": now_ms}),
        );
    }
    if let Some((i, start)) = m.game {
        let (name, app, details, state) = GAMES[i];
        activities.push(frames::playing(name, app, details, state, start));
    }
    if let Some((i, start)) = m.track {
        let (song, artist, album, seconds, track_id, image) = TRACKS[i];
        let track = Track { song, artist, album, track_id, image, start, end: start + seconds * 1000 };
        activities.push(frames::spotify(m.id, &track));
    }
    frames::presence(m.id, m.status, json!({ m.platform: m.status }), activities)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_750_000_000_000;

    #[test]
    fn the_guild_has_twenty_members_of_every_kind() {
        let guild = Guild::new(1, NOW);
        let create = guild.guild_create(NOW);
        assert_eq!(create["members"].as_array().unwrap().len(), 20);
        let presences = create["presences"].as_array().unwrap();
        let with_type = |t: u64| {
            presences.iter().filter(|p| p["activities"].as_array().unwrap().iter().any(|a| a["type"] == t)).count()
        };
        assert!(with_type(2) >= 5, "Spotify listeners");
        assert!(with_type(0) >= 5, "players");
        assert!(with_type(4) >= 5, "custom statuses");
        assert_eq!(with_type(1), 1, "a stream");
        let statuses: Vec<&str> = presences.iter().map(|p| p["status"].as_str().unwrap()).collect();
        for status in ["online", "idle", "dnd"] {
            assert!(statuses.contains(&status), "{status}");
        }
        assert_eq!(presences.len(), 18, "two members start offline");
        assert!(presences.iter().any(|p| p["client_status"]["mobile"].is_string()));
    }

    #[test]
    fn every_step_changes_someone_and_tracks_move_on_when_they_end() {
        let mut guild = Guild::new(7, NOW);
        let mut seen = std::collections::HashSet::new();
        let mut now = NOW;
        for _ in 0..600 {
            now += 1000;
            let updates = guild.step(now);
            assert!(!updates.is_empty(), "something changes every step");
            for update in updates {
                assert_eq!(update["guild_id"], GUILD_ID.to_string());
                seen.insert(update["user"]["id"].as_str().unwrap().to_string());
            }
        }
        assert!(seen.len() >= 15, "changes spread over the guild: {}", seen.len());
        // Ten minutes later, no track has run past its end.
        for m in &guild.members {
            if let Some((track, start)) = m.track {
                assert!(start + TRACKS[track].3 * 1000 > now, "{} is past the end of a track", m.username);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_changes() {
        let (mut a, mut b) = (Guild::new(3, NOW), Guild::new(3, NOW));
        for step in 1..50 {
            assert_eq!(a.step(NOW + step * 1000), b.step(NOW + step * 1000));
        }
    }

    #[test]
    fn the_demo_user_is_a_member_and_stays_online_with_a_custom_status() {
        let mut guild = Guild::new(11, NOW);
        assert_eq!(guild.member_ids().next(), Some(DEMO_USER));
        for step in 1..2000 {
            guild.step(NOW + step * 1000);
            assert_ne!(guild.members[0].status, "offline", "the demo user is always there to look at");
            assert!(guild.members[0].custom.is_some(), "with a custom status");
        }
    }
}
