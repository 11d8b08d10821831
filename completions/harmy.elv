
use builtin;
use str;

set edit:completion:arg-completer[harmy] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'harmy'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'harmy'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the Discord gateway, the bot commands, the HTTP/WebSocket API and the admin socket'
            cand bot 'Check, invite and configure the Discord bot'
            cand token 'Issue and revoke users'' API tokens'
            cand kv 'Read and write users'' key/value pairs'
            cand github 'Link, unlink and refresh users'' GitHub profiles'
            cand user 'Serve or hide a user, forget them, or export what is stored about them'
            cand migrate 'Create or upgrade the database schema, or bring in a Lanyard instance''s data'
            cand config 'Check the configuration without starting anything'
            cand health 'Ask a running server''s /health: exit 0 when it answers 200, 1 otherwise'
            cand init 'Write a first config: ask for the bot token and guild, check the bot, create the database'
            cand generate-docs 'Write the man pages and shell completions (for packagers and the repo''s own docs)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;serve'= {
            cand --listen 'Address of the HTTP API (overrides http.listen; with --demo, default 127.0.0.1:4001)'
            cand --replica 'Serve as a read replica of the primary that publishes to this NATS server (`nats://host:4222`): sets cluster.nats_url and cluster.role = "replica"'
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand --demo 'Serve a simulated guild of 20 members instead of Discord''s: no config file, no token, no network'
            cand --migrate 'Create or upgrade the database first, as `harmy migrate` does: for a container, which has no ExecStartPre to run it. Without it, serve refuses a missing or older database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;bot'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Check the bot setup against Discord: token, privileged intents, guild membership'
            cand invite 'Print the OAuth2 URL that adds the bot to a server'
            cand commands 'Register the slash commands, globally or per guild'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;bot;check'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;bot;invite'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;bot;commands'= {
            cand --guild 'Register in one guild only (takes effect at once, unlike global commands); without an ID, in every guild of discord.guild_ids'
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;bot;help'= {
            cand check 'Check the bot setup against Discord: token, privileged intents, guild membership'
            cand invite 'Print the OAuth2 URL that adds the bot to a server'
            cand commands 'Register the slash commands, globally or per guild'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;bot;help;check'= {
        }
        &'harmy;bot;help;invite'= {
        }
        &'harmy;bot;help;commands'= {
        }
        &'harmy;bot;help;help'= {
        }
        &'harmy;token'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand rotate 'Issue a new API token for a user and print it once; the old one stops working at once'
            cand revoke 'Remove a user''s API token'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;token;rotate'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;token;revoke'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;token;help'= {
            cand rotate 'Issue a new API token for a user and print it once; the old one stops working at once'
            cand revoke 'Remove a user''s API token'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;token;help;rotate'= {
        }
        &'harmy;token;help;revoke'= {
        }
        &'harmy;token;help;help'= {
        }
        &'harmy;kv'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Set a key (a VALUE of `-` reads the value from standard input)'
            cand get 'Print one value, or all pairs as a JSON object'
            cand del 'Delete a key'
            cand list 'List a user''s keys, one per line'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;kv;set'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;kv;get'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;kv;del'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;kv;list'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;kv;help'= {
            cand set 'Set a key (a VALUE of `-` reads the value from standard input)'
            cand get 'Print one value, or all pairs as a JSON object'
            cand del 'Delete a key'
            cand list 'List a user''s keys, one per line'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;kv;help;set'= {
        }
        &'harmy;kv;help;get'= {
        }
        &'harmy;kv;help;del'= {
        }
        &'harmy;kv;help;list'= {
        }
        &'harmy;kv;help;help'= {
        }
        &'harmy;github'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand link 'Link a user to a GitHub login and fetch the profile'
            cand unlink 'Remove a user''s GitHub link'
            cand refresh 'Refetch one linked profile, or all of them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;github;link'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;github;unlink'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;github;refresh'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;github;help'= {
            cand link 'Link a user to a GitHub login and fetch the profile'
            cand unlink 'Remove a user''s GitHub link'
            cand refresh 'Refetch one linked profile, or all of them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;github;help;link'= {
        }
        &'harmy;github;help;unlink'= {
        }
        &'harmy;github;help;refresh'= {
        }
        &'harmy;github;help;help'= {
        }
        &'harmy;user'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Serve a user on every route, whatever privacy.mode says'
            cand hide 'Answer a user as not monitored on every route (open sockets hear nothing more of them)'
            cand forget 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them'
            cand export 'Print everything stored about a user as one JSON document (never a token hash)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;user;show'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;user;hide'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;user;forget'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;user;export'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;user;help'= {
            cand show 'Serve a user on every route, whatever privacy.mode says'
            cand hide 'Answer a user as not monitored on every route (open sockets hear nothing more of them)'
            cand forget 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them'
            cand export 'Print everything stored about a user as one JSON document (never a token hash)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;user;help;show'= {
        }
        &'harmy;user;help;hide'= {
        }
        &'harmy;user;help;forget'= {
        }
        &'harmy;user;help;export'= {
        }
        &'harmy;user;help;help'= {
        }
        &'harmy;migrate'= {
            cand --from-lanyard 'Import a Lanyard instance''s KV, API keys and last-seen times from its Redis, read-only: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss:// for TLS, or `-` to read the URL from standard input (keeps a password out of the process list). Goes through the running server when there is one. The database must exist (run `harmy migrate` first)'
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand --dry-run 'Say what would be done, change nothing'
            cand --overwrite 'With --from-lanyard: Lanyard''s data replaces what harmy already has (KV values, a user''s token, last seen); without it, harmy''s own wins'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;config'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Load the configuration as `harmy serve` would and print what it came to'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;config;check'= {
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;config;help'= {
            cand check 'Load the configuration as `harmy serve` would and print what it came to'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;config;help;check'= {
        }
        &'harmy;config;help;help'= {
        }
        &'harmy;health'= {
            cand --url 'The URL to ask [default: http://<http.listen>/health, a wildcard address asked on loopback]'
            cand --timeout 'Give up after this long'
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;init'= {
            cand --token-file 'Read the bot token from this file instead of asking for it'
            cand --guild 'The id of the guild (server) to monitor, instead of asking for it'
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;generate-docs'= {
            cand --out 'Directory to write `man/` and `completions/` into'
            cand --config 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]'
            cand --database 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]'
            cand --admin-socket 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]'
            cand --set 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'harmy;help'= {
            cand serve 'Run the Discord gateway, the bot commands, the HTTP/WebSocket API and the admin socket'
            cand bot 'Check, invite and configure the Discord bot'
            cand token 'Issue and revoke users'' API tokens'
            cand kv 'Read and write users'' key/value pairs'
            cand github 'Link, unlink and refresh users'' GitHub profiles'
            cand user 'Serve or hide a user, forget them, or export what is stored about them'
            cand migrate 'Create or upgrade the database schema, or bring in a Lanyard instance''s data'
            cand config 'Check the configuration without starting anything'
            cand health 'Ask a running server''s /health: exit 0 when it answers 200, 1 otherwise'
            cand init 'Write a first config: ask for the bot token and guild, check the bot, create the database'
            cand generate-docs 'Write the man pages and shell completions (for packagers and the repo''s own docs)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'harmy;help;serve'= {
        }
        &'harmy;help;bot'= {
            cand check 'Check the bot setup against Discord: token, privileged intents, guild membership'
            cand invite 'Print the OAuth2 URL that adds the bot to a server'
            cand commands 'Register the slash commands, globally or per guild'
        }
        &'harmy;help;bot;check'= {
        }
        &'harmy;help;bot;invite'= {
        }
        &'harmy;help;bot;commands'= {
        }
        &'harmy;help;token'= {
            cand rotate 'Issue a new API token for a user and print it once; the old one stops working at once'
            cand revoke 'Remove a user''s API token'
        }
        &'harmy;help;token;rotate'= {
        }
        &'harmy;help;token;revoke'= {
        }
        &'harmy;help;kv'= {
            cand set 'Set a key (a VALUE of `-` reads the value from standard input)'
            cand get 'Print one value, or all pairs as a JSON object'
            cand del 'Delete a key'
            cand list 'List a user''s keys, one per line'
        }
        &'harmy;help;kv;set'= {
        }
        &'harmy;help;kv;get'= {
        }
        &'harmy;help;kv;del'= {
        }
        &'harmy;help;kv;list'= {
        }
        &'harmy;help;github'= {
            cand link 'Link a user to a GitHub login and fetch the profile'
            cand unlink 'Remove a user''s GitHub link'
            cand refresh 'Refetch one linked profile, or all of them'
        }
        &'harmy;help;github;link'= {
        }
        &'harmy;help;github;unlink'= {
        }
        &'harmy;help;github;refresh'= {
        }
        &'harmy;help;user'= {
            cand show 'Serve a user on every route, whatever privacy.mode says'
            cand hide 'Answer a user as not monitored on every route (open sockets hear nothing more of them)'
            cand forget 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them'
            cand export 'Print everything stored about a user as one JSON document (never a token hash)'
        }
        &'harmy;help;user;show'= {
        }
        &'harmy;help;user;hide'= {
        }
        &'harmy;help;user;forget'= {
        }
        &'harmy;help;user;export'= {
        }
        &'harmy;help;migrate'= {
        }
        &'harmy;help;config'= {
            cand check 'Load the configuration as `harmy serve` would and print what it came to'
        }
        &'harmy;help;config;check'= {
        }
        &'harmy;help;health'= {
        }
        &'harmy;help;init'= {
        }
        &'harmy;help;generate-docs'= {
        }
        &'harmy;help;help'= {
        }
    ]
    $completions[$command]
}
