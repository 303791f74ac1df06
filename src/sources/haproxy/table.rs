//! One fetch of an HAProxy instance's stats table, through the Runtime API or the
//! stats page, handed to the caller chunk by chunk as it arrives (the caller reads
//! it with [`super::csv::stream::Reader`] and never holds it whole). The answer is
//! bounded and checked as a whole answer would be: the same limits, the same errors.

use std::time::Duration;

use reqwest::Url;

use super::stats::Transport;
use crate::sources::client::{Endpoint, MAX_BODY_BYTES, basic_auth, status_error, transport_error};
use crate::sources::{FetchError, FetchErrorKind};

/// What is asked of the instance.
#[derive(Clone, Copy, Debug)]
pub enum Ask<'a> {
    /// The servers and `BACKEND` row of one backend.
    Backend(&'a str),
    /// The servers and `BACKEND` rows of every backend.
    Servers,
    /// Every proxy's `FRONTEND` and `BACKEND` rows, for discovery (the stats page
    /// has no such filter and sends its whole table).
    Proxies,
}

/// Reads the answer to `ask` into `feed`.
pub async fn read(
    transport: &Transport,
    client: &reqwest::Client,
    ask: Ask<'_>,
    timeout: Duration,
    feed: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<(), FetchError> {
    match transport {
        Transport::Runtime(api) => {
            let cmd = match ask {
                Ask::Backend(b) => format!("show stat {b} -1 -1"),
                Ask::Servers => "show stat -1 6 -1".to_string(),
                Ask::Proxies => "show stat -1 3 -1".to_string(),
            };
            api.command_streamed(&cmd, timeout, feed).await
        }
        Transport::Http {
            page,
            username,
            password,
        } => {
            let auth = basic_auth(username, password);
            let scope = match ask {
                Ask::Backend(b) => Some(b),
                Ask::Servers | Ask::Proxies => None,
            };
            let url = csv_url(&page.base, scope);
            get_streamed(client, page, url, timeout, auth, feed).await
        }
    }
}

/// GETs `url` and hands the body of a 2xx answer to `feed` as it arrives; a body
/// past [`MAX_BODY_BYTES`] or another status is a [`FetchError`] naming `ep`.
async fn get_streamed(
    client: &reqwest::Client,
    ep: &Endpoint,
    url: Url,
    timeout: Duration,
    auth: Option<(&str, Option<&str>)>,
    feed: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<(), FetchError> {
    let mut req = client
        .get(url)
        .timeout(timeout)
        .header("Accept", "application/json");
    if let Some((user, pass)) = auth {
        req = req.basic_auth(user, pass);
    }
    let mut resp = req
        .send()
        .await
        .map_err(|e| transport_error(ep, &e, timeout))?;
    let status = resp.status();
    let mut total = 0;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(ep, &e, timeout))?
    {
        total += chunk.len();
        if total > MAX_BODY_BYTES {
            let mib = MAX_BODY_BYTES / (1024 * 1024);
            let message = format!("{} sent an answer larger than {mib} MiB", ep.label);
            return Err(FetchError::new(FetchErrorKind::TooLarge, message));
        }
        if status.is_success() {
            feed(&chunk);
        }
    }
    if !status.is_success() {
        return Err(status_error(ep, status));
    }
    Ok(())
}

/// `{page};csv;norefresh`, with `?scope=<backend>` when one backend is wanted.
pub fn csv_url(page: &Url, scope: Option<&str>) -> Url {
    let mut url = page.clone();
    let path = format!("{};csv;norefresh", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    if let Some(b) = scope {
        url.query_pairs_mut().append_pair("scope", b);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_urls_keep_the_page_and_add_the_scope() {
        let page = Url::parse("http://127.0.0.1:8404/stats").unwrap();
        assert_eq!(
            csv_url(&page, None).as_str(),
            "http://127.0.0.1:8404/stats;csv;norefresh"
        );
        assert_eq!(
            csv_url(&page, Some("be_app")).as_str(),
            "http://127.0.0.1:8404/stats;csv;norefresh?scope=be_app"
        );
        let slash = Url::parse("http://h/haproxy/stats/").unwrap();
        assert_eq!(
            csv_url(&slash, None).as_str(),
            "http://h/haproxy/stats;csv;norefresh"
        );
    }
}
