//! The client side of the admin API, for `wasgi deploy`, `wasgi apps` and `wasgi remove`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use reqwest::{Method, StatusCode};

/// Where the admin listener is and the token to show it.
#[derive(Debug, clap::Args)]
pub struct AdminTarget {
    /// The admin listener's URL, e.g. `http://127.0.0.1:9000`.
    #[arg(long = "to", env = "WASGI_ADMIN_URL")]
    pub url: reqwest::Url,
    /// A file holding the admin token [default: the `WASGI_ADMIN_TOKEN` variable].
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// How long connecting to the admin listener may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole admin call may take: a deploy uploads, compiles and smoke-checks its module.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// How much of an answer that is not the admin API's an error quotes.
const QUOTED: usize = 200;

impl AdminTarget {
    /// Sends `method` to the admin API path made of `segments` (each one path segment, so an
    /// app name cannot reach another path), with `query` and `body`; the answer's JSON, or an
    /// error with the host's reason.
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value> {
        let token = read_token(self.token_file.as_ref(), "--token-file FILE")?;
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("`{}` is not a base URL", self.url))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(key, value)| (key, value.as_str())));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()
            .context("failed to set up the HTTP client")?;
        let mut request = client.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/wasm")
                .body(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("failed to reach the admin listener at `{}`", self.url))?;
        let status = response.status();
        let text = response.text().await.context("the answer broke off")?;
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let quoted = || text.chars().take(QUOTED).collect::<String>();
        if !status.is_success() {
            let reason = match json.as_ref().and_then(|json| json["detail"].as_str()) {
                Some(detail) => detail.to_owned(),
                None => quoted(),
            };
            match status {
                StatusCode::UNAUTHORIZED => {
                    bail!("the host refused the admin token ({status}): {reason}")
                }
                _ => bail!("the host refused ({status}): {reason}"),
            }
        }
        json.with_context(|| {
            format!(
                "`{}` did not answer as the wasgi admin API ({status}): {}",
                self.url,
                quoted()
            )
        })
    }
}

/// The admin token: the file's first line, else `WASGI_ADMIN_TOKEN`; `where_from` says how to
/// give the file (`--token-file FILE`), for the error when there is neither.
pub fn read_token(file: Option<&PathBuf>, where_from: &str) -> Result<String> {
    let token = match file {
        Some(file) => {
            let token = std::fs::read_to_string(file)
                .with_context(|| format!("failed to read the token file `{}`", file.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            if token.is_empty() {
                bail!(
                    "the token file `{}` holds no token: the token is its first line",
                    file.display()
                );
            }
            token
        }
        None => std::env::var("WASGI_ADMIN_TOKEN")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if token.is_empty() {
        bail!("no admin token: give {where_from} or set WASGI_ADMIN_TOKEN");
    }
    Ok(token)
}
