//! Open enums: every value the server sends parses, the unknown ones into `Unknown(String)`.
//!
//! progenitor generates closed enums, so one new value from Amili would fail a whole response;
//! these replace the generated ones (see `amili-codegen`'s settings).

/// Defines an open string enum with documented variants and an `Unknown(String)` catch-all
/// (`as_str`, `From<&str>`, `From<String>`, `FromStr`, `Display`, serde as a string). Exported
/// for the other crates of this workspace that read Amili's enums (`amili-webhooks`); not a
/// public API.
#[doc(hidden)]
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know; kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The value as it is written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    $( $wire => Self::$variant, )+
                    _ => Self::Unknown(value),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value =
                    <std::borrow::Cow<'de, str> as $crate::__serde::Deserialize<'de>>::deserialize(
                        deserializer,
                    )?;
                Ok(Self::from(value.into_owned()))
            }
        }
    };
}

open_enum! {
    /// How a payment was made. Only `DIRECT_PAYMENT` is documented.
    ///
    /// ```
    /// use amili_api::PaymentType;
    /// assert_eq!("DIRECT_PAYMENT".parse::<PaymentType>(), Ok(PaymentType::DirectPayment));
    /// assert_eq!(PaymentType::from("CARD"), PaymentType::Unknown("CARD".into()));
    /// ```
    PaymentType {
        /// `DIRECT_PAYMENT`: paid directly to the creditor.
        DirectPayment => "DIRECT_PAYMENT",
    }
}

open_enum! {
    /// Where a batch is: `QUEUED` first, then `SUCCESS`, `PARTIAL` or `FAILED`.
    ///
    /// ```
    /// use amili_api::BatchStatus;
    /// assert_eq!(BatchStatus::from("PARTIAL"), BatchStatus::Partial);
    /// assert_eq!(BatchStatus::from("RUNNING").to_string(), "RUNNING");
    /// ```
    BatchStatus {
        /// Accepted, not processed yet.
        Queued => "QUEUED",
        /// Every item succeeded.
        Success => "SUCCESS",
        /// Some items succeeded, some failed.
        Partial => "PARTIAL",
        /// No item succeeded.
        Failed => "FAILED",
    }
}

open_enum! {
    /// What a batch holds. `NONE` and `INVOICE` are documented; the payment value is not.
    BatchType {
        /// `NONE`.
        None => "NONE",
        /// `INVOICE`: created by invoice calls.
        Invoice => "INVOICE",
        /// `CORRECTION`: created by `CreateCorrections` (assumed; not documented).
        Correction => "CORRECTION",
    }
}

open_enum! {
    /// Where an invoice is. Only `OPEN` is documented.
    ///
    /// ```
    /// use amili_api::InvoiceStatus;
    /// assert_eq!(InvoiceStatus::from("OPEN"), InvoiceStatus::Open);
    /// assert_eq!(InvoiceStatus::from("PAID").as_str(), "PAID");
    /// ```
    InvoiceStatus {
        /// `OPEN`: not settled yet.
        Open => "OPEN",
    }
}

open_enum! {
    /// What kind of claim an invoice is. `NOTICE` and `PAYMENT_REMINDER` are documented.
    ///
    /// ```
    /// use amili_api::InvoiceType;
    /// assert_eq!(InvoiceType::from("PAYMENT_REMINDER"), InvoiceType::PaymentReminder);
    /// ```
    InvoiceType {
        /// `NOTICE`: a first notice.
        Notice => "NOTICE",
        /// `PAYMENT_REMINDER`: a reminder.
        PaymentReminder => "PAYMENT_REMINDER",
    }
}

open_enum! {
    /// The collection stage a settlement comes from. Only `REMINDER` is documented.
    ///
    /// ```
    /// use amili_api::CollectionType;
    /// assert_eq!(CollectionType::from("REMINDER"), CollectionType::Reminder);
    /// ```
    CollectionType {
        /// `REMINDER`: the reminder stage.
        Reminder => "REMINDER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip() -> Result<(), serde_json::Error> {
        let status: BatchStatus = serde_json::from_str("\"RUNNING\"")?;
        assert_eq!(status, BatchStatus::Unknown("RUNNING".into()));
        assert_eq!(serde_json::to_string(&status)?, "\"RUNNING\"");
        let kind: BatchType = serde_json::from_str("\"PAYMENT\"")?;
        assert_eq!(kind.as_str(), "PAYMENT");
        Ok(())
    }

    #[test]
    fn known_values_map_to_variants() -> Result<(), serde_json::Error> {
        assert_eq!(
            serde_json::from_str::<PaymentType>("\"DIRECT_PAYMENT\"")?,
            PaymentType::DirectPayment
        );
        assert_eq!(serde_json::to_string(&BatchStatus::Queued)?, "\"QUEUED\"");
        Ok(())
    }

    #[test]
    fn a_non_string_is_an_error() {
        assert!(serde_json::from_str::<BatchStatus>("3").is_err());
    }
}
