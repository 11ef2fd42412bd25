//! The settled configuration of one running sandbox (base floor), and where its API lives.

use std::time::Duration;

use uuid::Uuid;

/// The path of the collection API under the sandbox's origin (the real base path).
pub const API_BASE_PATH: &str = "/collection/v1";

/// One organization the sandbox knows, with the test client that may act for it.
#[derive(Debug, Clone)]
pub(crate) struct OrgConfig {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) organization_id: Uuid,
    /// The `createdBy` id the sandbox writes on this client's batches.
    pub(crate) created_by: Uuid,
}

/// Everything a running sandbox was configured with.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `http://host:port` (no trailing slash).
    pub(crate) origin: String,
    pub(crate) orgs: Vec<OrgConfig>,
    pub(crate) batch_delay: Duration,
    pub(crate) batch_type: String,
    pub(crate) max_body_bytes: usize,
}

impl Config {
    /// The API base URL: `{origin}/collection/v1`.
    pub(crate) fn api_url(&self) -> String {
        format!("{}{API_BASE_PATH}", self.origin)
    }

    /// The organization a client id belongs to.
    pub(crate) fn org_by_client(&self, client_id: &str) -> Option<&OrgConfig> {
        self.orgs.iter().find(|o| o.client_id == client_id)
    }

    /// The organization with this id.
    pub(crate) fn org(&self, id: Uuid) -> Option<&OrgConfig> {
        self.orgs.iter().find(|o| o.organization_id == id)
    }

    /// The absolute URL of a batch.
    pub(crate) fn batch_url(&self, org: Uuid, batch: Uuid) -> String {
        format!("{}/orgs/{org}/batches/{batch}", self.api_url())
    }
}
