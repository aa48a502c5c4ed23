use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Debug, PartialEq)]
struct Tok {
    value: usize,
    expires_at: Instant,
}

impl Expiring for Tok {
    fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

fn hour() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// A fetch that counts its calls and returns that count as the token value.
fn counting(
    calls: &Arc<AtomicUsize>,
    expires_at: Instant,
) -> impl FnOnce() -> BoxFuture<'static, Result<Tok, String>> {
    let calls = calls.clone();
    move || {
        async move {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Tok {
                value: n,
                expires_at,
            })
        }
        .boxed()
    }
}

/// The value `cache` hands out for `key`: the cached token's, or a new one from [`counting`]
/// (valid until `expires_at`).
async fn value_of<K>(
    cache: &TokenCache<K, Tok>,
    key: K,
    max_age: Option<Duration>,
    calls: &Arc<AtomicUsize>,
    expires_at: Instant,
) -> usize
where
    K: Eq + std::hash::Hash + Clone + Send + Sync + 'static,
{
    cache
        .get_or_fetch(key, max_age, counting(calls, expires_at))
        .await
        .unwrap()
        .value
}

#[tokio::test]
async fn hundred_concurrent_gets_share_one_fetch() {
    let cache: TokenCache<&str, Tok> = TokenCache::new(Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = tokio::sync::watch::channel(false);
    let started = Arc::new(AtomicUsize::new(0));

    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (cache, calls, started, mut gate) =
            (cache.clone(), calls.clone(), started.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            started.fetch_add(1, Ordering::SeqCst);
            cache
                .get_or_fetch("k", None, move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    // Held until every caller has joined, so the flight is shared rather than cached.
                    gate.wait_for(|open| *open)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>(Tok {
                        value: 7,
                        expires_at: hour(),
                    })
                })
                .await
        }));
    }
    // current-thread runtime: a task joins the flight in the same poll that counts it as started
    while started.load(Ordering::SeqCst) < 100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.len(), 1);
    open.send(true).unwrap();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().value, 7);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // and the value is now cached
    let again = value_of(&cache, "k", None, &calls, hour()).await;
    assert_eq!(again, 7);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn expired_entry_is_fetched_again() {
    let cache: TokenCache<u8, Tok> = TokenCache::new(Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    // Expires within the margin: usable for the caller that fetched it, stale for the next one.
    let soon = Instant::now() + Duration::from_secs(30);
    assert_eq!(value_of(&cache, 1, None, &calls, soon).await, 1);
    assert_eq!(value_of(&cache, 1, None, &calls, hour()).await, 2);
    assert_eq!(value_of(&cache, 1, None, &calls, hour()).await, 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn max_age_bounds_the_entry() {
    let cache: TokenCache<u8, Tok> = TokenCache::new(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    value_of(&cache, 1, None, &calls, hour()).await;
    let v = value_of(&cache, 1, Some(Duration::from_secs(600)), &calls, hour()).await;
    assert_eq!(v, 1, "young enough for a 10 minute max_age");
    let v = value_of(&cache, 1, Some(Duration::ZERO), &calls, hour()).await;
    assert_eq!(v, 2, "a zero max_age always fetches");
}

#[tokio::test]
async fn failed_fetch_is_shared_but_not_cached() {
    let cache: TokenCache<u8, Tok> = TokenCache::new(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = tokio::sync::watch::channel(false);
    let failing = {
        let (calls, mut gate) = (calls.clone(), gate.clone());
        move || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let _ = gate.wait_for(|o| *o).await;
            Err::<Tok, String>("invalid_client".into())
        }
    };
    let first = cache.get_or_fetch(1, None, failing);
    let second = cache.get_or_fetch(1, None, counting(&calls, hour()));
    let (a, b, _) = tokio::join!(first, second, async { open.send(true).unwrap() });
    assert_eq!(a.unwrap_err(), "invalid_client");
    assert_eq!(b.unwrap_err(), "invalid_client");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(cache.is_empty());
    assert_eq!(value_of(&cache, 1, None, &calls, hour()).await, 2);
}

#[tokio::test]
async fn cancelled_first_caller_does_not_cancel_the_fetch() {
    let cache: TokenCache<u8, Tok> = TokenCache::new(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = tokio::sync::watch::channel(false);
    let fetch = {
        let (calls, mut gate) = (calls.clone(), gate.clone());
        move || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let _ = gate.wait_for(|o| *o).await;
            Ok::<_, String>(Tok {
                value: 42,
                expires_at: hour(),
            })
        }
    };
    {
        let first = cache.get_or_fetch(1, None, fetch);
        futures::pin_mut!(first);
        // one poll starts the flight, then the caller goes away
        assert!(futures::poll!(first.as_mut()).is_pending());
    }
    let waiter = cache.get_or_fetch(1, None, counting(&calls, hour()));
    let (v, _) = tokio::join!(waiter, async { open.send(true).unwrap() });
    assert_eq!(v.unwrap().value, 42);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn invalidate_forces_a_new_fetch() {
    let cache: TokenCache<u8, Tok> = TokenCache::new(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    value_of(&cache, 1, None, &calls, hour()).await;
    cache.invalidate(&1);
    assert_eq!(value_of(&cache, 1, None, &calls, hour()).await, 2);
}

#[tokio::test]
async fn expired_entries_are_swept_as_the_map_grows() {
    let cache: TokenCache<usize, Tok> = TokenCache::new(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    let past = Instant::now();
    for key in 0..1000 {
        value_of(&cache, key, None, &calls, past).await;
    }
    assert!(cache.len() <= MIN_SWEEP_AT, "len {}", cache.len());
    for key in 0..200 {
        value_of(&cache, key, None, &calls, hour()).await;
    }
    assert!(cache.len() >= 200, "live entries stay: {}", cache.len());
}

#[tokio::test]
async fn different_keys_fetch_separately() {
    let cache: TokenCache<String, Tok> = TokenCache::new(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    let a = value_of(&cache, "zone/alice".into(), None, &calls, hour()).await;
    let b = value_of(&cache, "zone/bob".into(), None, &calls, hour()).await;
    assert_ne!(a, b);
    assert_eq!(cache.len(), 2);
}
