//! Answers every request would get stop the whole submission: credentials refused (401 after a
//! refresh), not allowed (403), no such organization (404), and N requests in a row failing
//! after all their retries (the circuit breaker). Requests not yet sent are reported not sent,
//! with the cause; the server is not hammered once per request.

mod common;

use std::collections::HashSet;

use amili_payments::Error;
use amili_payments::report::Outcome;
use amili_payments::report::SubmitReport;
use amili_sandbox::{Fault, Route};
use common::*;
use futures::StreamExt;

/// Every item is `Rejected` (it was sent) or `NotSent` (it was not), and says `cause`.
fn assert_stopped_with(report: &SubmitReport, cause: &str, payments: usize) {
    assert_eq!(report.items().count(), payments);
    let mut rejected = 0;
    for item in report.items() {
        let reason = match &item.outcome {
            Outcome::Rejected(reason) => {
                rejected += 1;
                reason
            }
            Outcome::NotSent(reason) => reason,
            other => panic!("{}: expected rejected or not sent, got {other:?}", item.id),
        };
        assert!(
            reason.as_str().contains(cause),
            "{}: the reason does not say {cause:?}: {reason}",
            item.id
        );
        assert!(item.outcome.is_safe_to_resend());
    }
    assert!(rejected >= 1, "nothing was sent at all: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_answer_stops_the_submission_after_at_most_one_request_per_slot() -> TestResult {
    // (status the sandbox answers every CreatePayments with, what the reasons must say,
    // attempts per request: a 401 is retried once after a token refresh)
    for (code, cause, attempts) in [
        (403, "403 Forbidden", 1),
        (404, "404 Not Found", 1),
        (401, "401", 2),
    ] {
        for concurrency in [1, 4] {
            let what = format!("{code} with concurrency {concurrency}");
            let sandbox = answering(code).await;
            let (client, proxy) = proxied(&sandbox).await;
            let report = refused(
                client
                    .submit(payments(0..12))
                    .with_chunk_size(1)
                    .with_concurrency(concurrency)
                    .send()
                    .await,
            );
            assert_stopped_with(&report, cause, 12);

            let posts = sandbox.stats().payment_requests as usize;
            let keys: HashSet<_> = proxy.payment_keys().into_iter().collect();
            assert!(
                (1..=concurrency).contains(&keys.len()),
                "{what}: {} requests reached the server",
                keys.len()
            );
            assert!(
                posts <= concurrency * attempts,
                "{what}: {posts} CreatePayments attempts"
            );
            // Only the requests that were sent are rejected; they carry their key.
            let sent = sent_keys(&report);
            assert_eq!(sent.len(), keys.len(), "{what}");
            assert_eq!(report.counts().rejected, keys.len(), "{what}");
            assert_eq!(report.counts().not_sent, 12 - keys.len(), "{what}");
            assert!(sandbox.ledger().is_empty());
            if code == 401 {
                // The refresh happened, and then the credentials were taken as refused.
                assert!(sandbox.stats().token_requests >= 2, "{what}");
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn credentials_of_another_organization_stop_the_submission_at_the_first_403() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_with_other_credentials(&sandbox);
    let report = refused(one_at_a_time(&client, payments(0..12)).send().await);
    assert_stopped_with(&report, "403", 12);
    assert_eq!(sandbox.stats().payment_requests, 1);
    assert_eq!(report.counts().not_sent, 11);
    let reason = report
        .items()
        .last()
        .and_then(|i| i.outcome.reason())
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        reason.contains("an earlier request got an answer"),
        "{reason}"
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_organization_id_stops_the_submission() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for_unknown_organization(&sandbox);
    let report = refused(
        client
            .submit(payments(0..6))
            .with_chunk_size(1)
            .with_concurrency(2)
            .send()
            .await,
    );
    // The sandbox refuses the token on another organization's path with 403.
    assert_stopped_with(&report, "403", 6);
    assert!(sandbox.stats().payment_requests <= 2);
    assert!(report.counts().not_sent >= 4);
    Ok(())
}

#[tokio::test]
async fn a_refusal_about_one_request_does_not_stop_the_others() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    for code in [400, 409, 413, 422] {
        sandbox.faults().push(Route::CreatePayments, status(code));
    }
    let report = one_at_a_time(&client, payments(0..6)).send().await?;
    let counts = report.counts();
    // 409 (the key used before with other payments) is unknown, not a refusal.
    assert_eq!(
        (counts.rejected, counts.unknown, counts.accepted),
        (3, 1, 2),
        "{report:?}"
    );
    assert_eq!(sandbox.stats().payment_requests, 6);
    Ok(())
}

#[tokio::test]
async fn the_circuit_breaker_stops_after_n_requests_in_a_row_fail() -> TestResult {
    let (sandbox, report) = storm(503, 0..10, Some(3)).await?;
    // Three requests, five attempts each, then nothing.
    assert_eq!(sandbox.stats().payment_requests, 3 * 5);
    let items: Vec<_> = report.items().collect();
    for item in &items[..3] {
        match &item.outcome {
            Outcome::Rejected(reason) => assert!(reason.as_str().contains("503"), "{reason}"),
            other => panic!("expected rejected, got {other:?}"),
        }
    }
    for item in &items[3..] {
        let reason = not_sent_reason(item);
        assert!(reason.contains("3 requests in a row failed"), "{reason}");
        assert!(reason.contains("503"), "{reason}");
    }
    assert!(sandbox.ledger().is_empty());
    Ok(())
}

#[tokio::test]
async fn the_default_circuit_breaker_is_five_requests() -> TestResult {
    let (sandbox, report) = storm(503, 0..12, None).await?;
    assert_eq!(sandbox.stats().payment_requests, 5 * 5);
    let counts = report.counts();
    assert_eq!((counts.rejected, counts.not_sent), (5, 7), "{report:?}");
    Ok(())
}

#[tokio::test]
async fn unknown_outcomes_count_towards_the_breaker_too() -> TestResult {
    let (sandbox, report) = storm(502, 0..6, Some(2)).await?;
    let counts = report.counts();
    assert_eq!((counts.unknown, counts.not_sent), (2, 4), "{report:?}");
    assert_eq!(sandbox.stats().payment_requests, 2 * 5);
    Ok(())
}

#[tokio::test]
async fn a_success_resets_the_breaker_and_zero_turns_it_off() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    // Two requests fail (5 attempts each), one passes, two fail, one passes: never three in
    // a row. (`Delay(0)` is a fault that lets the request through.)
    let faults = sandbox.faults();
    faults.push_n(Route::CreatePayments, status(503), 10);
    faults.push(Route::CreatePayments, Fault::Delay(ms(0)));
    faults.push_n(Route::CreatePayments, status(503), 10);
    let report = one_at_a_time(&client, payments(0..6))
        .with_circuit_breaker(3)
        .send()
        .await?;
    let counts = report.counts();
    assert_eq!(
        (counts.rejected, counts.accepted, counts.not_sent),
        (4, 2, 0),
        "{report:?}"
    );

    // 0: never stops.
    let (sandbox, report) = storm(503, 0..7, Some(0)).await?;
    assert_eq!(report.counts().rejected, 7);
    assert_eq!(sandbox.stats().payment_requests, 7 * 5);
    Ok(())
}

#[tokio::test]
async fn a_refused_submission_is_an_error_naming_the_cause_with_its_report() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for_unknown_organization(&sandbox);
    let Err(error) = one_at_a_time(&client, payments(0..2)).send().await else {
        panic!("a submission for another organization must not be Ok");
    };
    let text = error.to_string();
    assert!(
        text.starts_with(
            "submission refused, none of 2 items accepted: create_payments: Amili answered \
             403 Forbidden"
        ),
        "{text}"
    );
    assert_eq!(error.status(), Some(403));
    let report = error
        .report()
        .ok_or("the report is reachable from the error")?;
    assert_eq!((report.counts().rejected, report.counts().not_sent), (1, 1));
    assert!(sandbox.ledger().is_empty());

    // The stream yields the request reports, then the answer that stopped it.
    let streamed: Vec<_> = one_at_a_time(&client, payments(0..2))
        .stream()?
        .collect()
        .await;
    assert_eq!(streamed.len(), 3, "two reports and the refusal");
    assert!(streamed[..2].iter().all(Result::is_ok));
    let last = streamed[2].as_ref().err().map(Error::status);
    assert_eq!(last, Some(Some(403)));
    Ok(())
}
