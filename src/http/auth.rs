//! Who a request acts for: the `:id` of the path, `@me`, and the API token of
//! `Authorization: <token>` or `Authorization: Bearer <token>` (docs/API.md).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::error::ApiError;
use super::{Api, Who};
use crate::error::Error;
use crate::ids::{InvalidUserId, UserId};

/// The token of a request, if it sent one.
fn token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

/// The token owner, or 401.
async fn owner(api: &Api, headers: &HeaderMap) -> Result<UserId, ApiError> {
    let token = token(headers).ok_or(Error::Unauthorized)?;
    Ok(api.app.tokens.authenticate(token).await?)
}

/// The user a write (or a KV read) acts on: the path's user, who must own the token.
pub async fn authorize(api: &Api, who: &Result<Who, InvalidUserId>, headers: &HeaderMap) -> Result<UserId, ApiError> {
    let who = who.clone().map_err(Error::from)?;
    let owner = owner(api, headers).await?;
    match who {
        Who::Me => Ok(owner),
        Who::User(user) if user == owner => Ok(user),
        Who::User(_) => Err(Error::Unauthorized.into()),
    }
}

/// The user a public read is about: the path's user, or for `@me` the token owner.
pub async fn resolve(api: &Api, who: &Result<Who, InvalidUserId>, headers: &HeaderMap) -> Result<UserId, ApiError> {
    match who {
        Ok(Who::User(user)) => Ok(*user),
        Ok(Who::Me) => owner(api, headers).await,
        Err(e) => Err(Error::from(e.clone()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn raw_and_bearer_tokens_are_read() {
        assert_eq!(token(&with("harmy_a_b")), Some("harmy_a_b"));
        assert_eq!(token(&with("Bearer harmy_a_b")), Some("harmy_a_b"));
        assert_eq!(token(&with("bearer  harmy_a_b ")), Some("harmy_a_b"));
        assert_eq!(token(&with("Bearer ")), Some("Bearer"));
        assert_eq!(token(&HeaderMap::new()), None);
    }
}
