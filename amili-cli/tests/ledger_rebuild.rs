//! A ledger that is new, emptied or lost: a new file says so, an empty one is refused and
//! kept, and `amili ledger import --from-amili` rebuilds what Amili accepted so that nothing
//! is sent twice.

mod common;

use common::{Env, assert_exit, csv_rows, stderr, stdout};

#[test]
fn a_lost_ledger_is_refused_when_emptied_and_rebuilt_from_amili() {
    let env = Env::new();
    env.file("p.csv", &csv_rows("LOST", 6));
    let ledger = env.ledger_path();

    // The first run creates the ledger, and says so with its path.
    let out = env.output(&["payments", "submit", "p.csv", "--chunk-size", "2", "--wait"]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("created a new ledger at"), "{err}");
    assert!(err.contains(&ledger.display().to_string()), "{err}");
    let out = env.output(&["payments", "submit", "p.csv"]);
    assert_exit(&out, 0);
    assert!(
        !stderr(&out).contains("created a new ledger"),
        "{}",
        stderr(&out)
    );
    let requests = env.sandbox.stats().payment_requests;

    // Emptied (0 bytes): refused, nothing sent, the file left as it is.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", ledger.display()));
    }
    std::fs::write(&ledger, b"").unwrap();
    let out = env.output(&["payments", "submit", "p.csv"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is empty (0 bytes)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::metadata(&ledger).unwrap().len(), 0);
    assert_eq!(env.sandbox.stats().payment_requests, requests);

    // Lost: rebuilt from Amili's batches; the same file then sends nothing again.
    std::fs::remove_file(&ledger).unwrap();
    let out = env.output(&["ledger", "import", "--from-amili", "--since", "2000-01-01"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("created a new ledger at"),
        "{}",
        stderr(&out)
    );
    let so = stdout(&out);
    assert!(so.contains("6 items recorded as accepted"), "{so}");
    let out = env.output(&["payments", "submit", "p.csv"]);
    assert_exit(&out, 0);
    let so = stdout(&out);
    assert!(so.contains("6 rows: 6 already accepted"), "{so}");
    assert_eq!(env.sandbox.stats().payment_requests, requests);
    assert_eq!(env.booked(), 6);

    // Importing again records nothing new.
    let out = env.output(&["ledger", "import", "--from-amili"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("0 items recorded as accepted"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("6 already known"), "{}", stdout(&out));
}
