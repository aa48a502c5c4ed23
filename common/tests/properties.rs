//! Property tests ("fuzzing" on the stable toolchain) for every parser in `common` that reads
//! outside input: `VCAP_SERVICES`, `VCAP_APPLICATION`, the App Router's `destinations`, the token
//! provider's credentials file, and JWT header/claims decoding and validation.
//!
//! Each property runs on arbitrary text and on structure-aware input (JSON with the keys the parser
//! knows, random values of every type). The parser must answer `Ok` or an error, never panic; where
//! the parser accepts, what it accepted must hold up (a re-serialised config parses the same, an
//! accepted token meets every check). `PROPTEST_CASES` raises the case count (see README, Fuzzing).

use common::cf::{VcapApplication, VcapServices, parse_destinations};
use common::jwt::{self, JwtValidator};
use common::properties::TokenProviderCredentials;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use testkit::properties::{any_text, config};

/// Strings that parsers treat specially: URLs, numbers and booleans as text, whitespace, unicode,
/// separators, very long ones.
fn interesting_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-zA-Z0-9._:/!$-]{0,24}",
        1 => any::<String>(),
        1 => Just(String::new()),
        1 => Just(" \t ".to_string()),
        1 => prop::sample::select(vec![
            "http://127.0.0.1:1/x", "https://xsuaa.local:8443", "ftp://a.b", "http://", "http://[::1]:99999",
            "https://a.b/oauth/token?x=1#f", "true", "false", "TRUE", "0", "-1", "65536", "18446744073709551616",
            "1e3", "Internet", "OnPremise", "xsuaa", "destination", "redis", "\u{feff}x", "ü/€/😀", "a\nb", "$XSAPPNAME",
        ]).prop_map(str::to_string),
        1 => "[a-z]{1,4}".prop_map(|s| s.repeat(2000)),
    ]
    .boxed()
}

fn json_number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..70_000).prop_map(Value::from),
        // Decimals that print and parse back exactly (serde_json's float parsing is not exact
        // for every f64, and that is not what these parsers are about).
        (any::<i32>(), 0u32..6).prop_map(|(n, k)| json!(f64::from(n) / 10f64.powi(k as i32))),
    ]
    .boxed()
}

/// Any JSON value, its object keys drawn from `keys` (the parser's vocabulary) or random.
fn json_value(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        interesting_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((json_key(keys), inner), 0..7)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

fn json_key(keys: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(keys).prop_map(str::to_string),
        1 => interesting_string(),
    ]
    .boxed()
}

/// An object with mostly known keys and values of any type, some of them plausible.
fn json_object(
    keys: &'static [&'static str],
    plausible: BoxedStrategy<Value>,
) -> BoxedStrategy<Value> {
    vec(
        (
            json_key(keys),
            prop_oneof![3 => plausible, 1 => json_value(keys)],
        ),
        0..10,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
    .boxed()
}

// ---------------------------------------------------------------- destinations

const DESTINATION_KEYS: &[&str] = &[
    "name",
    "url",
    "forwardAuthToken",
    "HTML5.ForwardAuthToken",
    "timeout",
    "strictSSL",
    "proxyHost",
    "proxyPort",
    "proxyType",
    "setXForwardedHeaders",
    "preserveHostHeader",
    "authentication",
    "type",
    "IPDirectForwarding",
];

fn plausible_destination_value() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (0u64..100_000).prop_map(Value::from),
        prop::sample::select(vec![
            "backend",
            "http://127.0.0.1:8080",
            "https://api.example.com/base/",
            "true",
            "false",
            "30000",
            "Internet",
            "NoAuthentication",
        ])
        .prop_map(Value::from),
        interesting_string().prop_map(Value::String),
    ]
    .boxed()
}

fn destinations_json() -> BoxedStrategy<String> {
    prop_oneof![
        any_text(),
        json_value(DESTINATION_KEYS).prop_map(|v| v.to_string()),
        vec(
            json_object(DESTINATION_KEYS, plausible_destination_value()),
            0..4
        )
        .prop_map(|v| Value::Array(v).to_string()),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(3000))]

    /// `destinations` never panics; what it accepts has unique names and http(s) URLs, and
    /// written back as JSON parses to the same destinations.
    #[test]
    fn destinations_env_parses_or_errs_and_round_trips(text in destinations_json()) {
        let Ok(parsed) = parse_destinations(&text) else { return Ok(()) };
        let mut names = std::collections::HashSet::new();
        let mut again = Vec::new();
        for d in &parsed {
            prop_assert!(names.insert(d.name.clone()), "duplicate name {}", d.name);
            prop_assert!(!d.name.trim().is_empty());
            prop_assert!(matches!(d.url.scheme(), "http" | "https"));
            let mut entry = json!({
                "name": d.name,
                "url": d.url.as_str(),
                "forwardAuthToken": d.forward_auth_token,
                "strictSSL": d.strict_ssl,
                "setXForwardedHeaders": d.set_x_forwarded_headers,
                "preserveHostHeader": d.preserve_host_header,
            });
            if let Some(t) = d.timeout {
                entry["timeout"] = json!(t.as_millis() as u64);
            }
            if let Some(h) = &d.proxy_host {
                entry["proxyHost"] = json!(h);
            }
            if let Some(p) = d.proxy_port {
                entry["proxyPort"] = json!(p);
            }
            again.push(entry);
        }
        let reparsed = parse_destinations(&Value::Array(again).to_string())
            .map_err(|e| TestCaseError::fail(format!("re-serialised destinations refused: {e}")))?;
        prop_assert_eq!(format!("{parsed:?}"), format!("{reparsed:?}"));
    }
}

// ---------------------------------------------------------------- VCAP_SERVICES

const BINDING_KEYS: &[&str] = &[
    "name",
    "label",
    "plan",
    "tags",
    "instance_name",
    "credentials",
];
const CREDENTIAL_KEYS: &[&str] = &[
    "clientid",
    "clientsecret",
    "url",
    "uri",
    "uaadomain",
    "xsappname",
    "identityzone",
    "identityzoneid",
    "tenantid",
    "zoneid",
    "verificationkey",
    "tenantmode",
    "hostname",
    "host",
    "port",
    "password",
    "tls",
];

fn credentials() -> BoxedStrategy<Value> {
    json_object(
        CREDENTIAL_KEYS,
        prop_oneof![
            interesting_string().prop_map(Value::String),
            (0u64..70_000).prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ]
        .boxed(),
    )
    .boxed()
}

fn binding() -> BoxedStrategy<Value> {
    let label = prop::sample::select(vec!["xsuaa", "destination", "redis", "redis-cache", "x"]);
    (
        interesting_string(),
        prop::option::of(label.clone()),
        vec(label, 0..3),
        credentials(),
        json_object(BINDING_KEYS, json_value(CREDENTIAL_KEYS)),
    )
        .prop_map(|(name, label, tags, creds, extra)| {
            let mut b = Map::new();
            b.insert("name".into(), json!(name));
            if let Some(l) = label {
                b.insert("label".into(), json!(l));
            }
            b.insert("tags".into(), json!(tags));
            b.insert("credentials".into(), creds);
            // Some bindings get random extra or replaced keys.
            if let Value::Object(extra) = extra {
                for (k, v) in extra.into_iter().take(2) {
                    b.insert(k, v);
                }
            }
            Value::Object(b)
        })
        .boxed()
}

fn vcap_services_json() -> BoxedStrategy<String> {
    let label = prop_oneof![
        prop::sample::select(vec!["xsuaa", "destination", "redis", "user-provided"])
            .prop_map(str::to_string),
        interesting_string(),
    ];
    prop_oneof![
        any_text(),
        json_value(BINDING_KEYS).prop_map(|v| v.to_string()),
        vec((label, vec(binding(), 0..3)), 0..4).prop_map(|entries| {
            let map: Map<String, Value> = entries
                .into_iter()
                .map(|(l, b)| (l, Value::Array(b)))
                .collect();
            Value::Object(map).to_string()
        }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(3000))]

    /// `VCAP_SERVICES` never panics, nor do the typed look-ups on what it accepted; the bindings
    /// written back parse the same; typed credentials have their required fields.
    #[test]
    fn vcap_services_parse_and_lookups_never_panic(text in vcap_services_json()) {
        let Ok(vcap) = VcapServices::parse(&text) else { return Ok(()) };
        if let Ok(x) = vcap.xsuaa() {
            for field in [&x.clientid, &x.url, &x.uaadomain, &x.xsappname] {
                prop_assert!(!field.trim().is_empty());
            }
            prop_assert!(url::Url::parse(&x.url).is_ok());
            let _ = (x.token_url(), x.authorize_url(), x.token_keys_url(), x.zone_id());
            // A validator from any accepted binding is built or refused, without panicking.
            let _ = JwtValidator::with_verification_key(&x);
        }
        if let Ok(d) = vcap.destination() {
            prop_assert!(url::Url::parse(&d.uri).is_ok() && url::Url::parse(&d.url).is_ok());
        }
        if let Some(uri) = vcap.redis_uri() {
            prop_assert!(!uri.is_empty());
        }
        let _ = vcap.find("xsuaa");

        // Written back label by label, the bindings parse to the same.
        let mut by_label: Map<String, Value> = Map::new();
        for b in vcap.bindings() {
            let entry = json!({
                "name": b.name, "label": b.label, "plan": b.plan, "tags": b.tags,
                "instance_name": b.instance_name, "credentials": b.credentials,
            });
            match by_label.get_mut(&b.label) {
                Some(Value::Array(list)) => list.push(entry),
                _ => { by_label.insert(b.label.clone(), json!([entry])); }
            }
        }
        let again = VcapServices::parse(&Value::Object(by_label).to_string())
            .map_err(|e| TestCaseError::fail(format!("re-serialised VCAP_SERVICES refused: {e}")))?;
        let describe = |v: &VcapServices| {
            let mut all: Vec<String> = v.bindings().map(|b| format!("{b:?}")).collect();
            all.sort();
            all
        };
        prop_assert_eq!(describe(&vcap), describe(&again));
    }

    #[test]
    fn vcap_application_never_panics(text in prop_oneof![
        any_text(),
        json_value(&["application_name", "application_uris", "space_name", "organization_name"])
            .prop_map(|v| v.to_string()),
    ]) {
        let _ = VcapApplication::parse(&text);
    }
}

// ---------------------------------------------------------------- credentials properties file

const SECRET: &str = "S3CR3T-never-in-an-error-7d1f";

fn properties_line() -> BoxedStrategy<String> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "here.token.endpoint.url",
            "here.access.key.id",
            "x.token.scope",
            "here.user.id",
            ".token.endpoint.url",
            "",
        ])
        .prop_map(str::to_string),
        "[a-z.]{0,20}",
    ];
    let sep = prop::sample::select(vec!["=", " = ", ":", " : ", "", "=="]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "http://127.0.0.1:8080/oauth/token",
            "https://a.b/oauth2/token",
            "ftp://x",
            "not a url",
            "",
        ])
        .prop_map(str::to_string),
        interesting_string(),
    ];
    prop_oneof![
        4 => (key, sep, value).prop_map(|(k, s, v)| format!("{k}{s}{v}")),
        1 => prop::sample::select(vec!["# comment", "! bang", "", "   ", "\u{feff}"]).prop_map(str::to_string),
        1 => any::<String>(),
        // The secret line: its value must never show up in an error.
        1 => Just(format!("here.access.key.secret = {SECRET}")),
    ]
    .boxed()
}

fn properties_file() -> BoxedStrategy<String> {
    prop_oneof![
        any_text(),
        (
            vec(properties_line(), 0..10),
            prop::sample::select(vec!["\n", "\r\n", "\r"])
        )
            .prop_map(|(lines, eol)| lines.join(eol)),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(5000))]

    /// The credentials file never panics, never echoes the secret in an error, and what it
    /// accepts written back as `key = value` lines parses the same.
    #[test]
    fn credentials_properties_parse_round_trips_and_hides_the_secret(text in properties_file()) {
        match TokenProviderCredentials::parse(&text, "credentials.properties") {
            Err(e) => prop_assert!(!e.to_string().contains(SECRET), "{e}"),
            Ok(c) => {
                let debug = format!("{c:?}");
                prop_assert!(!debug.contains(SECRET));
                let url = url::Url::parse(&c.token_endpoint_url)
                    .map_err(|e| TestCaseError::fail(format!("accepted a bad URL: {e}")))?;
                prop_assert!(matches!(url.scheme(), "http" | "https"));
                let mut again = format!(
                    "p.token.endpoint.url = {}\np.access.key.id = {}\np.access.key.secret = {}\n",
                    c.token_endpoint_url, c.access_key_id, c.access_key_secret.expose()
                );
                if let Some(scope) = &c.token_scope {
                    again.push_str(&format!("p.token.scope = {scope}\n"));
                }
                let r = TokenProviderCredentials::parse(&again, "again")
                    .map_err(|e| TestCaseError::fail(format!("re-serialised file refused: {e}\n{again:?}")))?;
                prop_assert_eq!(&r.token_endpoint_url, &c.token_endpoint_url);
                prop_assert_eq!(&r.access_key_id, &c.access_key_id);
                prop_assert_eq!(r.access_key_secret.expose(), c.access_key_secret.expose());
                prop_assert_eq!(&r.token_scope, &c.token_scope);
            }
        }
    }
}

// ---------------------------------------------------------------- JWT

const CLAIM_KEYS: &[&str] = &[
    "iss",
    "zid",
    "sub",
    "user_id",
    "user_name",
    "email",
    "origin",
    "client_id",
    "cid",
    "azp",
    "aud",
    "scope",
    "grant_type",
    "iat",
    "exp",
    "nbf",
    "ext_attr",
    "xs.user.attributes",
    "xs.system.attributes",
];
const HEADER_KEYS: &[&str] = &["alg", "typ", "kid", "jku", "x5u", "jwk", "crit"];

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens: random text, dotted parts of random base64, and three parts of base64url JSON.
fn token_text() -> BoxedStrategy<String> {
    let part = prop_oneof![
        "[A-Za-z0-9_=+/-]{0,40}",
        json_value(CLAIM_KEYS).prop_map(|v| b64(v.to_string().as_bytes())),
        json_value(HEADER_KEYS).prop_map(|v| b64(v.to_string().as_bytes())),
        vec(any::<u8>(), 0..64).prop_map(|b| b64(&b)),
    ];
    prop_oneof![any_text(), vec(part, 0..5).prop_map(|p| p.join(".")),].boxed()
}

const CLIENT_ID: &str = "sb-app!t1";
const XSAPPNAME: &str = "app!t1";
const ZONE: &str = "zone-1";
const ISSUER: &str = "http://zone.localhost:8080/oauth/token";

fn validator() -> JwtValidator {
    let vcap = json!({"xsuaa": [{"name": "uaa", "label": "xsuaa", "credentials": {
        "clientid": CLIENT_ID, "clientsecret": "s", "url": "http://zone.localhost:8080",
        "uaadomain": "localhost:8080", "xsappname": XSAPPNAME, "identityzoneid": ZONE,
        "verificationkey": include_str!("fixtures/key1.pub.pem"),
    }}]});
    let creds = VcapServices::parse(&vcap.to_string())
        .and_then(|v| v.xsuaa())
        .expect("the test binding parses");
    JwtValidator::with_verification_key(&creds).expect("the fixture key loads")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Claims around the valid ones: each claim right, wrong, missing or of the wrong type.
fn claims() -> BoxedStrategy<Value> {
    let at = |offsets: Vec<i64>| prop::sample::select(offsets).prop_map(|o| json!(now() + o));
    let pick = |vals: Vec<Value>| prop::sample::select(vals);
    (
        pick(vec![
            json!(ISSUER),
            json!("http://evil.localhost.attacker:8080/oauth/token"),
            json!("http://zone.localhost:8081/oauth/token"),
            // Without a scheme: read as https://zone.localhost:8080, a subdomain of uaadomain.
            json!("zone.localhost:8080"),
            json!(1),
            Value::Null,
        ]),
        pick(vec![json!(ZONE), json!("zone-2"), json!(""), Value::Null]),
        pick(vec![
            json!([CLIENT_ID]),
            json!(XSAPPNAME),
            json!(["other"]),
            json!([]),
            json!("app!t1.read other"),
            Value::Null,
        ]),
        pick(vec![
            json!(CLIENT_ID),
            json!("other"),
            json!(""),
            Value::Null,
        ]),
        prop_oneof![
            // Well outside the leeway either way, so the property does not depend on its size.
            at(vec![-3600, -150, 150, 3600]),
            pick(vec![
                json!(i64::MAX),
                json!(i64::MIN),
                json!("soon"),
                json!(1.5),
                Value::Null
            ]),
        ],
        prop_oneof![
            at(vec![-150, 150, 3600]),
            pick(vec![Value::Null, json!("x")])
        ],
        pick(vec![
            json!([format!("{XSAPPNAME}.read")]),
            json!("a b"),
            json!([1]),
            Value::Null,
        ]),
    )
        .prop_map(|(iss, zid, aud, cid, exp, nbf, scope)| {
            let mut m = Map::new();
            for (k, v) in [
                ("iss", iss),
                ("zid", zid),
                ("aud", aud),
                ("cid", cid),
                ("exp", exp),
                ("nbf", nbf),
                ("scope", scope),
            ] {
                if !v.is_null() {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        })
        .boxed()
}

fn header() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => Just(json!({"alg": "RS256", "typ": "JWT", "kid": "key-1"})),
        1 => prop::sample::select(vec!["none", "HS256", "RS512", "ES256", "rs256", ""])
            .prop_map(|alg| json!({"alg": alg, "typ": "JWT"})),
        1 => Just(json!({"alg": "RS256", "jku": "http://attacker.example/token_keys", "kid": "x"})),
        1 => json_value(HEADER_KEYS),
    ]
    .boxed()
}

fn sign(header: &Value, claims: &Value) -> String {
    static KEY: std::sync::OnceLock<jsonwebtoken::EncodingKey> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| {
        jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!("fixtures/key1.pem"))
            .expect("the fixture key parses")
    });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), key, jsonwebtoken::Algorithm::RS256)
            .expect("RS256 signs");
    format!("{input}.{signature}")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

proptest! {
    #![proptest_config(config(3000))]

    /// `decode_unverified` never panics; claims it returns encode back to the same claims.
    #[test]
    fn jwt_decode_unverified_never_panics(token in token_text()) {
        if let Ok(claims) = jwt::decode_unverified(&token) {
            let _ = (claims.audiences(), claims.user_key(), claims.client_id(), claims.expires_at());
            let again = format!("e30.{}.x", b64(serde_json::to_string(&claims).unwrap().as_bytes()));
            prop_assert_eq!(jwt::decode_unverified(&again).ok(), Some(claims));
        }
    }

    /// Validation of a token that is not signed by the key never panics and never accepts.
    #[test]
    fn jwt_validation_never_accepts_unsigned_garbage(token in token_text()) {
        thread_local!(static V: (JwtValidator, tokio::runtime::Runtime) = (validator(), runtime()));
        let accepted = V.with(|(v, rt)| rt.block_on(v.validate(&token)).is_ok());
        prop_assert!(!accepted, "accepted {token:?}");
    }
}

proptest! {
    // RS256 signing makes a case cost about a millisecond.
    #![proptest_config(config(600))]

    /// Signed with the right key, a token is accepted exactly when every claim check holds:
    /// RS256, `exp` (and `nbf`) within the leeway, issuer of the binding, its zone, and an audience
    /// naming the app.
    #[test]
    fn jwt_validation_accepts_only_tokens_meeting_every_check(header in header(), claims in claims()) {
        thread_local!(static V: (JwtValidator, tokio::runtime::Runtime) = (validator(), runtime()));
        let token = sign(&header, &claims);
        let result = V.with(|(v, rt)| rt.block_on(v.validate(&token)));
        let leeway = jwt::LEEWAY_SECS as i64;
        let t = now();
        let exp_ok = claims["exp"].as_i64().is_some_and(|e| e > t - leeway);
        let nbf_ok = match &claims["nbf"] {
            Value::Null => true,
            n => n.as_i64().is_some_and(|n| n <= t + leeway),
        };
        // Audiences as @sap/xssec derives them: `aud` cut at the first '.', else the scopes'
        // prefixes; the token's own client counts too.
        let words = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
                Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            }
        };
        let aud = words(&claims["aud"]);
        let audiences: Vec<String> = if aud.is_empty() {
            words(&claims["scope"]).into_iter().filter(|s| s.contains('.')).collect()
        } else {
            aud
        };
        let aud_ok = claims["cid"] == json!(CLIENT_ID)
            || audiences
                .iter()
                .map(|a| a.split('.').next().unwrap_or(""))
                .any(|a| a == CLIENT_ID || a == XSAPPNAME);
        let iss_ok = claims["iss"] == json!(ISSUER) || claims["iss"] == json!("zone.localhost:8080");
        let expected = header["alg"] == "RS256"
            && iss_ok
            && claims["zid"] == json!(ZONE)
            && exp_ok
            && nbf_ok
            && aud_ok
            // A claim of the wrong type makes the token malformed.
            && claims["scope"] != json!([1]);
        match &result {
            Ok(c) => {
                prop_assert!(expected, "accepted {header} {claims}: {c:?}");
                prop_assert_eq!(c.zid.as_deref(), Some(ZONE));
            }
            Err(e) => prop_assert!(!expected, "refused {header} {claims}: {e}"),
        }
    }
}

/// The validation property is not vacuous: a token meeting every check is accepted.
#[test]
fn a_token_meeting_every_check_is_accepted() {
    let claims = json!({
        "iss": ISSUER, "zid": ZONE, "aud": [CLIENT_ID], "cid": CLIENT_ID,
        "exp": now() + 3600, "scope": [format!("{XSAPPNAME}.read")],
    });
    let token = sign(&json!({"alg": "RS256", "typ": "JWT"}), &claims);
    let accepted = runtime().block_on(validator().validate(&token));
    assert!(accepted.is_ok(), "{accepted:?}");
}
