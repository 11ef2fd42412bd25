//! A program's own `reqwest::Client`, built before any amili code runs and with no crypto
//! provider installed by anyone, works next to an amili client: the default TLS set-up does
//! not leave reqwest without a provider (its own test binary: nothing else installs one).

#[test]
fn a_reqwest_client_built_first_works_beside_an_amili_client() {
    let mine = reqwest::Client::new();
    let amili = amili_api::Client::new_with_client(
        "https://api.staging.amili.no/collection/v1",
        amili_api::tls::client_builder()
            .build()
            .expect("an amili HTTP client"),
        amili_api::hooks::Inner::default(),
    );
    let after = reqwest::Client::new();
    drop((mine, amili, after));
}
