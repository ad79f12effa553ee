//! The per-token rate limit: a bucket of 100 refilled at 30 per second. Assertions allow for
//! however long the requests took (the refill during the test), never for a tight timing.

use std::time::{Duration, Instant};

use crate::harness::*;

const BURST: u64 = 100;
const PER_SECOND: f64 = 30.0;

/// A run of sequential requests that ended with the first 429.
struct Run {
    /// Requests allowed before the 429.
    successes: u64,
    /// The 429.
    limited: Reply,
    /// Seconds from sending the first request to receiving the 429.
    elapsed: f64,
    /// When the refused request was sent (no later than the bucket ran dry).
    limited_sent: Instant,
    /// `x-ratelimit-remaining` of each success.
    remaining: Vec<u64>,
}

/// Send requests one after the other until the first 429.
async fn until_limited(api: &Api) -> Run {
    let started = Instant::now();
    let mut remaining = Vec::new();
    for _ in 0..10_000 {
        let sent = Instant::now();
        let reply = api.get("/v1/tokenInfo").await;
        if reply.status == 429 {
            return Run {
                successes: remaining.len() as u64,
                limited: reply,
                elapsed: started.elapsed().as_secs_f64(),
                limited_sent: sent,
                remaining,
            };
        }
        reply.expect(200);
        assert_eq!(reply.header("x-ratelimit-limit"), Some("100"));
        remaining.push(
            reply
                .header("x-ratelimit-remaining")
                .and_then(|v| v.parse().ok())
                .expect("x-ratelimit-remaining is a number"),
        );
    }
    panic!("10000 requests in a row were never limited");
}

/// The most a bucket holding `start` may allow in `elapsed` seconds.
fn most_allowed(start: f64, elapsed: f64) -> u64 {
    (start + PER_SECOND * elapsed + 1.0) as u64
}

#[tokio::test]
async fn a_token_gets_a_burst_of_100_then_429_with_retry_after_and_refills_at_about_30_per_second()
{
    let server = Server::start();
    let owner = server.api();
    let (_, token) = server.new_account("busy@example.com").await;
    let api = server.api_as(&token);

    let Run {
        successes,
        limited,
        elapsed,
        limited_sent,
        remaining,
    } = until_limited(&api).await;
    assert!(
        successes >= BURST,
        "at least the burst of {BURST} is allowed, got {successes}"
    );
    assert!(
        successes <= most_allowed(BURST as f64, elapsed),
        "{successes} successes in {elapsed:.2} s is more than a bucket of {BURST} refilled at {PER_SECOND}/s allows"
    );
    assert_eq!(remaining[0], BURST - 1, "a fresh bucket after one request");
    assert!(
        remaining.last().copied().unwrap_or(BURST) <= 1,
        "the bucket ran dry: {remaining:?}"
    );
    assert!(
        remaining.first() > remaining.last(),
        "the budget goes down: {remaining:?}"
    );

    let problems = limited.expect_error(429, "rate_limited");
    assert_eq!(problems.len(), 1);
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("x-ratelimit-limit"), Some("100"));

    // Another token has its own bucket.
    let reply = owner.get("/v1/tokenInfo").await;
    reply.expect(200);
    let owner_remaining: u64 = reply
        .header("x-ratelimit-remaining")
        .and_then(|v| v.parse().ok())
        .expect("x-ratelimit-remaining");
    assert!(
        owner_remaining >= BURST - 3,
        "the owner's budget is its own: {owner_remaining}"
    );
    // Requests without a valid token are refused for that reason, not for a budget.
    server
        .anonymous()
        .get("/v1/tokenInfo")
        .await
        .expect_error(401, "unauthorized");

    // After a second the bucket holds about 30 again. The bound counts from when the refused
    // request was sent, which is no later than the moment the bucket ran dry.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refill = until_limited(&api).await;
    let since_dry = limited_sent.elapsed().as_secs_f64();
    refill.limited.expect_error(429, "rate_limited");
    assert!(
        refill.successes >= 25,
        "only {} requests after a 1 s refill",
        refill.successes
    );
    assert!(
        refill.successes <= most_allowed(0.0, since_dry),
        "{} requests within {since_dry:.2} s of running dry: more than {PER_SECOND}/s",
        refill.successes
    );
    owner.get("/v1/tokenInfo").await.expect(200);
}

#[tokio::test]
async fn every_authenticated_response_tells_the_remaining_budget() {
    let server = Server::start();
    let api = server.api();
    let started = Instant::now();
    let replies = [
        api.get("/v1/tokenInfo").await,
        api.get("/v1/exports").await,
        api.post("/v1/exports", &json!({"name": "E"})).await,
        api.get(&format!("/v1/exports/{MISSING_ID}")).await,
        api.post("/v1/exports", &json!({"pageSize": "x"})).await,
        api.send(
            Method::POST,
            "/v1/exports",
            Some(("text/plain", b"x".to_vec())),
        )
        .await,
        api.get("/v1/state").await,
    ];
    let elapsed = started.elapsed().as_secs_f64();
    let mut budgets = Vec::new();
    for reply in &replies {
        assert_eq!(
            reply.header("x-ratelimit-limit"),
            Some("100"),
            "{}",
            reply.request
        );
        let remaining: u64 = reply
            .header("x-ratelimit-remaining")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{} has no x-ratelimit-remaining", reply.request));
        budgets.push(remaining);
    }
    assert!(budgets[0] <= 99, "{budgets:?}");
    let spent = budgets[0] as f64 - budgets[budgets.len() - 1] as f64;
    assert!(
        spent + PER_SECOND * elapsed + 1.0 >= (replies.len() - 1) as f64,
        "each request is charged: {budgets:?} over {elapsed:.2} s"
    );
    // openapi.json needs no token and is not charged.
    server.anonymous().get("/v1/openapi.json").await.expect(200);
}

#[tokio::test]
async fn without_the_rate_limit_no_request_is_refused() {
    let server = Server::start_unlimited();
    let api = server.api();
    for _ in 0..150 {
        api.get("/v1/tokenInfo").await.expect(200);
    }
}
