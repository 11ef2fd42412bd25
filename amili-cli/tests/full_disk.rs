//! The SQLite ledger on a full disk: the run stops cleanly (no payment sent that the ledger
//! could not claim) and the report lists every payment Amili accepted. Needs root (it mounts
//! a small tmpfs); as another user it says so and does nothing.

mod common;

use std::process::Command;

use common::{Env, assert_exit, csv_rows, stderr, stdout};

struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_run_and_the_report_keeps_every_accepted_payment() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("SKIPPED: mounting a small tmpfs for the full-disk test needs root");
        return;
    }
    let env = Env::new();
    let disk = env.dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&disk)
        .status()
        .unwrap();
    assert!(mounted.success(), "cannot mount a tmpfs as root");
    let _unmount = Tmpfs(disk.clone());

    env.file("p.csv", &csv_rows("FULL", 3000));
    // One request at a time (and one prepared behind it): the claims that share a commit
    // are at most two requests', so the first ones fit on the small disk and some payments
    // are accepted before it fills. With more in flight, the first commit may hold enough
    // claims to fill it at once, and the run stops having sent nothing (also safe, but then
    // there is no accepted payment to check).
    let out = env.output_with(
        &[
            "payments",
            "submit",
            "p.csv",
            "--chunk-size",
            "100",
            "--concurrency",
            "1",
            "--report",
            "r.csv",
        ],
        "AMILI_STATE",
        disk.join("ledger.db"),
    );
    let (so, se) = (stdout(&out), stderr(&out));
    assert_exit(&out, 1);
    assert!(so.contains("not sent"), "{so}");
    assert!(
        se.contains("full") || so.contains("full"),
        "the reason names the full disk:\n{so}\n{se}"
    );

    // Every payment the sandbox accepted is in the report as accepted; nothing else was sent.
    let report = std::fs::read_to_string(env.dir.path().join("r.csv")).unwrap();
    let accepted: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(",accepted,"))
        .map(|l| l.split(',').nth(1).unwrap_or_default())
        .collect();
    assert!(
        !accepted.is_empty(),
        "nothing was accepted before the disk filled:\n{so}\n{se}"
    );
    assert!(accepted.len() < 3000, "the disk never filled");
    assert_eq!(report.lines().count(), 3001, "every row is in the report");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = env.client();
    let batches = runtime.block_on(async {
        use futures::TryStreamExt as _;
        client
            .batches(amili_payments::batches::BatchFilter::default())
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
    });
    let sent: usize = env.sandbox.stats().payment_requests as usize;
    assert_eq!(batches.len(), sent, "every request made a batch");
    assert_eq!(
        accepted.len(),
        sent * 100,
        "{sent} requests of 100 were accepted"
    );
}
