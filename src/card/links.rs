//! Where the card's images live: Discord's CDN (avatars, default avatars,
//! custom emoji, application assets, avatar decorations), Discord's media proxy
//! (`mp:` assets) and Spotify's image host; and the avatar links of `/:id.png`.
//!
//! Every piece of a URL taken from a presence is checked to be made of plain
//! path segments first, so a crafted asset name cannot point harmy anywhere
//! else: not to another host, and not outside the configured host's path
//! prefix, even behind a proxy that percent-decodes paths before resolving
//! them (the caching proxy docs/API.md suggests for `card.cdn_url`).

use crate::config::{CardConfig, DISCORD_CDN};

/// Discord's media proxy, for `mp:` assets while the CDN is Discord's own.
const DISCORD_MEDIA: &str = "https://media.discordapp.net";
/// The avatar size the card asks for (it shows 54 px, so 128 is sharp at 2×).
const AVATAR_SIZE: u32 = 128;
/// Longest `mp:` path followed.
const MAX_MEDIA_PATH: usize = 512;
/// Spotify's 640 px album art id prefix, and the 300 px one the card asks for instead
/// (same image, a quarter of the bytes; the card shows 80 px).
const SPOTIFY_640: &str = "ab67616d0000b273";
const SPOTIFY_300: &str = "ab67616d00001e02";

/// The image hosts of a harmy instance.
#[derive(Debug, Clone)]
pub struct Links {
    cdn: String,
    media: String,
    spotify: String,
}

/// The file types `/:id.png` and its siblings take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarFormat {
    /// `.png`
    Png,
    /// `.gif` (animated avatars only; a still one is sent to its `.png`)
    Gif,
    /// `.webp`
    Webp,
    /// `.jpg`
    Jpg,
}

impl AvatarFormat {
    /// The format of a file extension.
    pub fn from_extension(ext: &str) -> Option<AvatarFormat> {
        match ext {
            "png" => Some(AvatarFormat::Png),
            "gif" => Some(AvatarFormat::Gif),
            "webp" => Some(AvatarFormat::Webp),
            "jpg" => Some(AvatarFormat::Jpg),
            _ => None,
        }
    }

    pub(crate) fn extension(self) -> &'static str {
        match self {
            AvatarFormat::Png => "png",
            AvatarFormat::Gif => "gif",
            AvatarFormat::Webp => "webp",
            AvatarFormat::Jpg => "jpg",
        }
    }
}

impl Links {
    /// The hosts of `[card]`.
    pub fn new(config: &CardConfig) -> Links {
        let cdn = config.cdn_url.trim_end_matches('/').to_string();
        let media = if cdn == DISCORD_CDN { DISCORD_MEDIA.to_string() } else { cdn.clone() };
        Links { cdn, media, spotify: config.spotify_image_url.trim_end_matches('/').to_string() }
    }

    /// The avatar the card shows: the user's (a GIF when `animated` and the avatar is
    /// animated), or their default avatar.
    pub fn card_avatar(&self, user: u64, avatar: Option<&str>, discriminator: Option<&str>, animated: bool) -> String {
        match avatar.filter(|hash| segment(hash)) {
            Some(hash) => {
                let ext = if animated && hash.starts_with("a_") { "gif" } else { "png" };
                format!("{}/avatars/{user}/{hash}.{ext}?size={AVATAR_SIZE}", self.cdn)
            }
            None => self.default_avatar(user, discriminator),
        }
    }

    /// Where `/:id.<format>` sends a browser: the avatar in that format (a still avatar's
    /// `.gif` is its `.png`), or the default avatar (always PNG); `size` when valid.
    pub fn avatar_redirect(
        &self,
        user: u64,
        avatar: Option<&str>,
        discriminator: Option<&str>,
        format: AvatarFormat,
        size: Option<u32>,
    ) -> String {
        let mut url = match avatar.filter(|hash| segment(hash)) {
            Some(hash) => {
                let format =
                    if format == AvatarFormat::Gif && !hash.starts_with("a_") { AvatarFormat::Png } else { format };
                format!("{}/avatars/{user}/{hash}.{}", self.cdn, format.extension())
            }
            None => self.default_avatar(user, discriminator),
        };
        if let Some(size) = size {
            url.push_str(&format!("?size={size}"));
        }
        url
    }

    /// Discord's default avatar: by id for new usernames, by discriminator for legacy tags.
    fn default_avatar(&self, user: u64, discriminator: Option<&str>) -> String {
        let legacy = discriminator.and_then(|d| d.parse::<u64>().ok()).filter(|d| *d != 0);
        let index = match legacy {
            Some(d) => d % 5,
            None => (user >> 22) % 6,
        };
        format!("{}/embed/avatars/{index}.png", self.cdn)
    }

    /// A custom emoji.
    pub fn emoji(&self, id: &str, animated: bool) -> Option<String> {
        let ext = if animated { "gif" } else { "png" };
        let plain = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
        plain.then(|| format!("{}/emojis/{id}.{ext}?size=48", self.cdn))
    }

    /// An avatar decoration preset.
    pub fn decoration(&self, asset: &str) -> Option<String> {
        segment(asset).then(|| format!("{}/avatar-decoration-presets/{asset}.png?size=96&passthrough=false", self.cdn))
    }

    /// An activity image: `mp:…` through the media proxy, `spotify:…` from Spotify, an
    /// asset id from the application's assets; `None` for other hosts (Twitch, YouTube…).
    pub fn activity_image(&self, application: Option<&str>, image: &str) -> Option<String> {
        if let Some(path) = image.strip_prefix("mp:") {
            let plain = path.len() <= MAX_MEDIA_PATH && path.split('/').all(media_segment);
            return plain.then(|| format!("{}/{path}", self.media));
        }
        if let Some(id) = image.strip_prefix("spotify:") {
            return self.spotify_art(id);
        }
        let application = application.filter(|a| a.bytes().all(|b| b.is_ascii_digit()) && !a.is_empty())?;
        segment(image).then(|| format!("{}/app-assets/{application}/{image}.png?size=160", self.cdn))
    }

    /// Album art by Spotify image id.
    pub fn spotify_art(&self, id: &str) -> Option<String> {
        if !segment(id) {
            return None;
        }
        let id = match id.strip_prefix(SPOTIFY_640) {
            Some(rest) => format!("{SPOTIFY_300}{rest}"),
            None => id.to_string(),
        };
        Some(format!("{}/{id}", self.spotify))
    }
}

/// A plain path segment: letters, digits, `_` and `-`, at most 128 of them.
fn segment(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One segment of a media-proxy path (`mp:external/<hash>/https/host/a.png`): not
/// empty, not only dots (`.` and `..` move up a level, and some servers read
/// `...` as they do), and only RFC 3986's unreserved characters and a few
/// sub-delimiters. No `%` at all, so no decoding can turn it into anything else;
/// no `?` or `#`, which would end the path; no `\`, which some servers take for
/// `/`; no `;`, which some take for the start of path parameters (`..;`).
fn media_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.bytes().all(|b| b == b'.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(&CardConfig::default())
    }

    #[test]
    fn avatars_and_default_avatars() {
        let l = links();
        assert_eq!(
            l.card_avatar(1, Some("a_abc"), None, true),
            "https://cdn.discordapp.com/avatars/1/a_abc.gif?size=128"
        );
        assert_eq!(
            l.card_avatar(1, Some("a_abc"), None, false),
            "https://cdn.discordapp.com/avatars/1/a_abc.png?size=128"
        );
        assert_eq!(l.card_avatar(1, Some("abc"), None, true), "https://cdn.discordapp.com/avatars/1/abc.png?size=128");
        let id = 470320681905684500u64;
        assert_eq!(
            l.card_avatar(id, None, Some("0"), false),
            format!("https://cdn.discordapp.com/embed/avatars/{}.png", (id >> 22) % 6)
        );
        assert_eq!(l.card_avatar(id, None, Some("1337"), false), "https://cdn.discordapp.com/embed/avatars/2.png");
        assert!(
            l.card_avatar(1, Some("../x"), None, false).contains("/embed/avatars/"),
            "a crafted hash is not followed"
        );
    }

    #[test]
    fn avatar_redirects_keep_the_format_but_a_still_gif_is_a_png() {
        let l = links();
        let r = |hash, format, size| l.avatar_redirect(7, hash, None, format, size);
        assert_eq!(
            r(Some("abc"), AvatarFormat::Webp, Some(64)),
            "https://cdn.discordapp.com/avatars/7/abc.webp?size=64"
        );
        assert_eq!(r(Some("abc"), AvatarFormat::Gif, None), "https://cdn.discordapp.com/avatars/7/abc.png");
        assert_eq!(r(Some("a_abc"), AvatarFormat::Gif, None), "https://cdn.discordapp.com/avatars/7/a_abc.gif");
        assert_eq!(r(None, AvatarFormat::Jpg, Some(16)), "https://cdn.discordapp.com/embed/avatars/0.png?size=16");
    }

    #[test]
    fn activity_images_by_kind() {
        let l = links();
        assert_eq!(
            l.activity_image(Some("383226320970055681"), "565945350013452298").as_deref(),
            Some("https://cdn.discordapp.com/app-assets/383226320970055681/565945350013452298.png?size=160")
        );
        assert_eq!(
            l.activity_image(None, "mp:external/abc/https/example.com/a.png").as_deref(),
            Some("https://media.discordapp.net/external/abc/https/example.com/a.png")
        );
        assert_eq!(
            l.activity_image(None, &format!("spotify:{SPOTIFY_640}fa2f")).as_deref(),
            Some(format!("https://i.scdn.co/image/{SPOTIFY_300}fa2f").as_str())
        );
        assert_eq!(l.activity_image(None, "twitch:someone"), None);
        assert_eq!(l.activity_image(None, "mp:external/../../x"), None);
        assert_eq!(l.activity_image(None, "mp:a b"), None);
        assert_eq!(l.activity_image(Some("x/y"), "123"), None);
        let local = Links::new(&CardConfig { cdn_url: "http://127.0.0.1:9/".into(), ..CardConfig::default() });
        assert_eq!(local.activity_image(None, "mp:external/a").as_deref(), Some("http://127.0.0.1:9/external/a"));
    }

    #[test]
    fn a_media_path_is_refused_unless_every_segment_is_plain() {
        let l = Links::new(&CardConfig { cdn_url: "http://cdn.test/prefix".into(), ..CardConfig::default() });
        for crafted in [
            "mp:%2e%2e/%2e%2e/X",
            "mp:.%2e/X",
            "mp:%2E%2E/X",
            "mp:external/%2fetc",
            "mp:external/..%2f..%2fX",
            "mp:x?redir=1",
            "mp:x#fragment",
            "mp:external\\..\\X",
            "mp:external/./x",
            "mp:external/../x",
            "mp:../x",
            "mp:external/.../x",
            "mp:external/..;/x",
            "mp:/external/x",
            "mp:external//x",
            "mp:external/x/",
            "mp:",
            "mp:external/\u{e9}",
            "mp:http://evil.test/x",
        ] {
            assert_eq!(l.activity_image(None, crafted), None, "{crafted}");
        }
        assert_eq!(
            l.activity_image(None, "mp:external/aB-_~9/https/i.example.com/a.b.png").as_deref(),
            Some("http://cdn.test/prefix/external/aB-_~9/https/i.example.com/a.b.png"),
            "dots inside a segment are plain"
        );
        assert_eq!(l.activity_image(None, &format!("mp:{}", "a".repeat(MAX_MEDIA_PATH + 1))), None);
        // The other names from a presence are single segments of letters, digits, `_` and `-`.
        for crafted in ["..", ".", "a.b", "%2e%2e", "a?b", "a/b", "a\\b", ""] {
            assert_eq!(l.activity_image(Some("1"), crafted), None, "{crafted}");
            assert_eq!(l.decoration(crafted), None, "{crafted}");
            assert_eq!(l.spotify_art(crafted), None, "{crafted}");
            assert!(l.card_avatar(1, Some(crafted), None, false).contains("/embed/avatars/"), "{crafted}");
            assert_eq!(l.emoji(crafted, false), None, "{crafted}");
        }
    }
}
