//! Invoices and settlements against the sandbox: invoice references resolved to ids (not
//! found, ambiguous, answered from the cache without a request, every one answered and read
//! once per call when the cache is smaller than the call), payments booked on the
//! resolved invoices, and the settlements they produce listed across every page with exact
//! money.

use std::time::Duration;

use amili_payments::invoices::{InvoiceFilter, InvoiceRef, Unresolved};
use amili_payments::{Client, Decimal, Environment, NaiveDate, Payment, Utc, Uuid};
use amili_sandbox::{Fault, Route, Sandbox, SeedInvoice};
use futures::TryStreamExt;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0xE2E0_0000 + n)
}

/// Seven invoices: `INV-2` numbers two of them; each has a source id `erp-N`.
fn seeded() -> Vec<SeedInvoice> {
    (1..=7)
        .map(|n| {
            let number = if n == 3 {
                "INV-2".to_owned()
            } else {
                format!("INV-{n}")
            };
            let mut invoice = SeedInvoice::new(id(n), number);
            invoice.unique_source_invoice_id = Some(format!("erp-{n}"));
            invoice
        })
        .collect()
}

async fn start() -> Result<(Sandbox, Client), Box<dyn std::error::Error + Send + Sync>> {
    let sandbox = Sandbox::builder()
        .batch_delay(Duration::from_millis(5))
        .demo_invoices(false)
        .seed_invoice_records(seeded())
        .start()
        .await?;
    let client = Client::builder()
        .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
        .organization_id(sandbox.organization_id())
        .client_credentials(sandbox.client_id(), sandbox.client_secret())
        .build()?;
    Ok((sandbox, client))
}

#[tokio::test]
async fn references_resolve_to_invoices_and_repeats_come_from_the_cache() -> TestResult {
    let (sandbox, client) = start().await?;
    let all: Vec<_> = client
        .invoices(InvoiceFilter::default())
        .try_collect()
        .await?;
    assert_eq!(all.len(), 7, "every page of the listing");

    let resolver = client.invoice_resolver().with_concurrency(2);
    let references = vec![
        InvoiceRef::Number("INV-1".into()),
        InvoiceRef::Number("INV-2".into()),
        InvoiceRef::Number("INV-404".into()),
        InvoiceRef::SourceId("erp-5".into()),
        InvoiceRef::Id(id(6)),
        InvoiceRef::Id(id(99)),
    ];
    let reads_before = sandbox.stats().invoice_reads;
    let answers = resolver.resolve(references.clone()).await;
    assert_eq!(answers[0].as_ref().ok(), Some(&id(1)));
    match &answers[1] {
        Err(Unresolved::Ambiguous { matches, .. }) => {
            let mut matches = matches.clone();
            matches.sort();
            assert_eq!(matches, [id(2), id(3)]);
        }
        other => panic!("expected ambiguous, got {other:?}"),
    }
    assert!(
        matches!(&answers[2], Err(Unresolved::NotFound(_))),
        "{:?}",
        answers[2]
    );
    assert_eq!(answers[3].as_ref().ok(), Some(&id(5)));
    assert_eq!(answers[4].as_ref().ok(), Some(&id(6)));
    assert!(
        matches!(&answers[5], Err(Unresolved::NotFound(_))),
        "{:?}",
        answers[5]
    );
    let reads = sandbox.stats().invoice_reads - reads_before;
    assert_eq!(reads, 6, "one read per reference");

    let again = resolver.resolve(references).await;
    assert_eq!(
        sandbox.stats().invoice_reads - reads_before,
        6,
        "the cache answered"
    );
    assert_eq!(again[3].as_ref().ok(), Some(&id(5)));
    Ok(())
}

#[tokio::test]
async fn a_call_with_more_references_than_the_cache_holds_answers_all_and_reads_each_once()
-> TestResult {
    let (sandbox, client) = start().await?;
    let resolver = client
        .invoice_resolver()
        .with_concurrency(3)
        .with_cache_capacity(2);
    // 15 distinct references (by number, source id and id, and one unknown), each named
    // twice, the repeats after the cache has filled several times over.
    let mut distinct: Vec<(InvoiceRef, Option<Uuid>)> = Vec::new();
    for n in [1, 4, 5, 6, 7] {
        distinct.push((InvoiceRef::Number(format!("INV-{n}")), Some(id(n))));
        distinct.push((InvoiceRef::SourceId(format!("erp-{n}")), Some(id(n))));
    }
    for n in [2, 3, 4, 5] {
        distinct.push((InvoiceRef::Id(id(n)), Some(id(n))));
    }
    distinct.push((InvoiceRef::Number("INV-404".into()), None));
    let references: Vec<InvoiceRef> = distinct
        .iter()
        .chain(distinct.iter())
        .map(|(r, _)| r.clone())
        .collect();

    let reads_before = sandbox.stats().invoice_reads;
    let answers = resolver.resolve(references.clone()).await;
    assert_eq!(answers.len(), references.len());
    for ((reference, expected), answer) in distinct.iter().chain(distinct.iter()).zip(&answers) {
        match (expected, answer) {
            (Some(expected), Ok(got)) => assert_eq!(got, expected, "{reference}"),
            (None, Err(Unresolved::NotFound(r))) => assert_eq!(r, reference),
            (expected, got) => panic!("{reference}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(
        sandbox.stats().invoice_reads - reads_before,
        15,
        "one read per distinct reference, though the cache holds 2"
    );
    assert_eq!(resolver.cached(), 2);

    // The next call finds the two kept answers and reads the 13 others again.
    let again = resolver.resolve(references).await;
    assert!(
        again
            .iter()
            .zip(&answers)
            .all(|(a, b)| a.as_ref().ok() == b.as_ref().ok()),
        "{again:?}"
    );
    assert_eq!(sandbox.stats().invoice_reads - reads_before, 15 + 13);

    // Without a cache every call reads every distinct reference.
    let uncached = client.invoice_resolver().with_cache_capacity(0);
    let reads_before = sandbox.stats().invoice_reads;
    let answers = uncached
        .resolve([InvoiceRef::Id(id(1)), InvoiceRef::Id(id(1))])
        .await;
    assert!(answers.iter().all(|a| a.as_ref().ok() == Some(&id(1))));
    assert_eq!(uncached.cached(), 0);
    uncached.resolve([InvoiceRef::Id(id(1))]).await;
    assert_eq!(sandbox.stats().invoice_reads - reads_before, 2);
    Ok(())
}

#[tokio::test]
async fn a_failed_look_up_is_reported_with_its_cause_and_not_cached() -> TestResult {
    let (sandbox, client) = start().await?;
    // A refusal is not retried by the call loop: the look-up fails at once.
    sandbox.faults().push(
        Route::ListInvoices,
        Fault::Status {
            status: 403,
            retry_after: None,
        },
    );
    let resolver = client.invoice_resolver();
    let reference = InvoiceRef::Number("INV-1".into());
    let answers = resolver.resolve([reference.clone()]).await;
    match &answers[0] {
        Err(Unresolved::Failed {
            reference: r,
            error,
        }) => {
            assert_eq!(r, &reference);
            assert_eq!(error.status(), Some(403), "{error}");
        }
        other => panic!("expected a failed look-up, got {other:?}"),
    }
    assert_eq!(resolver.cached(), 0, "a failure is not remembered");
    // The next resolve asks again and finds the invoice.
    let again = resolver.resolve([reference]).await;
    assert_eq!(again[0].as_ref().ok(), Some(&id(1)));
    assert_eq!(resolver.cached(), 1);
    Ok(())
}

#[tokio::test]
async fn payments_on_resolved_invoices_settle_and_every_settlement_page_is_listed() -> TestResult {
    let (sandbox, client) = start().await?;
    let sources: Vec<InvoiceRef> = [1, 2, 4, 5, 6, 7]
        .iter()
        .map(|n| InvoiceRef::SourceId(format!("erp-{n}")))
        .collect();
    let invoices: Vec<Uuid> = client
        .invoice_resolver()
        .resolve(sources)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let payments = invoices
        .iter()
        .enumerate()
        .map(|(n, invoice)| {
            Payment::builder()
                .invoice_id(*invoice)
                .amount(Decimal::new(10_000 + n as i64, 2))
                .currency("NOK")
                .date(Utc::now() - chrono::Duration::hours(1))
                .unique_source_payment_id(format!("SET-{n}"))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = client.submit(payments).send().await?;
    client.poller().follow_all(&mut report).await?;
    assert!(report.all_succeeded(), "{report:?}");

    let day: NaiveDate = "2025-06-30".parse()?;
    assert_eq!(sandbox.settle(day).len(), 6);
    let reads_before = sandbox.stats().settlement_reads;
    let settled: Vec<_> = client.settlements(day, day).try_collect().await?;
    assert_eq!(settled.len(), 6);
    assert_eq!(
        sandbox.stats().settlement_reads - reads_before,
        2,
        "two pages of three"
    );
    let total: Decimal = settled.iter().filter_map(|s| s.amount).sum();
    assert_eq!(total, Decimal::new(60_015, 2), "exact money");
    let mut settled_invoices: Vec<Uuid> = settled.iter().filter_map(|s| s.invoice_id).collect();
    settled_invoices.sort();
    let mut expected = invoices.clone();
    expected.sort();
    assert_eq!(settled_invoices, expected);

    if let Some(first) = settled.first().and_then(|s| s.id) {
        assert_eq!(client.settlement(first).await?.id, Some(first));
    }
    let none: Vec<_> = client
        .settlements("2025-01-01".parse()?, "2025-01-31".parse()?)
        .try_collect()
        .await?;
    assert!(none.is_empty());
    Ok(())
}
