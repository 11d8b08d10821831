
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'harmy' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'harmy'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'harmy' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the Discord gateway, the bot commands, the HTTP/WebSocket API and the admin socket')
            [CompletionResult]::new('bot', 'bot', [CompletionResultType]::ParameterValue, 'Check, invite and configure the Discord bot')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Issue and revoke users'' API tokens')
            [CompletionResult]::new('kv', 'kv', [CompletionResultType]::ParameterValue, 'Read and write users'' key/value pairs')
            [CompletionResult]::new('github', 'github', [CompletionResultType]::ParameterValue, 'Link, unlink and refresh users'' GitHub profiles')
            [CompletionResult]::new('user', 'user', [CompletionResultType]::ParameterValue, 'Serve or hide a user, forget them, or export what is stored about them')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Create or upgrade the database schema, or bring in a Lanyard instance''s data')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check the configuration without starting anything')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Ask a running server''s /health: exit 0 when it answers 200, 1 otherwise')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a first config: ask for the bot token and guild, check the bot, create the database')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Write the man pages and shell completions (for packagers and the repo''s own docs)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address of the HTTP API (overrides http.listen; with --demo, default 127.0.0.1:4001)')
            [CompletionResult]::new('--replica', '--replica', [CompletionResultType]::ParameterName, 'Serve as a read replica of the primary that publishes to this NATS server (`nats://host:4222`): sets cluster.nats_url and cluster.role = "replica"')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Serve a simulated guild of 20 members instead of Discord''s: no config file, no token, no network')
            [CompletionResult]::new('--migrate', '--migrate', [CompletionResultType]::ParameterName, 'Create or upgrade the database first, as `harmy migrate` does: for a container, which has no ExecStartPre to run it. Without it, serve refuses a missing or older database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;bot' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the bot setup against Discord: token, privileged intents, guild membership')
            [CompletionResult]::new('invite', 'invite', [CompletionResultType]::ParameterValue, 'Print the OAuth2 URL that adds the bot to a server')
            [CompletionResult]::new('commands', 'commands', [CompletionResultType]::ParameterValue, 'Register the slash commands, globally or per guild')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;bot;check' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;bot;invite' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;bot;commands' {
            [CompletionResult]::new('--guild', '--guild', [CompletionResultType]::ParameterName, 'Register in one guild only (takes effect at once, unlike global commands); without an ID, in every guild of discord.guild_ids')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;bot;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the bot setup against Discord: token, privileged intents, guild membership')
            [CompletionResult]::new('invite', 'invite', [CompletionResultType]::ParameterValue, 'Print the OAuth2 URL that adds the bot to a server')
            [CompletionResult]::new('commands', 'commands', [CompletionResultType]::ParameterValue, 'Register the slash commands, globally or per guild')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;bot;help;check' {
            break
        }
        'harmy;bot;help;invite' {
            break
        }
        'harmy;bot;help;commands' {
            break
        }
        'harmy;bot;help;help' {
            break
        }
        'harmy;token' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Issue a new API token for a user and print it once; the old one stops working at once')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Remove a user''s API token')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;token;rotate' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;token;revoke' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;token;help' {
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Issue a new API token for a user and print it once; the old one stops working at once')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Remove a user''s API token')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;token;help;rotate' {
            break
        }
        'harmy;token;help;revoke' {
            break
        }
        'harmy;token;help;help' {
            break
        }
        'harmy;kv' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set a key (a VALUE of `-` reads the value from standard input)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print one value, or all pairs as a JSON object')
            [CompletionResult]::new('del', 'del', [CompletionResultType]::ParameterValue, 'Delete a key')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List a user''s keys, one per line')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;kv;set' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;kv;get' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;kv;del' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;kv;list' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;kv;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set a key (a VALUE of `-` reads the value from standard input)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print one value, or all pairs as a JSON object')
            [CompletionResult]::new('del', 'del', [CompletionResultType]::ParameterValue, 'Delete a key')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List a user''s keys, one per line')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;kv;help;set' {
            break
        }
        'harmy;kv;help;get' {
            break
        }
        'harmy;kv;help;del' {
            break
        }
        'harmy;kv;help;list' {
            break
        }
        'harmy;kv;help;help' {
            break
        }
        'harmy;github' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('link', 'link', [CompletionResultType]::ParameterValue, 'Link a user to a GitHub login and fetch the profile')
            [CompletionResult]::new('unlink', 'unlink', [CompletionResultType]::ParameterValue, 'Remove a user''s GitHub link')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Refetch one linked profile, or all of them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;github;link' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;github;unlink' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;github;refresh' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;github;help' {
            [CompletionResult]::new('link', 'link', [CompletionResultType]::ParameterValue, 'Link a user to a GitHub login and fetch the profile')
            [CompletionResult]::new('unlink', 'unlink', [CompletionResultType]::ParameterValue, 'Remove a user''s GitHub link')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Refetch one linked profile, or all of them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;github;help;link' {
            break
        }
        'harmy;github;help;unlink' {
            break
        }
        'harmy;github;help;refresh' {
            break
        }
        'harmy;github;help;help' {
            break
        }
        'harmy;user' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Serve a user on every route, whatever privacy.mode says')
            [CompletionResult]::new('hide', 'hide', [CompletionResultType]::ParameterValue, 'Answer a user as not monitored on every route (open sockets hear nothing more of them)')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print everything stored about a user as one JSON document (never a token hash)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;user;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;user;hide' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;user;forget' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;user;export' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;user;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Serve a user on every route, whatever privacy.mode says')
            [CompletionResult]::new('hide', 'hide', [CompletionResultType]::ParameterValue, 'Answer a user as not monitored on every route (open sockets hear nothing more of them)')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print everything stored about a user as one JSON document (never a token hash)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;user;help;show' {
            break
        }
        'harmy;user;help;hide' {
            break
        }
        'harmy;user;help;forget' {
            break
        }
        'harmy;user;help;export' {
            break
        }
        'harmy;user;help;help' {
            break
        }
        'harmy;migrate' {
            [CompletionResult]::new('--from-lanyard', '--from-lanyard', [CompletionResultType]::ParameterName, 'Import a Lanyard instance''s KV, API keys and last-seen times from its Redis, read-only: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss:// for TLS, or `-` to read the URL from standard input (keeps a password out of the process list). Goes through the running server when there is one. The database must exist (run `harmy migrate` first)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would be done, change nothing')
            [CompletionResult]::new('--overwrite', '--overwrite', [CompletionResultType]::ParameterName, 'With --from-lanyard: Lanyard''s data replaces what harmy already has (KV values, a user''s token, last seen); without it, harmy''s own wins')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Load the configuration as `harmy serve` would and print what it came to')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;config;check' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;config;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Load the configuration as `harmy serve` would and print what it came to')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;config;help;check' {
            break
        }
        'harmy;config;help;help' {
            break
        }
        'harmy;health' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The URL to ask [default: http://<http.listen>/health, a wildcard address asked on loopback]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;init' {
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bot token from this file instead of asking for it')
            [CompletionResult]::new('--guild', '--guild', [CompletionResultType]::ParameterName, 'The id of the guild (server) to monitor, instead of asking for it')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;generate-docs' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory to write `man/` and `completions/` into')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml]')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)]')
            [CompletionResult]::new('--admin-socket', '--admin-socket', [CompletionResultType]::ParameterName, 'The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'harmy;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the Discord gateway, the bot commands, the HTTP/WebSocket API and the admin socket')
            [CompletionResult]::new('bot', 'bot', [CompletionResultType]::ParameterValue, 'Check, invite and configure the Discord bot')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Issue and revoke users'' API tokens')
            [CompletionResult]::new('kv', 'kv', [CompletionResultType]::ParameterValue, 'Read and write users'' key/value pairs')
            [CompletionResult]::new('github', 'github', [CompletionResultType]::ParameterValue, 'Link, unlink and refresh users'' GitHub profiles')
            [CompletionResult]::new('user', 'user', [CompletionResultType]::ParameterValue, 'Serve or hide a user, forget them, or export what is stored about them')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Create or upgrade the database schema, or bring in a Lanyard instance''s data')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check the configuration without starting anything')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Ask a running server''s /health: exit 0 when it answers 200, 1 otherwise')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a first config: ask for the bot token and guild, check the bot, create the database')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Write the man pages and shell completions (for packagers and the repo''s own docs)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'harmy;help;serve' {
            break
        }
        'harmy;help;bot' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the bot setup against Discord: token, privileged intents, guild membership')
            [CompletionResult]::new('invite', 'invite', [CompletionResultType]::ParameterValue, 'Print the OAuth2 URL that adds the bot to a server')
            [CompletionResult]::new('commands', 'commands', [CompletionResultType]::ParameterValue, 'Register the slash commands, globally or per guild')
            break
        }
        'harmy;help;bot;check' {
            break
        }
        'harmy;help;bot;invite' {
            break
        }
        'harmy;help;bot;commands' {
            break
        }
        'harmy;help;token' {
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Issue a new API token for a user and print it once; the old one stops working at once')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Remove a user''s API token')
            break
        }
        'harmy;help;token;rotate' {
            break
        }
        'harmy;help;token;revoke' {
            break
        }
        'harmy;help;kv' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set a key (a VALUE of `-` reads the value from standard input)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print one value, or all pairs as a JSON object')
            [CompletionResult]::new('del', 'del', [CompletionResultType]::ParameterValue, 'Delete a key')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List a user''s keys, one per line')
            break
        }
        'harmy;help;kv;set' {
            break
        }
        'harmy;help;kv;get' {
            break
        }
        'harmy;help;kv;del' {
            break
        }
        'harmy;help;kv;list' {
            break
        }
        'harmy;help;github' {
            [CompletionResult]::new('link', 'link', [CompletionResultType]::ParameterValue, 'Link a user to a GitHub login and fetch the profile')
            [CompletionResult]::new('unlink', 'unlink', [CompletionResultType]::ParameterValue, 'Remove a user''s GitHub link')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Refetch one linked profile, or all of them')
            break
        }
        'harmy;help;github;link' {
            break
        }
        'harmy;help;github;unlink' {
            break
        }
        'harmy;help;github;refresh' {
            break
        }
        'harmy;help;user' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Serve a user on every route, whatever privacy.mode says')
            [CompletionResult]::new('hide', 'hide', [CompletionResultType]::ParameterValue, 'Answer a user as not monitored on every route (open sockets hear nothing more of them)')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print everything stored about a user as one JSON document (never a token hash)')
            break
        }
        'harmy;help;user;show' {
            break
        }
        'harmy;help;user;hide' {
            break
        }
        'harmy;help;user;forget' {
            break
        }
        'harmy;help;user;export' {
            break
        }
        'harmy;help;migrate' {
            break
        }
        'harmy;help;config' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Load the configuration as `harmy serve` would and print what it came to')
            break
        }
        'harmy;help;config;check' {
            break
        }
        'harmy;help;health' {
            break
        }
        'harmy;help;init' {
            break
        }
        'harmy;help;generate-docs' {
            break
        }
        'harmy;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
