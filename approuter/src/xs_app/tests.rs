use super::*;
use axum::http::Method;
use serde_json::json;
use std::collections::HashSet;
use std::path::Path;

fn ctx_parse(value: serde_json::Value) -> Result<XsApp, Error> {
    let destinations: HashSet<String> = ["backend".to_string(), "other".to_string()].into();
    let dir = std::env::temp_dir();
    parse(
        &value.to_string(),
        &Context {
            origin: "xs-app.json",
            destinations: &destinations,
            destination_service: false,
            xsappname: Some("myapp!t1"),
            base_dir: &dir,
        },
    )
}

fn message(value: serde_json::Value) -> String {
    match ctx_parse(value) {
        Ok(_) => panic!("expected a configuration error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_tutorial_file_is_accepted() {
    let app = ctx_parse(json!({
        "welcomeFile": "/mainentry",
        "authenticationMethod": "route",
        "routes": [{
            "authenticationType": "xsuaa",
            "scope": ["Backend-service!t6131.AllAccess"],
            "source": "^/(.*)$",
            "target": "$1",
            "destination": "backend"
        }]
    }))
    .unwrap();
    assert_eq!(app.welcome_file.as_deref(), Some("/mainentry"));
    assert_eq!(app.callback_endpoint, "/login/callback");
    let route = &app.routes[0];
    assert!(route.authenticated && route.csrf_protection);
    assert_eq!(
        route.scope.required(&Method::GET),
        ["Backend-service!t6131.AllAccess".to_string()]
    );
    assert!(app.warnings.is_empty());
}

#[test]
fn unknown_keys_name_the_key_and_the_route() {
    let m = message(json!({"routes": [], "welcomefile": "/x"}));
    assert!(m.contains("unknown key \"welcomefile\""), "{m}");
    let m =
        message(json!({"routes": [{"source": "^/a$", "destination": "backend", "sourcce": 1}]}));
    assert!(
        m.contains("routes[0]") && m.contains("^/a$") && m.contains("\"sourcce\""),
        "{m}"
    );
}

#[test]
fn bad_regex_names_the_route() {
    let m = message(json!({"routes": [
        {"source": "^/ok$", "destination": "backend"},
        {"source": "^/(unclosed$", "destination": "backend"}
    ]}));
    assert!(
        m.contains("routes[1]") && m.contains("^/(unclosed$") && m.contains("regular expression"),
        "{m}"
    );
}

#[test]
fn unknown_destination_names_the_route_and_the_known_ones() {
    let m = message(json!({"routes": [{"source": "^/x/(.*)$", "destination": "nowhere"}]}));
    assert!(
        m.contains("routes[0]") && m.contains("\"nowhere\"") && m.contains("backend, other"),
        "{m}"
    );
}

#[test]
fn security_relevant_unsupported_keys_are_errors_others_warnings() {
    let m = message(
        json!({"routes": [{"source": "^/", "destination": "backend", "identityProvider": "corp"}]}),
    );
    assert!(m.contains("identityProvider"), "{m}");
    let m = message(json!({"routes": [{"source": "^/", "service": "html5-apps-repo-rt"}]}));
    assert!(
        m.contains("html5-apps-repo-rt") && m.contains("not supported"),
        "{m}"
    );
    let m = message(
        json!({"routes": [{"source": "^/", "destination": "backend", "authenticationType": "basic"}]}),
    );
    assert!(m.contains("\"basic\""), "{m}");
    let m = message(
        json!({"routes": [{"source": "^/", "destination": "backend", "authenticationType": "none", "scope": "x"}]}),
    );
    assert!(m.contains("scope"), "{m}");

    let app = ctx_parse(json!({
        "websockets": {"enabled": true},
        "routes": [{"source": "^/", "destination": "backend", "dynamicIdentityProvider": true}]
    }))
    .unwrap();
    assert!(app.websockets_enabled);
    let all = app.warnings.join("\n");
    assert!(!all.contains("websockets"), "websockets are proxied: {all}");
    assert!(
        all.contains("dynamicIdentityProvider"),
        "a warning names dynamicIdentityProvider: {all}"
    );
}

#[test]
fn scopes_as_string_array_and_per_method_with_xsappname() {
    let app = ctx_parse(json!({"routes": [
        {"source": "^/a", "destination": "backend", "scope": "$XSAPPNAME.Read"},
        {"source": "^/b", "destination": "backend", "scope": {"GET": "$XSAPPNAME.Read", "POST": ["$XSAPPNAME.Write", "$XSAPPNAME.Admin"], "default": "$XSAPPNAME.Admin"}},
        {"source": "^/c", "destination": "backend", "scope": {"DELETE": "$XSAPPNAME.Admin"}}
    ]}))
    .unwrap();
    assert_eq!(
        app.routes[0].scope.required(&Method::PUT),
        ["myapp!t1.Read".to_string()]
    );
    assert_eq!(
        app.routes[1].scope.required(&Method::GET),
        ["myapp!t1.Read".to_string()]
    );
    assert_eq!(
        app.routes[1].scope.required(&Method::POST),
        ["myapp!t1.Write".to_string(), "myapp!t1.Admin".to_string()]
    );
    assert_eq!(
        app.routes[1].scope.required(&Method::PATCH),
        ["myapp!t1.Admin".to_string()]
    );
    assert!(app.routes[2].scope.required(&Method::GET).is_empty());
    assert!(
        app.warnings.iter().any(|w| w.contains("routes[2]")),
        "{:?}",
        app.warnings
    );
    let m = message(json!({"routes": [{"source": "^/", "destination": "backend", "scope": []}]}));
    assert!(m.contains("empty"), "{m}");
}

#[test]
fn csrf_defaults_follow_authentication() {
    let app = ctx_parse(json!({"routes": [
        {"source": "^/a", "destination": "backend"},
        {"source": "^/b", "destination": "backend", "csrfProtection": false},
        {"source": "^/c", "destination": "backend", "authenticationType": "none"}
    ]}))
    .unwrap();
    assert!(app.routes[0].csrf_protection);
    assert!(!app.routes[1].csrf_protection);
    assert!(!app.routes[2].csrf_protection && !app.routes[2].authenticated);

    let none = ctx_parse(json!({"authenticationMethod": "none", "routes": [{"source": "^/a", "destination": "backend"}]})).unwrap();
    assert!(!none.routes[0].authenticated);
}

#[test]
fn a_target_referring_to_a_missing_group_is_kept_as_text_with_a_warning() {
    // JavaScript's replace leaves such a `$2` as it is, and so does @sap/approuter.
    let app = ctx_parse(
        json!({"routes": [{"source": "^/(a)$", "target": "$2", "destination": "backend"}]}),
    )
    .unwrap();
    assert!(
        app.warnings.iter().any(|w| w.contains("$2")),
        "{:?}",
        app.warnings
    );
    assert_eq!(
        app.routes[0].source.replace("/a", "$2").as_deref(),
        Some("$2")
    );
}

#[test]
fn logout_and_login_settings() {
    let app = ctx_parse(json!({
        "logout": {"logoutEndpoint": "/do/logout", "logoutPage": "bye.html"},
        "login": {"callbackEndpoint": "/custom/callback"},
        "sessionTimeout": 30,
        "responseHeaders": [{"name": "X-Frame-Options", "value": "DENY"}],
        "routes": []
    }))
    .unwrap();
    let logout = app.logout.unwrap();
    assert_eq!(logout.endpoint, "/do/logout");
    assert_eq!(logout.page.as_deref(), Some("/bye.html"));
    assert_eq!(app.callback_endpoint, "/custom/callback");
    assert_eq!(app.session_timeout, Some(Duration::from_secs(1800)));
    assert_eq!(app.response_headers[0].0, "x-frame-options");
    let m = message(json!({"sessionTimeout": -1, "routes": []}));
    assert!(m.contains("sessionTimeout"), "{m}");
    let m = message(json!({"welcomeFile": "//evil.example", "routes": []}));
    assert!(m.contains("welcomeFile"), "{m}");
}

#[test]
fn local_dir_must_exist() {
    let m = message(
        json!({"routes": [{"source": "^/web/(.*)$", "localDir": "definitely-missing-dir-xyz"}]}),
    );
    assert!(
        m.contains("routes[0]") && m.contains("definitely-missing-dir-xyz"),
        "{m}"
    );
    let m =
        message(json!({"routes": [{"source": "^/", "localDir": ".", "destination": "backend"}]}));
    assert!(m.contains("both"), "{m}");
}

#[test]
fn keys_of_real_files_are_accepted_with_what_is_not_done() {
    let app = ctx_parse(json!({
        "stateProtection": false,
        "logout": {"logoutEndpoint": "/logout", "backChannelLogoutEndpoint": "/bc"},
        "routes": [
            {"source": "^/user-api(.*)", "target": "$1", "service": "sap-approuter-userapi", "endpoint": "x"},
            {"source": "^/(?!api/).*$", "destination": "backend", "setBackendSessionCookies": true},
            {"source": "^/api/(a)$", "target": "/$3", "destination": "backend"}
        ]
    }))
    .unwrap();
    assert_eq!(app.routes[0].kind, RouteKind::UserApi);
    assert!(app.routes[1].source.is_match("/web/x") && !app.routes[1].source.is_match("/api/x"));
    assert!(
        app.routes[1].set_backend_session_cookies && !app.routes[2].set_backend_session_cookies
    );
    for expected in [
        "stateProtection",
        "backChannelLogoutEndpoint",
        "endpoint",
        "$3",
    ] {
        assert!(
            app.warnings.iter().any(|w| w.contains(expected)),
            "no warning about {expected}: {:?}",
            app.warnings
        );
    }
    let m = message(
        json!({"routes": [{"source": "^/u", "service": "sap-approuter-userapi", "destination": "backend"}]}),
    );
    assert!(m.contains("only one"), "{m}");
    let m =
        message(json!({"routes": [{"source": "^/u", "destination": "backend", "endpoint": "e"}]}));
    assert!(m.contains("no service"), "{m}");
}

#[test]
fn websockets_and_set_backend_session_cookies_are_validated() {
    assert!(
        !ctx_parse(json!({"routes": []})).unwrap().websockets_enabled,
        "off by default, as SAP"
    );
    for (bad, names) in [
        (json!({"websockets": true}), "websockets must be"),
        (json!({"websockets": {}}), "websockets.enabled must be"),
        (
            json!({"websockets": {"enabled": "yes"}}),
            "websockets.enabled must be",
        ),
        (
            json!({"websockets": {"enabled": true, "idle": 5}}),
            "websockets: unknown key \"idle\"",
        ),
        (
            json!({"routes": [{"source": "^/", "destination": "backend", "setBackendSessionCookies": "yes"}]}),
            "setBackendSessionCookies must be true or false",
        ),
    ] {
        let e = ctx_parse(bad).unwrap_err().to_string();
        assert!(e.starts_with("xs-app.json") && e.contains(names), "{e}");
    }
}

fn parse_in(dir: &Path, value: serde_json::Value) -> Result<XsApp, Error> {
    let destinations: HashSet<String> = ["backend".to_string()].into();
    parse(
        &value.to_string(),
        &Context {
            origin: "xs-app.json",
            destinations: &destinations,
            destination_service: false,
            xsappname: Some("myapp!t1"),
            base_dir: dir,
        },
    )
}

#[test]
fn a_resources_folder_gets_the_implicit_route_only_without_local_dir_routes() {
    let dir = tempfile::tempdir().unwrap();
    let api = json!({"source": "^/api/", "destination": "backend"});
    let app = parse_in(dir.path(), json!({"routes": [api]})).unwrap();
    assert_eq!(app.routes.len(), 1, "no resources folder, no route");

    std::fs::create_dir(dir.path().join("resources")).unwrap();
    let app = parse_in(dir.path(), json!({"routes": [api]})).unwrap();
    assert_eq!(app.routes.len(), 2);
    let implicit = &app.routes[1];
    assert!(implicit.implicit && implicit.authenticated && implicit.csrf_protection);
    assert_eq!(implicit.source.as_str(), "^/(.*)");
    assert!(matches!(&implicit.kind, RouteKind::LocalDir(p) if p.ends_with("resources")));

    let with_local = json!({"source": "^/web/", "localDir": "resources"});
    let app = parse_in(dir.path(), json!({"routes": [api, with_local]})).unwrap();
    assert_eq!(app.routes.len(), 2, "a localDir route: nothing added");
    assert!(!app.routes.iter().any(|r| r.implicit));
}

#[test]
fn cors_compression_error_pages_and_replace_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("web")).unwrap();
    std::fs::write(dir.path().join("oops.html"), "oops").unwrap();
    let app = parse_in(
        dir.path(),
        json!({
            "cors": [{"uriPattern": "^/api/", "allowedOrigin": [{"host": "ui.example"}]}],
            "compression": {"minSize": 2048},
            "errorPage": [{"status": 404, "file": "oops.html"}],
            "routes": [{"source": "^/(.*)$", "localDir": "web", "replace": {"pathSuffixes": ["index.html"], "vars": ["TITLE"]}}]
        }),
    )
    .unwrap();
    assert_eq!(app.cors.len(), 1);
    assert_eq!(app.compression.min_size, Some(2048));
    assert!(!app.error_pages.is_empty());
    assert_eq!(
        app.routes[0].replace.as_ref().map(|r| r.vars.clone()),
        Some(vec!["TITLE".to_string()])
    );
    assert!(app.warnings.is_empty(), "{:?}", app.warnings);

    for (value, part) in [
        (
            json!({"cors": [{"uriPattern": "^/"}]}),
            "xs-app.json: cors[0]: allowedOrigin",
        ),
        (
            json!({"compression": {"minSize": -1}}),
            "xs-app.json: compression: minSize",
        ),
        (
            json!({"errorPage": [{"status": 404, "file": "nope.html"}]}),
            "xs-app.json: errorPage[0]: file \"nope.html\"",
        ),
        (
            json!({"routes": [{"source": "^/", "destination": "backend", "replace": {"pathSuffixes": ["a"]}}]}),
            "replace needs a localDir",
        ),
        (
            json!({"routes": [{"source": "^/", "localDir": "web", "replace": {"pathSuffixes": "a"}}]}),
            "replace.pathSuffixes",
        ),
    ] {
        let e = parse_in(dir.path(), value).unwrap_err().to_string();
        assert!(e.contains(part), "{e}");
    }
}

#[test]
fn logout_method_and_csrf_protection_follow_sap_rules() {
    let route = json!([{"source": "^/(.*)$", "destination": "backend"}]);
    let post = ctx_parse(json!({
        "logout": {"logoutEndpoint": "/out", "logoutMethod": "POST"},
        "routes": route,
    }))
    .unwrap();
    let logout = post.logout.unwrap();
    assert_eq!(logout.method, Some(Method::POST));
    assert!(
        logout.csrf_protection,
        "CSRF protection is on by default for a POST logout"
    );
    let off = ctx_parse(json!({
        "logout": {"logoutEndpoint": "/out", "logoutMethod": "POST", "csrfProtection": false},
        "routes": route,
    }))
    .unwrap();
    assert!(!off.logout.unwrap().csrf_protection);
    let msg = message(json!({
        "logout": {"logoutEndpoint": "/out", "csrfProtection": true},
        "routes": route,
    }));
    assert!(
        msg.contains("xs-app.json")
            && msg.contains("logout.csrfProtection needs logout.logoutMethod \"POST\""),
        "{msg}"
    );
}

#[test]
fn backend_logout_paths_are_validated() {
    let route = json!([{"source": "^/(.*)$", "destination": "backend"}]);
    let app = ctx_parse(json!({
        "destinations": {"backend": {"logoutPath": "/sap/logout", "logoutMethod": "GET"}, "other": {}},
        "routes": route,
    }))
    .unwrap();
    assert_eq!(
        app.backend_logout,
        vec![BackendLogout {
            destination: "backend".into(),
            path: "/sap/logout".into(),
            method: Method::GET,
        }]
    );
    for (value, expected) in [
        (
            json!({"nope": {"logoutPath": "/x"}}),
            "destinations.nope: destination \"nope\" is not defined",
        ),
        (
            json!({"backend": {"logoutPath": "https://evil.example/x"}}),
            "destinations.backend.logoutPath",
        ),
        (
            json!({"backend": {"logoutMethod": "DELETE"}}),
            "destinations.backend.logoutMethod must be",
        ),
        (
            json!({"backend": {"logoutPth": "/x"}}),
            "unknown key \"logoutPth\"",
        ),
    ] {
        let msg = message(json!({"destinations": value, "routes": route}));
        assert!(
            msg.starts_with("xs-app.json: ") && msg.contains(expected),
            "{msg}"
        );
    }
}

#[test]
fn a_destination_outside_the_env_needs_a_destination_service() {
    let file = json!({"routes": [{"source": "^/(.*)$", "destination": "from-service"}]});
    let msg = message(file.clone());
    assert!(msg.contains("no Destination service is bound"), "{msg}");
    let destinations: HashSet<String> = HashSet::new();
    let dir = std::env::temp_dir();
    let app = parse(
        &file.to_string(),
        &Context {
            origin: "xs-app.json",
            destinations: &destinations,
            destination_service: true,
            xsappname: None,
            base_dir: &dir,
        },
    )
    .unwrap();
    assert_eq!(app.routes[0].destination(), Some("from-service"));
}

#[test]
fn a_value_of_the_wrong_shape_is_refused_naming_the_key() {
    let route = |key: &str, value: serde_json::Value| {
        let mut route = json!({"source": "^/(a)$", "destination": "backend"});
        route[key] = value;
        json!({"routes": [route]})
    };
    let here = "xs-app.json: routes[0] (source \"^/(a)$\")";
    for (file, expected) in [
        (json!([]), "xs-app.json: must be a JSON object".to_string()),
        (
            json!({"welcomeFile": 3}),
            "xs-app.json: welcomeFile must be a string".into(),
        ),
        (
            json!({"authenticationMethod": null}),
            "xs-app.json: authenticationMethod must be \"route\" or \"none\", not null".into(),
        ),
        (
            json!({"sessionTimeout": 1.5}),
            "xs-app.json: sessionTimeout must be a positive number of minutes up to 525600, not 1.5"
                .into(),
        ),
        (
            json!({"logout": {"logoutEndpoint": "/x", "logoutPage": 1}}),
            "xs-app.json: logout.logoutPage must be a string".into(),
        ),
        (
            json!({"login": {"callbackEndpoint": 1}}),
            "xs-app.json: login.callbackEndpoint must be a string".into(),
        ),
        (
            json!({"responseHeaders": [{"name": "a", "value": 1}]}),
            "xs-app.json: responseHeaders[0] needs string \"name\" and \"value\"".into(),
        ),
        (
            json!({"routes": [null]}),
            "xs-app.json: routes[0] must be an object".into(),
        ),
        (
            json!({"routes": [{"source": {"path": 1}, "destination": "backend"}]}),
            "xs-app.json: routes[0] (source \"?\"): source.path must be a string".into(),
        ),
        (
            route("target", json!(1)),
            format!("{here}: target must be a string"),
        ),
        (
            route("scope", json!(1)),
            format!(
                "{here}: scope: must be a string, an array of strings or an object per HTTP method"
            ),
        ),
        (
            route("scope", json!({"GET": [1]})),
            format!("{here}: scope: 1 is not a string"),
        ),
        (
            route("scope", json!({"GET": 1})),
            format!("{here}: scope: 1 is not a string or an array of strings"),
        ),
        (
            route("httpMethods", json!([1])),
            format!("{here}: httpMethods must be an array of method names"),
        ),
        (
            json!({"cors": [{"uriPattern": "^/", "allowedOrigin": [{"host": "a", "port": "abc"}]}]}),
            "xs-app.json: cors[0]: allowedOrigin[0]: port \"abc\" is not a port number".into(),
        ),
        (
            json!({"cors": [{"uriPattern": "^/", "allowedOrigin": [], "maxAge": "1"}]}),
            "xs-app.json: cors[0]: maxAge must be a positive number of seconds, not \"1\"".into(),
        ),
        (
            json!({"compression": {"minSize": "a"}}),
            "xs-app.json: compression: minSize must be a positive number of bytes, not \"a\"".into(),
        ),
        (
            json!({"errorPage": [{"status": [404, "x"], "path": "/a"}]}),
            "xs-app.json: errorPage[0]: status \"x\" is not an HTTP status".into(),
        ),
        (
            json!({"destinations": {"backend": {"logoutPath": 1}}}),
            "xs-app.json: destinations.backend.logoutPath must be a string".into(),
        ),
    ] {
        assert_eq!(message(file.clone()), expected, "{file}");
    }
}
