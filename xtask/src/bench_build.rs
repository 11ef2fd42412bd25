//! `cargo xtask bench-build`: how long a cold debug build of a new user's crate takes.
//!
//! Two contenders, each a fresh library crate in a temporary directory outside the workspace:
//!
//! - **amili**: depends on `amili-payments` (default features, a path dependency on this
//!   workspace or on `--amili DIR`) and names one of its types;
//! - **generator**: the dependency set of an openapi-generator `-g rust` (reqwest library)
//!   client — `reqwest` with `json`, `multipart`, `query`, `form` and the same TLS set-up as
//!   `amili-payments`' default (reqwest's `rustls`, aws-lc-rs), `serde`, `serde_with`, `serde_json`,
//!   `serde_repr`, `url`, `uuid`, `chrono` — plus ~1,000 lines of plain generated-style model
//!   code and three API functions.
//!
//! Dependencies are downloaded first (`cargo fetch`, not timed); then every round builds each
//! contender once from an empty target directory, alternating which goes first. Both lock
//! files start from the workspace's `Cargo.lock`, so shared dependencies have the same
//! versions. Run it with the machine otherwise idle, e.g.
//! `CARGO_BUILD_JOBS=2 nice -n 15 cargo xtask bench-build`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{cargo, fresh_temp_dir, run_output, toml_string, workspace_root, write};

pub struct Options {
    rounds: usize,
    amili: PathBuf,
    keep: bool,
    only_amili: bool,
}

impl Options {
    pub fn parse(args: &[&str]) -> Option<Self> {
        let mut options = Options {
            rounds: 3,
            amili: workspace_root(),
            keep: false,
            only_amili: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--rounds" => options.rounds = args.next()?.parse().ok().filter(|n| *n > 0)?,
                "--amili" => options.amili = PathBuf::from(args.next()?),
                "--keep" => options.keep = true,
                "--only-amili" => options.only_amili = true,
                _ => return None,
            }
        }
        Some(options)
    }
}

struct Contender {
    name: &'static str,
    dir: PathBuf,
    times: Vec<Duration>,
    /// CPU seconds (user + system) of each build's process tree, when the OS tells.
    cpu: Vec<f64>,
    /// Per unit ("name version mode"), its duration in each round.
    units: BTreeMap<String, Vec<f64>>,
}

pub fn run(options: &Options) -> Result<(), String> {
    let amili = options
        .amili
        .canonicalize()
        .map_err(|e| format!("{}: {e}", options.amili.display()))?;
    let lock = amili.join("Cargo.lock");
    let dir = fresh_temp_dir("amili-bench-build")?;

    let mut contenders = vec![Contender {
        name: "amili",
        dir: dir.join("amili"),
        times: Vec::new(),
        cpu: Vec::new(),
        units: BTreeMap::new(),
    }];
    write_amili_crate(&contenders[0].dir, &amili, &lock)?;
    if !options.only_amili {
        let generator = dir.join("generator");
        write_generator_crate(&generator, &lock)?;
        contenders.push(Contender {
            name: "generator",
            dir: generator,
            times: Vec::new(),
            cpu: Vec::new(),
            units: BTreeMap::new(),
        });
    }
    for contender in &contenders {
        if let Err(e) = run_output(
            cargo().current_dir(&contender.dir).arg("fetch"),
            &format!("cargo fetch ({})", contender.name),
        ) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    }

    let jobs = std::env::var("CARGO_BUILD_JOBS").unwrap_or_else(|_| "all cores".to_owned());
    println!(
        "cold debug builds, {} round(s), jobs: {jobs}, in {}",
        options.rounds,
        dir.display()
    );
    for round in 0..options.rounds {
        let count = contenders.len();
        for i in 0..count {
            // Alternate who goes first, so drift in the machine's load hits both alike.
            let contender = &mut contenders[(i + round) % count];
            let target = dir.join("target").join(contender.name);
            let _ = std::fs::remove_dir_all(&target);
            let cpu_before = children_cpu_seconds();
            let started = Instant::now();
            let built = run_output(
                cargo()
                    .current_dir(&contender.dir)
                    .args(["build", "--offline", "--timings"])
                    .env("CARGO_TARGET_DIR", &target)
                    .env_remove("RUSTC_WRAPPER")
                    .env_remove("CARGO_BUILD_RUSTC_WRAPPER"),
                &format!("cargo build ({})", contender.name),
            );
            let elapsed = started.elapsed();
            let units = built.and_then(|_| unit_times(&target));
            // A cold debug target is over a gigabyte: never keep more than one.
            let _ = std::fs::remove_dir_all(&target);
            let units = units?;
            let cpu = children_cpu_seconds()
                .zip(cpu_before)
                .map(|(after, before)| after - before);
            println!(
                "round {}: {:<9} {:>6.1} s wall, {} CPU (load average before: {})",
                round + 1,
                contender.name,
                elapsed.as_secs_f64(),
                cpu.map(|c| format!("{c:.1} s"))
                    .unwrap_or_else(|| "?".to_owned()),
                load_average().unwrap_or_else(|| "?".to_owned()),
            );
            contender.times.push(elapsed);
            contender.cpu.extend(cpu);
            for (unit, seconds) in units {
                contender.units.entry(unit).or_default().push(seconds);
            }
        }
    }

    println!("\n{}", report(&contenders));
    if options.keep {
        println!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// User + system CPU seconds of this process's waited-for children (and theirs), from
/// `/proc/self/stat` (Linux). A build's CPU time moves less than its wall time when other
/// work shares the machine.
fn children_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = fields.split_whitespace().collect();
    // Fields 16 and 17 of proc(5) (cutime, cstime); `fields[0]` is field 3.
    let cutime: f64 = fields.get(13)?.parse().ok()?;
    let cstime: f64 = fields.get(14)?.parse().ok()?;
    Some((cutime + cstime) / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The 1-minute load average (Linux), to show how busy the machine was.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_owned)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A Markdown summary: times per round, median, spread, ratio, slowest units.
fn report(contenders: &[Contender]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| crate | measure | rounds (s) | median | spread (min–max) |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|");
    let mut medians: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for c in contenders {
        let wall: Vec<f64> = c.times.iter().map(Duration::as_secs_f64).collect();
        for (measure, values) in [("wall", wall), ("CPU", c.cpu.clone())] {
            if values.is_empty() {
                continue;
            }
            let rounds: Vec<String> = values.iter().map(|s| format!("{s:.1}")).collect();
            let mut sorted = values.clone();
            let m = median(&mut sorted);
            medians.entry(measure).or_default().push(m);
            let (min, max) = (
                sorted.first().copied().unwrap_or_default(),
                sorted.last().copied().unwrap_or_default(),
            );
            let _ = writeln!(
                out,
                "| {} | {measure} | {} | {m:.1} s | {min:.1}–{max:.1} s |",
                c.name,
                rounds.join(", ")
            );
        }
    }
    for (measure, values) in &medians {
        if let [amili, generator] = values.as_slice() {
            let _ = writeln!(
                out,
                "\nratio amili / generator ({measure}, medians): {:.2}×",
                amili / generator
            );
        }
    }
    for c in contenders {
        let mut units: Vec<(String, f64)> = c
            .units
            .iter()
            .map(|(name, times)| (name.clone(), median(&mut times.clone())))
            .collect();
        units.sort_by(|a, b| b.1.total_cmp(&a.1));
        let _ = writeln!(
            out,
            "\nslowest units ({}, median over rounds, from --timings):",
            c.name
        );
        for (name, seconds) in units.iter().take(8) {
            let _ = writeln!(out, "- {name}: {seconds:.1} s");
        }
    }
    out
}

/// Each unit's duration from the `--timings` report in `target`.
fn unit_times(target: &Path) -> Result<Vec<(String, f64)>, String> {
    let report = target.join("cargo-timings").join("cargo-timing.html");
    let html = std::fs::read_to_string(&report)
        .map_err(|e| format!("{}: {e} (no --timings report)", report.display()))?;
    let data = html
        .split_once("const UNIT_DATA = ")
        .and_then(|(_, rest)| rest.split_once(";\n"))
        .map(|(json, _)| json)
        .ok_or_else(|| format!("{}: no UNIT_DATA", report.display()))?;
    let units: Value =
        serde_json::from_str(data).map_err(|e| format!("{}: {e}", report.display()))?;
    Ok(units
        .as_array()
        .into_iter()
        .flatten()
        .map(|unit| {
            let mode = unit["mode"].as_str().unwrap_or_default();
            let target = unit["target"].as_str().unwrap_or_default().trim();
            let label = match (mode, target) {
                ("run-custom-build", _) => " build script (run)".to_owned(),
                (_, "") => String::new(),
                (_, t) => format!(" {t}"),
            };
            let name = format!(
                "{} {}{label}",
                unit["name"].as_str().unwrap_or("?"),
                unit["version"].as_str().unwrap_or("?"),
            );
            (name, unit["duration"].as_f64().unwrap_or_default())
        })
        .collect())
}

fn write_amili_crate(dir: &Path, amili: &Path, lock: &Path) -> Result<(), String> {
    let payments = amili.join("amili-payments");
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"bench-amili\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\namili-payments = {{ path = {} }}\n\n[workspace]\n",
            toml_string(&payments.to_string_lossy())
        ),
    )?;
    write(
        &dir.join("src").join("lib.rs"),
        "//! A new user's crate: it depends on amili-payments.\n\n\
         pub fn client_type() -> &'static str {\n    std::any::type_name::<amili_payments::Client>()\n}\n",
    )?;
    copy_lock(lock, dir)
}

fn write_generator_crate(dir: &Path, lock: &Path) -> Result<(), String> {
    write(
        &dir.join("Cargo.toml"),
        "[package]\nname = \"bench-generator\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         # openapi-generator `-g rust` (reqwest library), with amili-payments' TLS backend.\n\
         [dependencies]\n\
         reqwest = { version = \"0.13\", default-features = false, features = [\"json\", \"multipart\", \"query\", \"form\", \"rustls\"] }\n\
         serde = { version = \"1\", features = [\"derive\"] }\n\
         serde_with = { version = \"3\", default-features = false, features = [\"base64\", \"std\", \"macros\"] }\n\
         serde_json = \"1\"\n\
         serde_repr = \"0.1\"\n\
         url = \"2\"\n\
         uuid = { version = \"1\", features = [\"serde\", \"v4\"] }\n\
         chrono = { version = \"0.4\", features = [\"serde\"] }\n\n\
         [workspace]\n",
    )?;
    let models = generator_models();
    write(&dir.join("src").join("models.rs"), &models)?;
    write(&dir.join("src").join("apis.rs"), GENERATOR_APIS)?;
    write(
        &dir.join("src").join("lib.rs"),
        "//! Shaped like an openapi-generator `-g rust` client: models and API functions.\n\n\
         pub mod apis;\npub mod models;\n",
    )?;
    copy_lock(lock, dir)
}

fn copy_lock(lock: &Path, dir: &Path) -> Result<(), String> {
    std::fs::copy(lock, dir.join("Cargo.lock"))
        .map(|_| ())
        .map_err(|e| format!("cannot copy {}: {e}", lock.display()))
}

/// ~1,000 lines of models in openapi-generator's style: serde structs with `new`, string
/// enums, an integer enum (serde_repr) and nullable fields (serde_with's double_option).
fn generator_models() -> String {
    const MODELS: usize = 13;
    let mut out = String::from(
        "#![allow(clippy::all)]\n//! Models, in the style openapi-generator writes them.\n\n\
         use serde::{Deserialize, Serialize};\nuse serde_repr::{Deserialize_repr, Serialize_repr};\n\n",
    );
    for i in 0..MODELS {
        let previous = if i == 0 { MODELS - 1 } else { i - 1 };
        let _ = write!(
            out,
            r#"/// Model{i} : A generated model.
#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model{i} {{
    /// The identifier.
    #[serde(rename = "id")]
    pub id: uuid::Uuid,
    /// A name.
    #[serde(rename = "name")]
    pub name: String,
    /// A description.
    #[serde(rename = "description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An amount.
    #[serde(rename = "amount", skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// A count.
    #[serde(rename = "count", skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// When it happened.
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Tags.
    #[serde(rename = "tags", skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A nullable reference.
    #[serde(rename = "reference", default, with = "::serde_with::rust::double_option", skip_serializing_if = "Option::is_none")]
    pub reference: Option<Option<String>>,
    /// The status.
    #[serde(rename = "status", skip_serializing_if = "Option::is_none")]
    pub status: Option<Status{i}>,
    /// A priority.
    #[serde(rename = "priority", skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// A related model.
    #[serde(rename = "related", skip_serializing_if = "Option::is_none")]
    pub related: Option<Box<Model{previous}>>,
}}

impl Model{i} {{
    /// A generated model.
    pub fn new(id: uuid::Uuid, name: String) -> Model{i} {{
        Model{i} {{
            id,
            name,
            description: None,
            amount: None,
            count: None,
            created_at: None,
            tags: None,
            reference: None,
            status: None,
            priority: None,
            related: None,
        }}
    }}
}}

/// The status.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Serialize, Deserialize)]
pub enum Status{i} {{
    #[serde(rename = "QUEUED")]
    Queued,
    #[serde(rename = "RUNNING")]
    Running,
    #[serde(rename = "SUCCEEDED")]
    Succeeded,
    #[serde(rename = "FAILED")]
    Failed,
}}

impl Default for Status{i} {{
    fn default() -> Status{i} {{
        Self::Queued
    }}
}}

"#
        );
    }
    out.push_str(
        "/// A priority (an integer enum).\n\
         #[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Ord, PartialOrd, Hash, Serialize_repr, Deserialize_repr)]\n\
         #[repr(i64)]\npub enum Priority {\n    #[default]\n    Low = 1,\n    Normal = 2,\n    High = 3,\n}\n",
    );
    out
}

const GENERATOR_APIS: &str = r#"//! API functions, in the style openapi-generator writes them.
#![allow(clippy::all)]

use crate::models;

#[derive(Debug, Clone)]
pub struct Configuration {
    pub base_path: String,
    pub user_agent: Option<String>,
    pub client: reqwest::Client,
    pub bearer_access_token: Option<String>,
}

impl Configuration {
    pub fn new() -> Configuration {
        Configuration {
            base_path: "https://api.example.com/v1".to_owned(),
            user_agent: Some("OpenAPI-Generator/1.0.0/rust".to_owned()),
            client: reqwest::Client::new(),
            bearer_access_token: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResponseContent<T> {
    pub status: reqwest::StatusCode,
    pub content: String,
    pub entity: Option<T>,
}

#[derive(Debug)]
pub enum Error<T> {
    Reqwest(reqwest::Error),
    Serde(serde_json::Error),
    Io(std::io::Error),
    ResponseError(ResponseContent<T>),
}

impl<T> From<reqwest::Error> for Error<T> {
    fn from(e: reqwest::Error) -> Self {
        Error::Reqwest(e)
    }
}

impl<T> From<serde_json::Error> for Error<T> {
    fn from(e: serde_json::Error) -> Self {
        Error::Serde(e)
    }
}

pub fn urlencode<T: AsRef<str>>(s: T) -> String {
    ::url::form_urlencoded::byte_serialize(s.as_ref().as_bytes()).collect()
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum CreatePaymentsError {
    UnknownValue(serde_json::Value),
}

pub async fn create_payments(configuration: &Configuration, organization_id: &str, body: models::Model0) -> Result<models::Model1, Error<CreatePaymentsError>> {
    let uri_str = format!("{}/orgs/{organization_id}/payments", configuration.base_path, organization_id = urlencode(organization_id));
    let mut req_builder = configuration.client.request(reqwest::Method::POST, &uri_str);
    if let Some(ref user_agent) = configuration.user_agent {
        req_builder = req_builder.header(reqwest::header::USER_AGENT, user_agent.clone());
    }
    if let Some(ref token) = configuration.bearer_access_token {
        req_builder = req_builder.bearer_auth(token.to_owned());
    }
    req_builder = req_builder.json(&body);
    let req = req_builder.build()?;
    let resp = configuration.client.execute(req).await?;
    let status = resp.status();
    let content = resp.text().await?;
    if !status.is_client_error() && !status.is_server_error() {
        serde_json::from_str(&content).map_err(Error::from)
    } else {
        let entity: Option<CreatePaymentsError> = serde_json::from_str(&content).ok();
        Err(Error::ResponseError(ResponseContent { status, content, entity }))
    }
}

pub async fn get_batches(configuration: &Configuration, organization_id: &str, page_token: Option<&str>, status: Option<&str>) -> Result<Vec<models::Model2>, Error<serde_json::Value>> {
    let uri_str = format!("{}/orgs/{organization_id}/batches", configuration.base_path, organization_id = urlencode(organization_id));
    let mut req_builder = configuration.client.request(reqwest::Method::GET, &uri_str);
    if let Some(ref param_value) = page_token {
        req_builder = req_builder.query(&[("PageToken", &param_value.to_string())]);
    }
    if let Some(ref param_value) = status {
        req_builder = req_builder.query(&[("Status", &param_value.to_string())]);
    }
    if let Some(ref token) = configuration.bearer_access_token {
        req_builder = req_builder.bearer_auth(token.to_owned());
    }
    let req = req_builder.build()?;
    let resp = configuration.client.execute(req).await?;
    let status = resp.status();
    let content = resp.text().await?;
    if !status.is_client_error() && !status.is_server_error() {
        serde_json::from_str(&content).map_err(Error::from)
    } else {
        let entity: Option<serde_json::Value> = serde_json::from_str(&content).ok();
        Err(Error::ResponseError(ResponseContent { status, content, entity }))
    }
}

pub async fn upload_document(configuration: &Configuration, organization_id: &str, name: &str, file: Vec<u8>, token_form: &[(&str, &str)]) -> Result<models::Model3, Error<serde_json::Value>> {
    let uri_str = format!("{}/orgs/{organization_id}/documents", configuration.base_path, organization_id = urlencode(organization_id));
    let form = reqwest::multipart::Form::new()
        .text("name", name.to_owned())
        .part("file", reqwest::multipart::Part::bytes(file).file_name("document"));
    let token = configuration.client.post(format!("{}/token", configuration.base_path)).form(token_form).build()?;
    let _ = configuration.client.execute(token).await?;
    let req = configuration.client.request(reqwest::Method::POST, &uri_str).multipart(form).build()?;
    let resp = configuration.client.execute(req).await?;
    let status = resp.status();
    let content = resp.text().await?;
    if !status.is_client_error() && !status.is_server_error() {
        serde_json::from_str(&content).map_err(Error::from)
    } else {
        let entity: Option<serde_json::Value> = serde_json::from_str(&content).ok();
        Err(Error::ResponseError(ResponseContent { status, content, entity }))
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_a_thousand_lines_of_models() {
        let lines = generator_models().lines().count();
        assert!((900..=1200).contains(&lines), "{lines} lines");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_busy_child_counts_as_cpu_time() {
        let before = children_cpu_seconds().unwrap_or(f64::NAN);
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .status();
        assert!(status.is_ok_and(|s| s.success()));
        let after = children_cpu_seconds().unwrap_or(f64::NAN);
        assert!(after - before > 0.05, "{before} -> {after}");
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
