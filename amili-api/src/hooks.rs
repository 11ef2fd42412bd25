//! The `ClientHooks` impl progenitor requires, delegating to a caller-supplied trait object.
//!
//! The impl has to live in this crate (orphan rule), but what it does — adding a bearer token,
//! tracing, choosing how to execute — is policy that belongs to `amili-payments`. So the impl
//! only forwards to the [`RequestHooks`] stored in the client's [`Inner`] value.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

/// What a caller plugs into the generated client. Both methods have pass-through defaults.
pub trait RequestHooks: Send + Sync + fmt::Debug {
    /// Called before each request is sent, to modify it (add `Authorization`, say). An `Err`
    /// stops the call with [`Error::Custom`] carrying the message.
    fn prepare<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, Result<(), String>> {
        let _ = (request, operation_id);
        Box::pin(async { Ok(()) })
    }

    /// Sends the request. The default simply executes it with `client`.
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        let _ = operation_id;
        Box::pin(client.execute(request))
    }
}

/// The state stored in the generated [`Client`](crate::Client): optional hooks.
#[derive(Clone, Default)]
pub struct Inner {
    hooks: Option<Arc<dyn RequestHooks>>,
}

impl Inner {
    /// Hooks that every request of the client goes through.
    pub fn new(hooks: Arc<dyn RequestHooks>) -> Self {
        Self { hooks: Some(hooks) }
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner").field("hooks", &self.hooks).finish()
    }
}

impl ClientHooks<Inner> for crate::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        match &self.inner().hooks {
            Some(hooks) => hooks
                .prepare(request, info.operation_id)
                .await
                .map_err(Error::Custom),
            None => Ok(()),
        }
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.inner().hooks {
            Some(hooks) => {
                hooks
                    .execute(self.client(), request, info.operation_id)
                    .await
            }
            None => self.client().execute(request).await,
        }
    }
}
