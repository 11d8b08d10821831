//! `.help`: the list of message commands, with the configured prefix.

/// The help text for a prefix.
pub fn text(prefix: &str) -> String {
    let p = prefix;
    format!(
        "**harmy commands**\n\
         `{p}set KEY VALUE` (or `{p}add`): store a key/value pair shown with your presence\n\
         `{p}get KEY`: show a value\n\
         `{p}del KEY`: delete a key\n\
         `{p}kv`: list your keys\n\
         `{p}token` (or `{p}apikey`): get a new API token by DM (the old one stops working)\n\
         `{p}github LOGIN`: link your GitHub profile; `{p}github unlink` removes it\n\
         `{p}show` / `{p}hide`: let harmy serve your presence, or answer as if it did not know you\n\
         `{p}forget`: delete everything harmy stores about you (asks to confirm first)\n\
         `{p}export`: get everything harmy stores about you as a file by DM\n\
         `{p}help`: this list\n\
         The same commands exist as slash commands (`/kv`, `/token`, `/github`, `/privacy show|hide`, \
         `/forget`, `/export`), answered privately."
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_uses_the_configured_prefix() {
        let text = super::text("!");
        assert!(text.contains("`!set KEY VALUE`") && !text.contains("`.set"));
    }
}
