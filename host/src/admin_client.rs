//! The client side of the admin API, for `wasgi deploy`, `wasgi apps` and `wasgi remove`.

use std::path::PathBuf;

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

impl AdminTarget {
    /// Sends `method path?query` with `body`; the answer's JSON, or an error with the host's
    /// reason.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value> {
        let token = read_token(self.token_file.as_ref(), "--token-file FILE")?;
        let mut url = self
            .url
            .join(path)
            .with_context(|| format!("`{}` is not a base URL", self.url))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(key, value)| (key, value.as_str())));
        }
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(token);
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
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if !status.is_success() {
            let reason = json["detail"].as_str().unwrap_or(&text);
            match status {
                StatusCode::UNAUTHORIZED => {
                    bail!("the host refused the admin token ({status}): {reason}")
                }
                _ => bail!("the host refused ({status}): {reason}"),
            }
        }
        Ok(json)
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
        None => std::env::var("WASGI_ADMIN_TOKEN").unwrap_or_default(),
    };
    if token.is_empty() {
        bail!("no admin token: give {where_from} or set WASGI_ADMIN_TOKEN");
    }
    Ok(token)
}
