//! A browser-like client: a cookie jar, `Accept: text/html`, redirects followed one hop at a time
//! (so tests see every hop), the login pages that keep the URL fragment run as a browser runs their
//! script ([`crate::login_script`]), and login forms (the mock XSUAA's, SAP's) filled in.

use crate::Error;
use crate::login_script::script_redirect_at;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, Response, StatusCode};
use std::sync::Arc;
use url::Url;

const MAX_REDIRECTS: usize = 15;
pub const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    /// Where the last hop landed.
    pub url: Url,
    pub headers: HeaderMap,
    pub body: String,
    /// Every URL visited on the way, the first one included.
    pub visited: Vec<Url>,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// True when the page is a login form (it has a password field).
    pub fn is_login_form(&self) -> bool {
        find_inputs(&self.body)
            .iter()
            .any(|i| i.kind.eq_ignore_ascii_case("password"))
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

fn parse(url: &str) -> Result<Url, Error> {
    Url::parse(url).map_err(|source| Error::Url {
        url: url.to_string(),
        source,
    })
}

fn join(base: &Url, location: &str) -> Result<Url, Error> {
    base.join(location).map_err(|source| Error::Url {
        url: location.to_string(),
        source,
    })
}

impl Browser {
    pub fn new() -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(BROWSER_ACCEPT));
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("a client with a cookie store and no TLS config always builds");
        Self { client, jar }
    }

    /// The underlying client (shares the cookie jar), for requests a test shapes itself.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The `Cookie` header this browser sends to `url` (e.g. to replay a session in `wrk`).
    pub fn cookie_header(&self, url: &str) -> Option<String> {
        let url = Url::parse(url).ok()?;
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_string))
    }

    /// All cookies this browser sends to `url`, as one `Cookie` header value (empty when none).
    pub fn cookies(&self, url: &str) -> String {
        self.cookie_header(url).unwrap_or_default()
    }

    /// The value of cookie `name` for `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.cookies(url)
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    }

    /// Sets a cookie as a page's script would (`document.cookie = "..."`) for `url`.
    pub fn add_cookie(&self, cookie: &str, url: &Url) {
        self.jar.add_cookie_str(cookie, url);
    }

    /// One GET, no redirect followed.
    pub async fn get_once(&self, url: &str) -> Result<Response, Error> {
        Ok(self.client.get(parse(url)?).send().await?)
    }

    /// GET and follow redirects, like typing a URL into the address bar.
    pub async fn get(&self, url: &str) -> Result<Page, Error> {
        let url = parse(url)?;
        let response = self.client.get(url.clone()).send().await?;
        self.follow(response, url, Vec::new()).await
    }

    /// Follows `response` (the answer to `url`) through redirects (each as a GET, as browsers do
    /// after a POST) and login scripts; `visited` are the URLs before `url`.
    pub async fn follow(
        &self,
        mut response: Response,
        mut url: Url,
        mut visited: Vec<Url>,
    ) -> Result<Page, Error> {
        visited.push(url.clone());
        for _ in 0..MAX_REDIRECTS {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            let next = match location {
                Some(location) if response.status().is_redirection() => {
                    let mut next = join(&url, &location)?;
                    // As browsers do: a redirect without a fragment keeps the page's.
                    if next.fragment().is_none() {
                        next.set_fragment(url.fragment());
                    }
                    next
                }
                _ => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = response.text().await?;
                    match self.run_login_script(status, &body, &url) {
                        Some(next) => next,
                        None => {
                            return Ok(Page {
                                status,
                                url,
                                headers,
                                body,
                                visited,
                            });
                        }
                    }
                }
            };
            url = next;
            visited.push(url.clone());
            response = self.client.get(url.clone()).send().await?;
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await?;
        Ok(Page {
            status,
            url,
            headers,
            body,
            visited,
        })
    }

    /// What a browser does with a login page that keeps the URL fragment: sets the cookies its
    /// script sets and goes where it goes. `None` for any other page.
    pub fn run_login_script(&self, status: StatusCode, body: &str, url: &Url) -> Option<Url> {
        if status != StatusCode::OK || !body.contains("document.cookie=") {
            return None;
        }
        let page_path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let hash = url.fragment().map(|f| format!("#{f}")).unwrap_or_default();
        let (cookies, target) = script_redirect_at(body, &page_path, &hash)?;
        for cookie in cookies {
            self.jar.add_cookie_str(&cookie, url);
        }
        url.join(&target).ok()
    }

    /// Where the router sends this browser to log in from `url`: the authorize URL of its redirect,
    /// or of its login page (whose script this browser runs).
    pub async fn start_login(&self, url: &str) -> Result<Url, Error> {
        let url = parse(url)?;
        let response = self.client.get(url.clone()).send().await?;
        let status = response.status();
        if status.is_redirection()
            && let Some(location) = response.headers().get(LOCATION)
        {
            let location = location
                .to_str()
                .map_err(|e| Error::Login(format!("{url}: a Location that is not text: {e}")))?;
            return join(&url, location);
        }
        let body = response.text().await?;
        self.run_login_script(status, &body, &url).ok_or_else(|| {
            Error::Login(format!(
                "{url}: neither a redirect nor the login page: {status} {body}"
            ))
        })
    }

    /// Submits the login form on `page` WITHOUT following the answer, and returns where XSUAA
    /// sends the browser back: the router's callback with its code and state, not yet visited.
    pub async fn login_callback(
        &self,
        page: &Page,
        username: &str,
        password: &str,
    ) -> Result<Url, Error> {
        if !page.is_login_form() {
            return Err(Error::Login(format!(
                "expected the login form at {}, got {}:\n{}",
                page.url, page.status, page.body
            )));
        }
        let (request, action) = self.login_request(page, username, password)?;
        let answer = request.send().await?;
        let status = answer.status();
        match answer.headers().get(LOCATION).map(|l| l.to_str()) {
            Some(Ok(location)) if status.is_redirection() => join(&action, location),
            _ => Err(Error::Login(format!(
                "{action}: the login form's answer is {status}, not a redirect back"
            ))),
        }
    }

    /// Fills the login form on `page`, submits it and follows the redirects back to the app.
    pub async fn submit_login(
        &self,
        page: &Page,
        username: &str,
        password: &str,
    ) -> Result<Page, Error> {
        let (request, action) = self.login_request(page, username, password)?;
        let response = request.send().await?;
        self.follow(response, action, page.visited.clone()).await
    }

    /// The form submission of the login form on `page`, and the URL it goes to.
    fn login_request(
        &self,
        page: &Page,
        username: &str,
        password: &str,
    ) -> Result<(reqwest::RequestBuilder, Url), Error> {
        let form = find_form(&page.body)
            .ok_or_else(|| Error::Login(format!("no <form> on {}", page.url)))?;
        let action = join(&page.url, &form.action)?;
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut filled_user = false;
        let mut filled_password = false;
        for input in find_inputs(&page.body) {
            let Some(name) = input.name.clone() else {
                continue;
            };
            match input.kind.to_ascii_lowercase().as_str() {
                "password" => {
                    fields.push((name, password.to_string()));
                    filled_password = true;
                }
                "text" | "email" | "" if !filled_user => {
                    fields.push((name, username.to_string()));
                    filled_user = true;
                }
                "submit" | "button" | "checkbox" => {}
                _ => fields.push((name, input.value.unwrap_or_default())),
            }
        }
        if !filled_user || !filled_password {
            return Err(Error::Login(format!(
                "the form on {} has no username/password fields",
                page.url
            )));
        }
        let method = if form.method.eq_ignore_ascii_case("get") {
            Method::GET
        } else {
            Method::POST
        };
        let request = self.client.request(method, action.clone()).form(&fields);
        Ok((request, action))
    }

    /// Opens `url`, expects a login form on the way (an error otherwise), logs in and returns the
    /// page the app shows.
    pub async fn login(&self, url: &str, username: &str, password: &str) -> Result<Page, Error> {
        let page = self.get(url).await?;
        if !page.is_login_form() {
            return Err(Error::Login(format!(
                "expected the login form at {}, got {}:\n{}",
                page.url, page.status, page.body
            )));
        }
        self.submit_login(&page, username, password).await
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub action: String,
    pub method: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub name: Option<String>,
    pub kind: String,
    pub value: Option<String>,
}
pub fn find_form(html: &str) -> Option<Form> {
    let start = html.find("<form")?;
    let tag = &html[start..start + html[start..].find('>')?];
    Some(Form {
        action: attribute(tag, "action").unwrap_or_default(),
        method: attribute(tag, "method").unwrap_or_else(|| "get".into()),
    })
}

pub fn find_inputs(html: &str) -> Vec<Input> {
    let mut inputs = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<input") {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + end];
        inputs.push(Input {
            name: attribute(tag, "name"),
            kind: attribute(tag, "type").unwrap_or_default(),
            value: attribute(tag, "value"),
        });
        rest = &rest[start + end..];
    }
    inputs
}

/// The value of `name="..."` (or single-quoted) in one tag, HTML entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    let mut search = 0;
    while let Some(pos) = tag[search..].find(name) {
        let at = search + pos;
        search = at + name.len();
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let rest = tag[search..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let quote = rest.chars().next()?;
        if quote == '"' || quote == '\'' {
            let end = rest[1..].find(quote)?;
            return Some(decode_entities(&rest[1..1 + end]));
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '>')
            .unwrap_or(rest.len());
        return Some(decode_entities(&rest[..end]));
    }
    None
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_login_form() {
        let html = r#"<html><form method="post" action="/login.do?x=1&amp;y=2">
            <input type="hidden" name="request_id" value="a&quot;b">
            <input type=text name=username autofocus>
            <input type="password" name="password">
            <input type="submit" value="Log on"></form></html>"#;
        assert_eq!(
            find_form(html),
            Some(Form {
                action: "/login.do?x=1&y=2".into(),
                method: "post".into()
            })
        );
        let inputs = find_inputs(html);
        assert_eq!(inputs.len(), 4);
        assert_eq!(inputs[0].value.as_deref(), Some("a\"b"));
        assert_eq!(inputs[1].name.as_deref(), Some("username"));
        assert_eq!(inputs[1].kind, "text");
        assert_eq!(inputs[2].kind, "password");
    }
}
