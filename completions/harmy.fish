# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_harmy_global_optspecs
    string join \n config= database= admin-socket= set= h/help V/version
end

function __fish_harmy_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_harmy_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_harmy_using_subcommand
    set -l cmd (__fish_harmy_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c harmy -n "__fish_harmy_needs_command" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_needs_command" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_needs_command" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_needs_command" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_needs_command" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "serve" -d 'Run the Discord gateway, the bot commands, the HTTP/WebSocket API and the admin socket'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "bot" -d 'Check, invite and configure the Discord bot'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "token" -d 'Issue and revoke users\' API tokens'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "kv" -d 'Read and write users\' key/value pairs'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "github" -d 'Link, unlink and refresh users\' GitHub profiles'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "user" -d 'Serve or hide a user, forget them, or export what is stored about them'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "migrate" -d 'Create or upgrade the database schema, or bring in a Lanyard instance\'s data'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "config" -d 'Check the configuration without starting anything'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "health" -d 'Ask a running server\'s /health: exit 0 when it answers 200, 1 otherwise'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "init" -d 'Write a first config: ask for the bot token and guild, check the bot, create the database'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "generate-docs" -d 'Write the man pages and shell completions (for packagers and the repo\'s own docs)'
complete -c harmy -n "__fish_harmy_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l listen -d 'Address of the HTTP API (overrides http.listen; with --demo, default 127.0.0.1:4001)' -r
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l replica -d 'Serve as a read replica of the primary that publishes to this NATS server (`nats://host:4222`): sets cluster.nats_url and cluster.role = "replica"' -r
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l demo -d 'Serve a simulated guild of 20 members instead of Discord\'s: no config file, no token, no network'
complete -c harmy -n "__fish_harmy_using_subcommand serve" -l migrate -d 'Create or upgrade the database first, as `harmy migrate` does: for a container, which has no ExecStartPre to run it. Without it, serve refuses a missing or older database'
complete -c harmy -n "__fish_harmy_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand serve" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -f -a "check" -d 'Check the bot setup against Discord: token, privileged intents, guild membership'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -f -a "invite" -d 'Print the OAuth2 URL that adds the bot to a server'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -f -a "commands" -d 'Register the slash commands, globally or per guild'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and not __fish_seen_subcommand_from check invite commands help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from check" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from check" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from check" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from check" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from invite" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from invite" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from invite" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from invite" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from invite" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from invite" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from commands" -l guild -d 'Register in one guild only (takes effect at once, unlike global commands); without an ID, in every guild of discord.guild_ids' -r
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from commands" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from commands" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from commands" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from commands" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from commands" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from commands" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check the bot setup against Discord: token, privileged intents, guild membership'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from help" -f -a "invite" -d 'Print the OAuth2 URL that adds the bot to a server'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from help" -f -a "commands" -d 'Register the slash commands, globally or per guild'
complete -c harmy -n "__fish_harmy_using_subcommand bot; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -f -a "rotate" -d 'Issue a new API token for a user and print it once; the old one stops working at once'
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -f -a "revoke" -d 'Remove a user\'s API token'
complete -c harmy -n "__fish_harmy_using_subcommand token; and not __fish_seen_subcommand_from rotate revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from rotate" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from rotate" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from rotate" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from rotate" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from revoke" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from revoke" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from revoke" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from revoke" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Issue a new API token for a user and print it once; the old one stops working at once'
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Remove a user\'s API token'
complete -c harmy -n "__fish_harmy_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -f -a "set" -d 'Set a key (a VALUE of `-` reads the value from standard input)'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -f -a "get" -d 'Print one value, or all pairs as a JSON object'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -f -a "del" -d 'Delete a key'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -f -a "list" -d 'List a user\'s keys, one per line'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and not __fish_seen_subcommand_from set get del list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from set" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from set" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from set" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from set" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from get" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from get" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from get" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from get" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from get" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from del" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from del" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from del" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from del" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from list" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from list" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from list" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from list" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set a key (a VALUE of `-` reads the value from standard input)'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from help" -f -a "get" -d 'Print one value, or all pairs as a JSON object'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from help" -f -a "del" -d 'Delete a key'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from help" -f -a "list" -d 'List a user\'s keys, one per line'
complete -c harmy -n "__fish_harmy_using_subcommand kv; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -f -a "link" -d 'Link a user to a GitHub login and fetch the profile'
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -f -a "unlink" -d 'Remove a user\'s GitHub link'
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -f -a "refresh" -d 'Refetch one linked profile, or all of them'
complete -c harmy -n "__fish_harmy_using_subcommand github; and not __fish_seen_subcommand_from link unlink refresh help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from link" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from link" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from link" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from link" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from link" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from link" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from unlink" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from unlink" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from unlink" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from unlink" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from unlink" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from unlink" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from refresh" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from refresh" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from refresh" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from refresh" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from refresh" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from refresh" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from help" -f -a "link" -d 'Link a user to a GitHub login and fetch the profile'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from help" -f -a "unlink" -d 'Remove a user\'s GitHub link'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from help" -f -a "refresh" -d 'Refetch one linked profile, or all of them'
complete -c harmy -n "__fish_harmy_using_subcommand github; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -f -a "show" -d 'Serve a user on every route, whatever privacy.mode says'
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -f -a "hide" -d 'Answer a user as not monitored on every route (open sockets hear nothing more of them)'
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -f -a "forget" -d 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them'
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -f -a "export" -d 'Print everything stored about a user as one JSON document (never a token hash)'
complete -c harmy -n "__fish_harmy_using_subcommand user; and not __fish_seen_subcommand_from show hide forget export help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from show" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from show" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from show" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from hide" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from hide" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from hide" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from hide" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from hide" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from hide" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from forget" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from forget" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from forget" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from forget" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from forget" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from forget" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from export" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from export" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from export" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from export" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "show" -d 'Serve a user on every route, whatever privacy.mode says'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "hide" -d 'Answer a user as not monitored on every route (open sockets hear nothing more of them)'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "forget" -d 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print everything stored about a user as one JSON document (never a token hash)'
complete -c harmy -n "__fish_harmy_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -l from-lanyard -d 'Import a Lanyard instance\'s KV, API keys and last-seen times from its Redis, read-only: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss:// for TLS, or `-` to read the URL from standard input (keeps a password out of the process list). Goes through the running server when there is one. The database must exist (run `harmy migrate` first)' -r
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -l dry-run -d 'Say what would be done, change nothing'
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -l overwrite -d 'With --from-lanyard: Lanyard\'s data replaces what harmy already has (KV values, a user\'s token, last seen); without it, harmy\'s own wins'
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Load the configuration as `harmy serve` would and print what it came to'
complete -c harmy -n "__fish_harmy_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from check" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from check" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from check" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Load the configuration as `harmy serve` would and print what it came to'
complete -c harmy -n "__fish_harmy_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand health" -l url -d 'The URL to ask [default: http://<http.listen>/health, a wildcard address asked on loopback]' -r
complete -c harmy -n "__fish_harmy_using_subcommand health" -l timeout -d 'Give up after this long' -r
complete -c harmy -n "__fish_harmy_using_subcommand health" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand health" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand health" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand health" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand health" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand init" -l token-file -d 'Read the bot token from this file instead of asking for it' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand init" -l guild -d 'The id of the guild (server) to monitor, instead of asking for it' -r
complete -c harmy -n "__fish_harmy_using_subcommand init" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand init" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand init" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand init" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c harmy -n "__fish_harmy_using_subcommand init" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand generate-docs" -l out -d 'Directory to write `man/` and `completions/` into' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand generate-docs" -l config -d 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand generate-docs" -l database -d 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand generate-docs" -l admin-socket -d 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]' -r -F
complete -c harmy -n "__fish_harmy_using_subcommand generate-docs" -l set -d 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`' -r
complete -c harmy -n "__fish_harmy_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c harmy -n "__fish_harmy_using_subcommand generate-docs" -s V -l version -d 'Print version'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "serve" -d 'Run the Discord gateway, the bot commands, the HTTP/WebSocket API and the admin socket'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "bot" -d 'Check, invite and configure the Discord bot'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "token" -d 'Issue and revoke users\' API tokens'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "kv" -d 'Read and write users\' key/value pairs'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "github" -d 'Link, unlink and refresh users\' GitHub profiles'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "user" -d 'Serve or hide a user, forget them, or export what is stored about them'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "migrate" -d 'Create or upgrade the database schema, or bring in a Lanyard instance\'s data'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "config" -d 'Check the configuration without starting anything'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "health" -d 'Ask a running server\'s /health: exit 0 when it answers 200, 1 otherwise'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "init" -d 'Write a first config: ask for the bot token and guild, check the bot, create the database'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "generate-docs" -d 'Write the man pages and shell completions (for packagers and the repo\'s own docs)'
complete -c harmy -n "__fish_harmy_using_subcommand help; and not __fish_seen_subcommand_from serve bot token kv github user migrate config health init generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from bot" -f -a "check" -d 'Check the bot setup against Discord: token, privileged intents, guild membership'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from bot" -f -a "invite" -d 'Print the OAuth2 URL that adds the bot to a server'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from bot" -f -a "commands" -d 'Register the slash commands, globally or per guild'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "rotate" -d 'Issue a new API token for a user and print it once; the old one stops working at once'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "revoke" -d 'Remove a user\'s API token'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from kv" -f -a "set" -d 'Set a key (a VALUE of `-` reads the value from standard input)'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from kv" -f -a "get" -d 'Print one value, or all pairs as a JSON object'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from kv" -f -a "del" -d 'Delete a key'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from kv" -f -a "list" -d 'List a user\'s keys, one per line'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from github" -f -a "link" -d 'Link a user to a GitHub login and fetch the profile'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from github" -f -a "unlink" -d 'Remove a user\'s GitHub link'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from github" -f -a "refresh" -d 'Refetch one linked profile, or all of them'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "show" -d 'Serve a user on every route, whatever privacy.mode says'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "hide" -d 'Answer a user as not monitored on every route (open sockets hear nothing more of them)'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "forget" -d 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "export" -d 'Print everything stored about a user as one JSON document (never a token hash)'
complete -c harmy -n "__fish_harmy_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Load the configuration as `harmy serve` would and print what it came to'
