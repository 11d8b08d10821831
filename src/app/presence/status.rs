//! A user's status and the clients they are active on, packed small: one byte
//! and two bytes per monitored user instead of strings.

/// The status the API shows: invisible shows as offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Status {
    /// Offline or invisible.
    #[default]
    Offline = 0,
    /// Online.
    Online = 1,
    /// Idle.
    Idle = 2,
    /// Do not disturb.
    Dnd = 3,
}

impl Status {
    /// The status of a gateway string; `invisible` and unknown values are offline.
    pub fn from_gateway(s: &str) -> Status {
        match s {
            "online" => Status::Online,
            "idle" => Status::Idle,
            "dnd" => Status::Dnd,
            _ => Status::Offline,
        }
    }

    /// The API's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Offline => "offline",
            Status::Online => "online",
            Status::Idle => "idle",
            Status::Dnd => "dnd",
        }
    }

    fn from_bits(bits: u16) -> Status {
        match bits {
            1 => Status::Online,
            2 => Status::Idle,
            3 => Status::Dnd,
            _ => Status::Offline,
        }
    }
}

/// The client platforms Discord reports, in the order of `client_status`.
pub const PLATFORMS: [&str; 5] = ["desktop", "mobile", "web", "embedded", "vr"];

/// Per platform: absent, or the status on it (3 bits each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStatus(u16);

impl ClientStatus {
    /// Sets the status on `platform` (one of [`PLATFORMS`]); unknown platforms are ignored.
    pub fn set(&mut self, platform: &str, status: &str) {
        if let Some(i) = PLATFORMS.iter().position(|p| *p == platform) {
            // 4 marks "present" so that an offline platform still shows as active.
            let bits = 4 | Status::from_gateway(status) as u16;
            self.0 = (self.0 & !(7 << (3 * i))) | (bits << (3 * i));
        }
    }

    /// The status on `platform`, when the user is active there.
    pub fn get(self, platform: usize) -> Option<Status> {
        let bits = (self.0 >> (3 * platform)) & 7;
        (bits & 4 != 0).then(|| Status::from_bits(bits & 3))
    }

    /// Every platform the user is active on, with its status.
    pub fn iter(self) -> impl Iterator<Item = (&'static str, Status)> {
        (0..PLATFORMS.len()).filter_map(move |i| self.get(i).map(|s| (PLATFORMS[i], s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_is_offline() {
        assert_eq!(Status::from_gateway("invisible"), Status::Offline);
        assert_eq!(Status::from_gateway("offline"), Status::Offline);
        assert_eq!(Status::from_gateway("dnd").as_str(), "dnd");
    }

    #[test]
    fn client_status_keeps_each_platform() {
        let mut c = ClientStatus::default();
        c.set("mobile", "idle");
        c.set("vr", "online");
        c.set("toaster", "dnd");
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![("mobile", Status::Idle), ("vr", Status::Online)]);
        c.set("mobile", "dnd");
        assert_eq!(c.get(1), Some(Status::Dnd));
        assert_eq!(c.get(0), None);
    }
}
