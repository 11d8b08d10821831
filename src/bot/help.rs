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
         `{p}help`: this list\n\
         The same commands exist as slash commands (`/kv`, `/token`, `/github`), answered privately."
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
