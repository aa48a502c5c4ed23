//! The routers served on listeners of one's own (as other crates' tests may do).

use mock_platform::{MockConfig, PlatformState, Urls};
use serde_json::Value;

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test]
async fn routers_from_state_serve_a_working_platform() {
    let xsuaa = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let urls = Urls {
        xsuaa: format!("http://{}", xsuaa.local_addr().unwrap()),
        xsuaa_tls: None,
        destination: "http://127.0.0.1:9".into(),
        backend: format!("http://{}", backend.local_addr().unwrap()),
    };
    let state = PlatformState::from_config(&MockConfig::builtin(), urls.clone()).unwrap();
    let app = state.model.bound_apps().next().unwrap().clone();
    let (x, b) = (
        mock_platform::xsuaa_router(state.clone()),
        mock_platform::backend_router(state.clone()),
    );
    tokio::spawn(async move { axum::serve(xsuaa, x).await.unwrap() });
    tokio::spawn(async move { axum::serve(backend, b).await.unwrap() });
    let _ = serve(mock_platform::destination_router(state.clone())).await;

    let http = reqwest::Client::new();
    let token: Value = testkit::tokens::password_grant(
        &urls.xsuaa,
        &app.client_id,
        &app.client_secret,
        "alice",
        "alice-pass",
    )
    .await
    .json()
    .await
    .unwrap();
    let products = http
        .get(format!(
            "{}/odata/v2/ProductService/Products?$format=json",
            urls.backend
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(products.status(), reqwest::StatusCode::OK);
    assert_eq!(state.stats.backend.get("reads"), 1);
}
