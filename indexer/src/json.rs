//! Decoded SCALE values as the JSON explorers read: what polkadot.js's
//! `toHuman`-free `toJSON` gives, so that a client need not know Tributary's
//! types to read the database.
//!
//! - a named composite is an object, an unnamed one an array;
//! - an array of two or more bytes (an account, a hash, a bounded byte
//!   vector) is `0x…` hex (the values carry no types, so one byte alone stays
//!   a number: it is more often a newtype's such as a `Perbill`);
//! - a unit enum variant is its name as a string, `None` is `null`, `Some(x)`
//!   is `x`, any other variant `{"Name": fields}`;
//! - an integer beyond JavaScript's exact range (2^53) is a decimal string,
//!   so no balance loses digits on its way to a browser.

use scale_value::{Composite, Primitive, Value, ValueDef};
use serde_json::{json, Map, Value as Json};

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: u128 = (1 << 53) - 1;

/// The JSON of `value` (see the module's rules).
pub fn to_json<T>(value: &Value<T>) -> Json {
	match &value.value {
		ValueDef::Composite(composite) => composite_json(composite),
		ValueDef::Variant(variant) => match (variant.name.as_str(), &variant.values) {
			("None", fields) if fields.is_empty() => Json::Null,
			("Some", Composite::Unnamed(fields)) if fields.len() == 1 => to_json(&fields[0]),
			(name, fields) if fields.is_empty() => Json::String(name.to_owned()),
			(name, fields) => json!({ name: composite_json(fields) }),
		},
		ValueDef::BitSequence(bits) => {
			Json::String(bits.iter().map(|b| if b { '1' } else { '0' }).collect())
		}
		ValueDef::Primitive(primitive) => primitive_json(primitive),
	}
}

/// A balance as the database's JSON holds it: a number, or a decimal
/// string past 2^53.
pub fn amount(json: &Json) -> u128 {
	match json {
		Json::Number(n) => n.as_u64().map_or(0, u128::from),
		Json::String(s) => s.parse().unwrap_or_default(),
		// A balance newtype or a bounded vector keeps its value one level in.
		Json::Array(inner) => inner.iter().map(amount).sum(),
		_ => 0,
	}
}

/// The JSON of a composite: the fields of an event or a call are one.
pub fn composite_json<T>(composite: &Composite<T>) -> Json {
	match composite {
		Composite::Named(fields) => Json::Object(
			fields.iter().map(|(name, v)| (name.clone(), to_json(v))).collect::<Map<_, _>>(),
		),
		// One number alone is a newtype's (a `Perbill`) more often than bytes.
		Composite::Unnamed(values) => match bytes_of(values) {
			Some(bytes) if bytes.len() > 1 => Json::String(format!("0x{}", hex::encode(bytes))),
			_ => Json::Array(values.iter().map(to_json).collect()),
		},
	}
}

/// The bytes of an unnamed composite whose every value is a `u8`, also one
/// level down (a bounded vector wraps its bytes in one more composite).
fn bytes_of<T>(values: &[Value<T>]) -> Option<Vec<u8>> {
	if let [Value { value: ValueDef::Composite(Composite::Unnamed(inner)), .. }] = values {
		return bytes_of(inner);
	}
	values
		.iter()
		.map(|v| match &v.value {
			ValueDef::Primitive(Primitive::U128(n)) => u8::try_from(*n).ok(),
			_ => None,
		})
		.collect()
}

fn primitive_json(primitive: &Primitive) -> Json {
	match primitive {
		Primitive::Bool(b) => Json::Bool(*b),
		Primitive::Char(c) => Json::String(c.to_string()),
		Primitive::String(s) => Json::String(s.clone()),
		Primitive::U128(n) if *n <= MAX_SAFE_INTEGER => json!(*n as u64),
		Primitive::U128(n) => Json::String(n.to_string()),
		Primitive::I128(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER => json!(*n as i64),
		Primitive::I128(n) => Json::String(n.to_string()),
		Primitive::U256(bytes) | Primitive::I256(bytes) => {
			Json::String(format!("0x{}", hex::encode(bytes)))
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn u(n: u128) -> Value<()> {
		Value::u128(n)
	}

	#[test]
	fn events_read_as_explorers_expect() {
		let account = Value::unnamed_composite((0..32u128).map(u));
		let slashed = Composite::named([
			("worker", account),
			("amount", u(25_000_000_000_000_000_000)),
			("reason", Value::unnamed_variant("CommitTimeout", [])),
			("job_id", Value::unnamed_variant("Some", [u(7)])),
			("model", Value::unnamed_variant("None", [])),
			("ok", Value::bool(true)),
		]);
		assert_eq!(
			composite_json(&slashed),
			json!({
				"worker": format!("0x{}", hex::encode((0..32u8).collect::<Vec<_>>())),
				"amount": "25000000000000000000",
				"reason": "CommitTimeout",
				"job_id": 7,
				"model": null,
				"ok": true,
			})
		);
	}

	#[test]
	fn numbers_past_javascripts_exact_range_are_strings() {
		assert_eq!(to_json(&u(MAX_SAFE_INTEGER)), json!(9_007_199_254_740_991u64));
		assert_eq!(to_json(&u(MAX_SAFE_INTEGER + 1)), json!("9007199254740992"));
		assert_eq!(to_json(&Value::i128(-5)), json!(-5));
		assert_eq!(to_json(&Value::i128(-(1 << 60))), json!("-1152921504606846976"));
	}

	#[test]
	fn bytes_in_a_bounded_vector_are_hex_and_other_arrays_stay_arrays() {
		let bounded = Value::unnamed_composite([Value::unnamed_composite([u(1), u(255)])]);
		assert_eq!(to_json(&bounded), json!("0x01ff"));
		let numbers = Value::unnamed_composite([u(1), u(256)]);
		assert_eq!(to_json(&numbers), json!([1, 256]));
		let entries = Value::unnamed_composite([Value::unnamed_composite([u(3), u(500)])]);
		assert_eq!(to_json(&entries), json!([[3, 500]]));
		let variant = Value::named_variant("Transfer", [("amount", u(2))]);
		assert_eq!(to_json(&variant), json!({"Transfer": {"amount": 2}}));
		assert_eq!(to_json(&Value::unnamed_composite(Vec::<Value<()>>::new())), json!([]));
		let perbill = Value::unnamed_composite([u(100)]);
		assert_eq!(to_json(&perbill), json!([100]));
	}
}
