//! What the one submission pipeline sends: the trait payments and corrections implement, so
//! both go through the same chunking, keys, ledger, call loop, reports and poller.

use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;
use uuid::Uuid;

use crate::client::Client;
use crate::error::Error;
use crate::idempotency::IdempotencyKey;

/// An item [`Client::submit`] sends: a [`Payment`](crate::Payment) or a
/// [`Correction`](crate::Correction). Sealed: the pipeline knows how to send each kind.
///
/// What differs between kinds is only what is listed here: what the kind and its fields are
/// called, the item's id (the ledger's and the report's key), the request body's field, and the
/// generated call that sends it.
pub trait Submittable: Serialize + Send + Sync + 'static + sealed::Kind + sealed::Fields {
    /// What one item is called in messages: `payment`, `correction`.
    const NAME: &'static str = <Self as sealed::Kind>::NOUN;

    /// What several are called: `payments`, `corrections` (the request body's array field).
    const PLURAL: &'static str = <Self as sealed::Kind>::BODY_FIELD;

    /// The item's fields as the API names them, in the documented order: the keys of its JSON
    /// and of its raw input ([`PaymentInput::FIELDS`](crate::PaymentInput::FIELDS),
    /// [`CorrectionInput::FIELDS`](crate::CorrectionInput::FIELDS)), a CSV file's columns.
    const FIELDS: &'static [&'static str] = <Self as sealed::Fields>::FIELD_NAMES;

    /// What the item's [`id`](Self::id) is called as a field (a report's column, a JSON key):
    /// `uniqueSourcePaymentId`, the API's own; `correctionId` for a correction's
    /// content-derived id, which Amili has no field for.
    const ID_FIELD: &'static str = <Self as sealed::Fields>::ID_FIELD_NAME;

    /// The item's id: a payment's `uniqueSourcePaymentId`, a correction's content-derived id.
    /// A submission sends each id once; the ledger remembers items by it.
    fn id(&self) -> &str;

    /// The Amili invoice the item is for (a finished batch's items are matched back by id,
    /// else by invoice).
    fn invoice_id(&self) -> Uuid;
}

/// The fingerprint the pipeline claims `item` with in a ledger: the SHA-256 of its JSON as
/// sent. A ledger rebuilt from elsewhere (Amili's batches) records this for an item it can
/// rebuild whole, so that sending that item again is recognised as the same
/// ([`Claim::AlreadyAccepted`](crate::ledger::Claim::AlreadyAccepted)).
pub fn fingerprint<T: Submittable>(item: &T) -> crate::ledger::Fingerprint {
    let mut json = Vec::with_capacity(256);
    item.write_json(&mut json);
    fingerprint_of_json(&json)
}

/// The fingerprint of an item's JSON as sent (see [`fingerprint`]).
pub(crate) fn fingerprint_of_json(json: &[u8]) -> crate::ledger::Fingerprint {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(json).into()
}

/// A write accepted as a batch: its id, and whether the answer was lost and the batch found
/// by its idempotency key.
pub(crate) type Created = (Uuid, bool);

pub(crate) mod sealed {
    use super::*;

    /// The parts of [`Submittable`] only this crate uses.
    pub trait Kind {
        /// What the item is called in messages (`payment`, `correction`).
        const NOUN: &'static str;
        /// What its id is called in messages (`uniqueSourcePaymentId`).
        const ID_NAME: &'static str;
        /// The request body's array field (`payments`, `corrections`).
        const BODY_FIELD: &'static str;
        /// The operation name in logs and errors (`create_payments`).
        const OPERATION: &'static str;

        /// Gives the item up for its id (no copy where the id is stored).
        fn into_id(self) -> String;

        /// The item's JSON fields when a finished batch's items must be matched back to it by
        /// content (a kind without a client id); `None` for a kind with one.
        fn content(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
            None
        }

        /// Appends the item's JSON to a request body: the bytes its `Serialize` impl gives
        /// through `serde_json`, written directly (see `wire.rs`).
        fn write_json(&self, out: &mut Vec<u8>);

        /// Sends one request whose body (`{"<BODY_FIELD>":[…]}`) is already serialized, through
        /// the call loop, under `key`.
        fn create<'a>(
            client: &'a Client,
            key: &'a IdempotencyKey,
            body: &'a Bytes,
        ) -> BoxFuture<'a, Result<Created, Error>>;
    }

    /// The field names of [`Submittable`], for each kind side by side.
    pub trait Fields {
        /// [`Submittable::FIELDS`] (named apart, so that `T::FIELDS` is not ambiguous).
        const FIELD_NAMES: &'static [&'static str];
        /// [`Submittable::ID_FIELD`].
        const ID_FIELD_NAME: &'static str;
    }

    impl Fields for crate::Payment {
        const FIELD_NAMES: &'static [&'static str] = &crate::PaymentInput::FIELDS;
        const ID_FIELD_NAME: &'static str = "uniqueSourcePaymentId";
    }

    impl Fields for crate::Correction {
        const FIELD_NAMES: &'static [&'static str] = &crate::CorrectionInput::FIELDS;
        const ID_FIELD_NAME: &'static str = "correctionId";
    }
}

/// The body of a [`sealed::Kind::create`]: the generated write `$operation` (a method of the
/// raw client) with an empty `$empty` body that the request hook replaces with the
/// pre-serialized bytes, the idempotency key header when the client sends it, through
/// [`Client::create_batch`]. A macro because each operation's generated builder is its own
/// type.
macro_rules! create_batch_with {
    ($client:expr, $key:expr, $body:expr, $operation:ident, $empty:expr) => {{
        let shared = &$client.shared;
        let empty = $empty;
        let call = move || {
            let mut request = shared
                .raw
                .$operation()
                .organization_id(shared.organization_id)
                .body(empty.clone());
            if shared.send_idempotency_key {
                request = request.idempotency_key($key.as_str());
            }
            request.send()
        };
        Box::pin($client.create_batch(Self::OPERATION, $key, $body, call, |a| a.data.batch_id))
    }};
}
pub(crate) use create_batch_with;

/// What a validated item needs to go through the pipeline and come back from JSON:
/// `impl Submittable` (its id is the field `$id`), `impl Kind` (`$noun` in messages, its id
/// called `$id_name`, sent in the body field `$field` by the generated write `$operation` with
/// an empty `$request`, and the `$extra` items, `write_json` among them), `from_input` (with
/// the docs given; it reads `$input` as [`InputFormat::default`](crate::InputFormat) does
/// through the item's own `from_input_with`), and `impl Deserialize` through `$input` and
/// `from_input`.
macro_rules! submittable {
    (
        $item:ident by $id:ident, read from $input:ident;
        $noun:literal named by $id_name:literal;
        sent as $field:ident by $operation:ident in $request:ident;
        $(#[$from_input_doc:meta])*
        fn from_input;
        $($extra:item)*
    ) => {
        impl $item {
            $(#[$from_input_doc])*
            pub fn from_input(input: $input) -> Result<$item, Vec<$crate::validation::FieldError>> {
                Self::from_input_with(input, &$crate::input_format::InputFormat::default())
            }
        }

        impl $crate::submittable::Submittable for $item {
            fn id(&self) -> &str {
                &self.$id
            }

            fn invoice_id(&self) -> ::uuid::Uuid {
                self.invoice_id
            }
        }

        impl $crate::submittable::sealed::Kind for $item {
            const NOUN: &'static str = $noun;
            const ID_NAME: &'static str = $id_name;
            const BODY_FIELD: &'static str = stringify!($field);
            const OPERATION: &'static str = stringify!($operation);

            fn into_id(self) -> String {
                self.$id
            }

            fn create<'a>(
                client: &'a $crate::client::Client,
                key: &'a $crate::idempotency::IdempotencyKey,
                body: &'a ::bytes::Bytes,
            ) -> ::futures::future::BoxFuture<
                'a,
                Result<$crate::submittable::Created, $crate::error::Error>,
            > {
                $crate::submittable::create_batch_with!(
                    client,
                    key,
                    body,
                    $operation,
                    ::amili_api::types::$request { $field: Vec::new() }
                )
            }

            $($extra)*
        }

        #[doc = concat!(
            "Reads the wire shape through [`", stringify!($input), "`] and validates it; the ",
            "error lists every problem."
        )]
        impl<'de> ::serde::Deserialize<'de> for $item {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let input = $input::deserialize(deserializer)?;
                $item::from_input(input)
                    .map_err(|errors| $crate::raw_fields::invalid($noun, &errors))
            }
        }
    };
}
pub(crate) use submittable;
