//! The per-token rate limit: a bucket of 100 refilled at 30 per second. Assertions allow for
//! however long the requests took (the refill during the test), never for a tight timing.

use std::time::{Duration, Instant};

use crate::harness::*;

const BURST: u64 = 100;
const PER_SECOND: f64 = 30.0;

/// Send requests one after the other until the first 429; (successes, the 429, elapsed
/// seconds, `x-ratelimit-remaining` of each success).
async fn until_limited(api: &Api) -> (u64, Reply, f64, Vec<u64>) {
    let started = Instant::now();
    let mut remaining = Vec::new();
    for _ in 0..10_000 {
        let reply = api.get("/v1/tokenInfo").await;
        if reply.status == 429 {
            let successes = remaining.len() as u64;
            return (successes, reply, started.elapsed().as_secs_f64(), remaining);
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

    let (successes, limited, elapsed, remaining) = until_limited(&api).await;
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

    // After a second the bucket holds about 30 again.
    let limited_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (refilled, limited, _, _) = until_limited(&api).await;
    let since_limited = limited_at.elapsed().as_secs_f64();
    limited.expect_error(429, "rate_limited");
    assert!(
        refilled >= 25,
        "only {refilled} requests after a 1 s refill"
    );
    assert!(
        refilled <= most_allowed(0.0, since_limited),
        "{refilled} requests within {since_limited:.2} s of running dry: more than {PER_SECOND}/s"
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
