//! Amounts in JSON as decimal strings, for `#[serde(with = "…")]`.
//!
//! Balances are `u128`; JavaScript reads a JSON number above 2^53 inexactly,
//! so every amount the node's RPC returns is a string of decimal digits, as
//! Substrate's own RPCs do for balances.

use alloc::string::String;
use core::{fmt::Display, str::FromStr};
use serde::{de::Error, Deserialize, Deserializer, Serializer};

/// Writes `amount` as a decimal string.
pub fn serialize<S: Serializer, T: Display>(amount: &T, serializer: S) -> Result<S::Ok, S::Error> {
	serializer.collect_str(amount)
}

/// Reads an amount from a decimal string.
pub fn deserialize<'de, D: Deserializer<'de>, T: FromStr>(deserializer: D) -> Result<T, D::Error>
where
	T::Err: Display,
{
	String::deserialize(deserializer)?.parse().map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
	#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
	struct Amount(#[serde(with = "super")] u128);

	#[test]
	fn amounts_beyond_two_to_the_53_round_trip_exactly() {
		let amount = Amount(u128::MAX);
		let json = serde_json::to_string(&amount).unwrap();
		assert_eq!(json, format!("\"{}\"", u128::MAX));
		assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), amount);
		assert!(serde_json::from_str::<Amount>("\"12a\"").is_err());
		assert!(serde_json::from_str::<Amount>("12").is_err());
	}
}
