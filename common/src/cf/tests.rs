use super::*;

const VCAP: &str = r#"{
  "xsuaa": [{
    "name": "XsuaaForScenario", "label": "xsuaa", "plan": "application", "tags": ["xsuaa"],
    "instance_name": "XsuaaForScenario",
    "credentials": {
      "clientid": "sb-Backend-service!t6131", "clientsecret": "s3cret",
      "url": "http://127.0.0.1:8080", "uaadomain": "localhost:8443",
      "xsappname": "Backend-service!t6131", "identityzone": "scenario",
      "identityzoneid": "zone-1", "tenantid": "zone-1", "zoneid": "zone-1",
      "verificationkey": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
      "tenantmode": "dedicated"
    }
  }],
  "destination": [{
    "name": "mydestination", "label": "destination", "plan": "lite",
    "tags": ["destination", "conn", "connsvc"],
    "credentials": {
      "clientid": "sb-clone-dest!b1", "clientsecret": "dsecret",
      "uri": "http://127.0.0.1:8081", "url": "http://127.0.0.1:8080",
      "uaadomain": "localhost:8443", "xsappname": "clone-dest!b1", "identityzone": "scenario", "tenantid": "zone-1"
    }
  }],
  "redis-cache": [{
    "name": "sessions", "label": "redis-cache", "plan": "standard", "tags": ["cache"],
    "credentials": {"hostname": "10.0.0.1", "port": 1234, "password": "p@ss/word", "tls": true}
  }]
}"#;

fn vcap() -> VcapServices {
    VcapServices::parse(VCAP).unwrap()
}

#[test]
fn typed_xsuaa_credentials() {
    let x = vcap().xsuaa().unwrap();
    assert_eq!(x.clientid, "sb-Backend-service!t6131");
    assert_eq!(x.clientsecret.expose(), "s3cret");
    assert_eq!(x.token_url(), "http://127.0.0.1:8080/oauth/token");
    assert_eq!(x.authorize_url(), "http://127.0.0.1:8080/oauth/authorize");
    assert_eq!(x.zone_id(), Some("zone-1"));
    assert_eq!(x.tenantmode.as_deref(), Some("dedicated"));
    assert!(!format!("{x:?}").contains("s3cret"));
}

#[test]
fn typed_destination_credentials() {
    let d = vcap().destination().unwrap();
    assert_eq!(d.uri, "http://127.0.0.1:8081");
    assert_eq!(d.url, "http://127.0.0.1:8080");
    assert_eq!(d.clientsecret.expose(), "dsecret");
    assert_eq!(d.xsappname.as_deref(), Some("clone-dest!b1"));
}

#[test]
fn find_by_name_then_label_then_tag() {
    let v = vcap();
    assert_eq!(v.find("XsuaaForScenario").unwrap().label, "xsuaa");
    assert_eq!(v.find("destination").unwrap().name, "mydestination");
    assert_eq!(v.find("connsvc").unwrap().name, "mydestination");
    assert_eq!(v.find("cache").unwrap().name, "sessions");
    assert!(v.find("nothing").is_none());
    assert_eq!(v.bindings().count(), 3);
}

#[test]
fn name_wins_over_label() {
    let v = VcapServices::parse(
        r#"{"xsuaa":[{"name":"a","credentials":{}}],"user-provided":[{"name":"xsuaa","credentials":{}}]}"#,
    )
    .unwrap();
    assert_eq!(v.find("xsuaa").unwrap().label, "user-provided");
    // label defaults to the VCAP_SERVICES key
    assert_eq!(v.find("a").unwrap().label, "xsuaa");
}

#[test]
fn redis_uri_from_credentials() {
    assert_eq!(
        vcap().redis_uri().as_deref(),
        Some("rediss://:p%40ss%2Fword@10.0.0.1:1234")
    );
    let v = VcapServices::parse(r#"{"redis":[{"name":"r","credentials":{"uri":"redis://h:1"}}]}"#)
        .unwrap();
    assert_eq!(v.redis_uri().as_deref(), Some("redis://h:1"));
    let v = VcapServices::parse(r#"{"xsuaa":[]}"#).unwrap();
    assert_eq!(v.redis_uri(), None);
}

fn err(json: &str) -> String {
    match VcapServices::parse(json) {
        Err(e) => e.to_string(),
        Ok(v) => v
            .xsuaa()
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string()),
    }
}

#[test]
fn malformed_json_names_the_variable() {
    assert_eq!(
        err("{not json"),
        "VCAP_SERVICES: invalid JSON: key must be a string at line 1 column 2"
    );
    assert_eq!(
        err(r#"{"xsuaa":{}}"#),
        "VCAP_SERVICES: label \"xsuaa\": expected an array of bindings"
    );
    assert_eq!(
        err("[]"),
        "VCAP_SERVICES: invalid JSON: invalid type: sequence, expected a map at line 1 column 0"
    );
    assert_eq!(
        err(r#"{"xsuaa":[{"label":"xsuaa"}]}"#),
        "VCAP_SERVICES: binding 1 of label \"xsuaa\": missing field `name`"
    );
}

#[test]
fn missing_binding_lists_what_is_bound() {
    let v = VcapServices::parse(
        r#"{"xsuaa":[{"name":"XsuaaForScenario","credentials":{"clientid":"c","clientsecret":"s","url":"http://x","uaadomain":"d","xsappname":"a"}}]}"#,
    )
    .unwrap();
    assert_eq!(
        v.destination().unwrap_err().to_string(),
        "VCAP_SERVICES: no service binding with label or tag \"destination\" (bound: XsuaaForScenario (xsuaa))"
    );
    assert_eq!(
        VcapServices::parse("{}")
            .unwrap()
            .xsuaa()
            .unwrap_err()
            .to_string(),
        "VCAP_SERVICES: no service binding with label or tag \"xsuaa\" (bound: none)"
    );
}

#[test]
fn two_xsuaa_bindings_are_ambiguous() {
    let v = VcapServices::parse(
        r#"{"xsuaa":[{"name":"a","credentials":{}},{"name":"b","credentials":{}}]}"#,
    )
    .unwrap();
    assert_eq!(
        v.xsuaa().unwrap_err().to_string(),
        "VCAP_SERVICES: more than one service binding with label or tag \"xsuaa\" (a (xsuaa), b (xsuaa))"
    );
}

#[test]
fn missing_and_invalid_fields_are_named() {
    let base = r#"{"xsuaa":[{"name":"XsuaaForScenario","credentials":CREDS}]}"#;
    let with = |creds: &str| err(&base.replace("CREDS", creds));
    assert_eq!(
        with(r#"{"clientsecret":"s","url":"http://x","uaadomain":"d","xsappname":"a"}"#),
        "VCAP_SERVICES: binding \"XsuaaForScenario\" (label xsuaa): missing field \"clientid\""
    );
    assert_eq!(
        with(
            r#"{"clientid":5,"clientsecret":"s","url":"http://x","uaadomain":"d","xsappname":"a"}"#
        ),
        "VCAP_SERVICES: binding \"XsuaaForScenario\" (label xsuaa): field \"clientid\": expected a string"
    );
    assert_eq!(
        with(r#"{"clientid":"c","clientsecret":"s","url":"nope","uaadomain":"d","xsappname":"a"}"#),
        "VCAP_SERVICES: binding \"XsuaaForScenario\" (label xsuaa): field \"url\": not a URL (relative URL without a base)"
    );
    assert_eq!(
        with(
            r#"{"clientid":"c","clientsecret":"","url":"http://x","uaadomain":"d","xsappname":"a"}"#
        ),
        "VCAP_SERVICES: binding \"XsuaaForScenario\" (label xsuaa): field \"clientsecret\": is empty"
    );
    assert_eq!(
        with(
            r#"{"clientid":"c","clientsecret":"s","url":"http://x","uaadomain":"d","xsappname":"a","tenantid":7}"#
        ),
        "VCAP_SERVICES: binding \"XsuaaForScenario\" (label xsuaa): field \"tenantid\": expected a string"
    );
    assert_eq!(
        err(r#"{"xsuaa":[{"name":"XsuaaForScenario"}]}"#),
        "VCAP_SERVICES: binding \"XsuaaForScenario\" (label xsuaa): missing field \"credentials\""
    );
}

#[test]
fn port_default_value_and_error() {
    let vars = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    };
    assert_eq!(port_from_vars(vars(&[]), 5000).unwrap(), 5000);
    assert_eq!(
        port_from_vars(vars(&[("PORT", "8080"), ("OTHER", "x")]), 5000).unwrap(),
        8080
    );
    assert_eq!(port_from_vars(vars(&[("PORT", "0")]), 5000).unwrap(), 0);
    assert_eq!(
        port_from_vars(vars(&[("PORT", "http")]), 5000)
            .unwrap_err()
            .to_string(),
        "PORT: \"http\" is not a port number (0-65535)"
    );
    assert_eq!(
        port_from_vars(vars(&[("PORT", "70000")]), 5000)
            .unwrap_err()
            .to_string(),
        "PORT: \"70000\" is not a port number (0-65535)"
    );
}

#[test]
fn vcap_application() {
    let app = VcapApplication::parse(
        r#"{"application_name":"bsclient","application_uris":["bsclient.cfapps.eu10.hana.ondemand.com"],"space_name":"dev","organization_name":"org","limits":{"mem":256}}"#,
    )
    .unwrap();
    assert_eq!(app.application_name.as_deref(), Some("bsclient"));
    assert_eq!(app.application_uris.len(), 1);
    assert_eq!(
        VcapApplication::parse("[").unwrap_err().to_string(),
        "VCAP_APPLICATION: invalid JSON: EOF while parsing a list at line 1 column 1"
    );
}

mod destinations_env {
    use super::super::parse_destinations;
    use std::time::Duration;

    #[test]
    fn parses_entries_with_defaults() {
        let d = parse_destinations(
            r#"[{"name":"destination_client","url":"http://127.0.0.1:9000","forwardAuthToken":true,"timeout":60000},
                {"name":"plain","url":"https://example.org/api","strictSSL":false,"proxyHost":"proxy","proxyPort":"3128","proxyType":"Internet"}]"#,
        )
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "destination_client");
        assert_eq!(d[0].url.as_str(), "http://127.0.0.1:9000/");
        assert!(d[0].forward_auth_token);
        assert_eq!(d[0].timeout, Some(Duration::from_secs(60)));
        assert!(d[0].strict_ssl && d[0].set_x_forwarded_headers && !d[0].preserve_host_header);
        assert!(!d[1].forward_auth_token && !d[1].strict_ssl);
        assert_eq!(d[1].proxy_host.as_deref(), Some("proxy"));
        assert_eq!(d[1].proxy_port, Some(3128));
        assert_eq!(d[1].timeout, None);
    }

    #[test]
    fn html5_spelling_of_forward_auth_token() {
        let d = parse_destinations(
            r#"[{"name":"a","url":"http://h","HTML5.ForwardAuthToken":"true"}]"#,
        )
        .unwrap();
        assert!(d[0].forward_auth_token);
        assert!(parse_destinations("[]").unwrap().is_empty());
    }

    fn err(json: &str) -> String {
        parse_destinations(json).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_entry_and_key() {
        assert_eq!(
            err(r#"[{"name":"backend","url":"http://h","forwardAuthtoken":true}]"#),
            "destinations: entry 1 (\"backend\"): unknown key \"forwardAuthtoken\""
        );
        assert_eq!(
            err(r#"[{"url":"http://h"}]"#),
            "destinations: entry 1: missing \"name\""
        );
        assert_eq!(
            err(r#"[{"name":"a","url":"http://h"},{"name":"b"}]"#),
            "destinations: entry 2 (\"b\"): missing \"url\""
        );
        assert_eq!(
            err(r#"[{"name":"a","url":"localhost:5000/x"}]"#),
            "destinations: entry 1 (\"a\"): \"url\" must be http or https: \"localhost:5000/x\""
        );
        assert_eq!(
            err(r#"[{"name":"a","url":"/relative"}]"#),
            "destinations: entry 1 (\"a\"): \"url\" is not a valid URL (relative URL without a base): \"/relative\""
        );
        assert_eq!(
            err(r#"[{"name":"a","url":"http://h"},{"name":"a","url":"http://i"}]"#),
            "destinations: entry 2 (\"a\"): duplicate name, already used by entry 1"
        );
        assert_eq!(
            err(r#"[{"name":"a","url":"http://h","timeout":"soon"}]"#),
            "destinations: entry 1 (\"a\"): \"timeout\" must be a non-negative integer, got \"soon\""
        );
        assert_eq!(
            err(r#"[{"name":"a","url":"http://h","forwardAuthToken":"yes"}]"#),
            "destinations: entry 1 (\"a\"): \"forwardAuthToken\" must be true or false, got \"yes\""
        );
        assert_eq!(
            err(r#"[{"name":"a","url":"http://h","proxyPort":99999}]"#),
            "destinations: entry 1 (\"a\"): \"proxyPort\" 99999 is not a port number"
        );
        assert_eq!(
            err(r#"{"name":"a"}"#),
            "destinations: expected a JSON array of destinations"
        );
        assert_eq!(err("[1]"), "destinations: entry 1: expected a JSON object");
        assert_eq!(
            err("[{"),
            "destinations: invalid JSON: EOF while parsing an object at line 1 column 2"
        );
    }
}
