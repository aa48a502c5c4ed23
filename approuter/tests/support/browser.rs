//! A browser-like client: a cookie jar, `Accept: text/html`, redirects followed one hop at a time
//! (so tests see every hop), the router's login page run as a browser runs its script (the URL
//! fragment into the cookie it names, then on to XSUAA), and the mock XSUAA's login form filled in.

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Response, StatusCode};
use std::sync::Arc;
use url::Url;

pub const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
}

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: String,
    /// Every URL visited, the first one included.
    pub visited: Vec<Url>,
}

impl Page {
    pub fn is_login_form(&self) -> bool {
        self.body.contains("type=\"password\"")
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
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
            .unwrap();
        Browser { client, jar }
    }

    /// The `Cookie` header this browser sends to `url`.
    pub fn cookies(&self, url: &str) -> String {
        self.jar
            .cookies(&Url::parse(url).unwrap())
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// The value of cookie `name` for `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.cookies(url)
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    }

    /// One request, no redirect followed.
    pub async fn get_once(&self, url: &str) -> Response {
        self.client.get(url).send().await.unwrap()
    }

    /// GET and follow redirects, like the address bar.
    pub async fn get(&self, url: &str) -> Page {
        let url = Url::parse(url).unwrap();
        let response = self.client.get(url.clone()).send().await.unwrap();
        self.follow(response, url, Vec::new()).await
    }

    pub async fn follow(
        &self,
        mut response: Response,
        mut url: Url,
        mut visited: Vec<Url>,
    ) -> Page {
        visited.push(url.clone());
        for _ in 0..15 {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            let next = match location {
                Some(location) if response.status().is_redirection() => {
                    // A redirect without a fragment keeps the one of the page (as browsers do).
                    let mut next = url.join(&location).unwrap();
                    if next.fragment().is_none() {
                        next.set_fragment(url.fragment());
                    }
                    next
                }
                _ => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = response.text().await.unwrap();
                    match self.run_login_page(status, &body, &url) {
                        Some(next) => next,
                        None => {
                            return Page {
                                status,
                                url,
                                headers,
                                body,
                                visited,
                            };
                        }
                    }
                }
            };
            url = next;
            visited.push(url.clone());
            response = self.client.get(url.clone()).send().await.unwrap();
        }
        Page {
            status: response.status(),
            url,
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
            visited,
        }
    }

    /// What a browser does with the router's login page (`PRESERVE_FRAGMENT`): stores
    /// `encodeURIComponent(location.hash)` in the cookie the script names and goes to XSUAA.
    /// `None` when `body` is not that page.
    pub fn run_login_page(&self, status: StatusCode, body: &str, url: &Url) -> Option<Url> {
        let (cookie, target) = login_page_script(status, body)?;
        let hash = url.fragment().map(|f| format!("#{f}")).unwrap_or_default();
        let value: String = url::form_urlencoded::byte_serialize(hash.as_bytes()).collect();
        let (name, attributes) = cookie.split_once('=')?;
        self.jar
            .add_cookie_str(&format!("{name}={value}{attributes}"), url);
        Url::parse(&target).ok()
    }

    /// Where the router sends this browser to log in from `url`: the authorize URL of its 302, or
    /// of its login page (whose script this browser runs). Panics when it does neither.
    pub async fn start_login(&self, url: &str) -> Url {
        let url = Url::parse(url).unwrap();
        let response = self.client.get(url.clone()).send().await.unwrap();
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()[LOCATION].to_str().unwrap();
            return url.join(location).unwrap();
        }
        let body = response.text().await.unwrap();
        self.run_login_page(status, &body, &url).unwrap_or_else(|| {
            panic!("{url}: neither a redirect nor the login page: {status} {body}")
        })
    }

    /// Submits the mock XSUAA's login form on `page` WITHOUT following the redirect that comes
    /// back (it goes to the router's callback).
    pub async fn submit_login_once(&self, page: &Page, user: &str, password: &str) -> Response {
        let request_id =
            hidden_value(&page.body, "request_id").expect("a request_id on the login form");
        let action = page.url.join("/login.do").unwrap();
        self.client
            .post(action)
            .form(&[
                ("request_id", request_id.as_str()),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Fills in and submits the login form on `page`, following redirects back to the app.
    pub async fn submit_login(&self, page: &Page, user: &str, password: &str) -> Page {
        let response = self.submit_login_once(page, user, password).await;
        let url = page.url.join("/login.do").unwrap();
        self.follow(response, url, page.visited.clone()).await
    }

    /// Opens `url`, logs in when the login form shows up, and returns the app's page.
    pub async fn login(&self, url: &str, user: &str, password: &str) -> Page {
        let page = self.get(url).await;
        assert!(
            page.is_login_form(),
            "expected the login form at {}, got {}:\n{}",
            page.url,
            page.status,
            page.body
        );
        self.submit_login(&page, user, password).await
    }
}

/// The router's login page: the fragment cookie statement (`name=` and the attributes after the
/// value) and the URL its script goes to.
pub fn login_page_script(status: StatusCode, body: &str) -> Option<(String, String)> {
    if status != StatusCode::OK {
        return None;
    }
    let script = &body[body.find("<script nonce=\"")?..];
    let cookie_start = script.find("document.cookie=\"")? + "document.cookie=\"".len();
    let rest = &script[cookie_start..];
    let name_end = rest.find("=\"+encodeURIComponent(location.hash)+\"")?;
    let name = &rest[..name_end];
    let after = &rest[name_end + "=\"+encodeURIComponent(location.hash)+\"".len()..];
    let attributes = &after[..after.find('"')?];
    let at = script.find("location=\"")? + "location=\"".len();
    let target = &script[at..];
    let target = &target[..target.find('"')?];
    Some((format!("{name}={attributes}"), target.to_string()))
}

fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].replace("&amp;", "&"))
}
