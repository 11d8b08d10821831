//! Where harmy's files go when the configuration does not say: the system
//! paths for root and for the systemd unit, the user's own directories
//! (XDG base directories) for everyone else, so that a user without root can
//! run every command without first writing paths into a config.
//!
//! | who | database | admin socket | config searched |
//! |---|---|---|---|
//! | root, or under systemd | `/var/lib/harmy/harmy.redb` | `/run/harmy/admin.sock` | `/etc/harmy/config.toml`, `./harmy.toml` |
//! | anyone else | `$XDG_STATE_HOME/harmy/harmy.redb` (else `~/.local/state/harmy/`) | `$XDG_RUNTIME_DIR/harmy/admin.sock` (else beside the database) | `$XDG_CONFIG_HOME/harmy/config.toml` (else `~/.config/harmy/`), then as root |
//!
//! "Under systemd" is told by `STATE_DIRECTORY` or `RUNTIME_DIRECTORY`, which the
//! unit's `StateDirectory=` and `RuntimeDirectory=` set: harmy.service runs as a
//! dynamic, non-root user whose directories are still `/var/lib/harmy` and
//! `/run/harmy`. `--config` and `$HARMY_CONFIG` come before any of these.

use std::path::{Path, PathBuf};

use super::{LOCAL_CONFIG, SYSTEM_CONFIG};

/// The database of root and of the systemd unit.
pub const SYSTEM_DATABASE: &str = "/var/lib/harmy/harmy.redb";
/// The admin socket of root and of the systemd unit.
pub const SYSTEM_SOCKET: &str = "/run/harmy/admin.sock";

/// The default paths for one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `storage.path`.
    pub database: PathBuf,
    /// `admin.socket`; `None`: beside the database actually used.
    pub admin_socket: Option<PathBuf>,
    /// The user's own config file, searched first (not for root or systemd).
    pub user_config: Option<PathBuf>,
}

impl Defaults {
    /// Root's and the systemd unit's.
    pub fn system() -> Defaults {
        Defaults { database: SYSTEM_DATABASE.into(), admin_socket: Some(SYSTEM_SOCKET.into()), user_config: None }
    }

    /// The defaults for a process running as `euid` with the environment `env`.
    /// Relative XDG paths are ignored, as the XDG specification says; with no
    /// usable home at all, the system paths stay.
    pub fn for_process(euid: u32, env: &[(String, String)]) -> Defaults {
        let var = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let dir = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from).filter(|p| p.is_absolute());
        let systemd = var("STATE_DIRECTORY").is_some() || var("RUNTIME_DIRECTORY").is_some();
        if euid == 0 || systemd {
            return Defaults::system();
        }
        let home = dir("HOME");
        let Some(state) = dir("XDG_STATE_HOME").or_else(|| home.as_ref().map(|h| h.join(".local/state"))) else {
            return Defaults::system();
        };
        Defaults {
            database: state.join("harmy/harmy.redb"),
            admin_socket: dir("XDG_RUNTIME_DIR").map(|run| run.join("harmy/admin.sock")),
            user_config: dir("XDG_CONFIG_HOME")
                .or_else(|| home.map(|h| h.join(".config")))
                .map(|config| config.join("harmy/config.toml")),
        }
    }

    /// This process's defaults.
    pub fn current() -> Defaults {
        Defaults::for_process(effective_uid(), &std::env::vars().collect::<Vec<_>>())
    }

    /// The config files searched, in order, after `--config` and `$HARMY_CONFIG`.
    pub fn config_search(&self) -> Vec<PathBuf> {
        self.user_config.iter().cloned().chain([PathBuf::from(SYSTEM_CONFIG), PathBuf::from(LOCAL_CONFIG)]).collect()
    }

    /// Where `harmy init` writes a config when `--config` does not say: the first
    /// of the search this user would use.
    pub fn init_config(&self) -> PathBuf {
        self.user_config.clone().unwrap_or_else(|| SYSTEM_CONFIG.into())
    }

    /// The admin socket when no setting names one: the default, or beside `database`.
    pub fn admin_socket_beside(&self, database: &Path) -> PathBuf {
        self.admin_socket.clone().unwrap_or_else(|| database.with_file_name("admin.sock"))
    }
}

/// The process's effective user id.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn root_keeps_the_system_paths_whatever_its_environment() {
        let vars = env(&[("HOME", "/root"), ("XDG_STATE_HOME", "/root/s"), ("XDG_RUNTIME_DIR", "/run/user/0")]);
        assert_eq!(Defaults::for_process(0, &vars), Defaults::system());
        assert_eq!(Defaults::system().database, Path::new("/var/lib/harmy/harmy.redb"));
        assert_eq!(Defaults::system().admin_socket.unwrap(), Path::new("/run/harmy/admin.sock"));
        assert_eq!(Defaults::system().init_config(), Path::new("/etc/harmy/config.toml"));
    }

    #[test]
    fn the_systemd_unit_keeps_the_system_paths_though_not_root() {
        // harmy.service: DynamicUser=yes (a uid such as 61 234), StateDirectory=, RuntimeDirectory=.
        for var in ["STATE_DIRECTORY", "RUNTIME_DIRECTORY"] {
            let vars = env(&[("HOME", "/"), (var, "/var/lib/harmy")]);
            assert_eq!(Defaults::for_process(61_234, &vars), Defaults::system(), "{var}");
        }
    }

    #[test]
    fn a_user_gets_the_xdg_directories() {
        let vars = env(&[
            ("HOME", "/home/ada"),
            ("XDG_STATE_HOME", "/home/ada/state"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ("XDG_CONFIG_HOME", "/home/ada/conf"),
        ]);
        let defaults = Defaults::for_process(1000, &vars);
        assert_eq!(defaults.database, Path::new("/home/ada/state/harmy/harmy.redb"));
        assert_eq!(defaults.admin_socket.as_deref(), Some(Path::new("/run/user/1000/harmy/admin.sock")));
        assert_eq!(defaults.user_config.as_deref(), Some(Path::new("/home/ada/conf/harmy/config.toml")));
        assert_eq!(
            defaults.config_search(),
            ["/home/ada/conf/harmy/config.toml", "/etc/harmy/config.toml", "harmy.toml"].map(PathBuf::from)
        );
        assert_eq!(defaults.init_config(), Path::new("/home/ada/conf/harmy/config.toml"));
    }

    #[test]
    fn without_xdg_variables_a_user_gets_the_home_fallbacks_and_the_socket_beside_the_database() {
        let defaults = Defaults::for_process(1000, &env(&[("HOME", "/home/ada")]));
        assert_eq!(defaults.database, Path::new("/home/ada/.local/state/harmy/harmy.redb"));
        assert_eq!(defaults.admin_socket, None);
        assert_eq!(
            defaults.admin_socket_beside(&defaults.database),
            Path::new("/home/ada/.local/state/harmy/admin.sock")
        );
        assert_eq!(defaults.user_config.as_deref(), Some(Path::new("/home/ada/.config/harmy/config.toml")));
    }

    #[test]
    fn relative_or_empty_xdg_paths_are_ignored() {
        let vars = env(&[("HOME", "/home/ada"), ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "")]);
        let defaults = Defaults::for_process(1000, &vars);
        assert_eq!(defaults.database, Path::new("/home/ada/.local/state/harmy/harmy.redb"));
        assert_eq!(defaults.admin_socket, None);
    }

    #[test]
    fn with_no_home_at_all_the_system_paths_stay() {
        assert_eq!(Defaults::for_process(1000, &[]), Defaults::system());
        assert_eq!(Defaults::for_process(1000, &env(&[("HOME", "relative")])), Defaults::system());
    }
}
