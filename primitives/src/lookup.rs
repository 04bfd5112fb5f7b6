//! What a runtime API finds for an id: a record, one pruned, or none.

use codec::{Decode, Encode};
use scale_info::TypeInfo;

/// A record as the runtime APIs find it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub enum Lookup<Record> {
	/// No record ever had this id.
	Unknown,
	/// The record was pruned: a finished job once its retention window had
	/// passed, a contribution when it was withdrawn or rejected. Its events
	/// stay in the blocks that emitted them.
	Pruned,
	/// The record.
	Found(Record),
}

/// In JSON: `null` for an unknown id, the string `"pruned"`, or the record.
#[cfg(feature = "std")]
impl<Record: serde::Serialize> serde::Serialize for Lookup<Record> {
	fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
		match self {
			Self::Unknown => serializer.serialize_none(),
			Self::Pruned => serializer.serialize_str("pruned"),
			Self::Found(record) => record.serialize(serializer),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::Lookup;

	#[test]
	fn json_says_null_pruned_or_the_record() {
		assert_eq!(serde_json::to_string(&Lookup::<u8>::Unknown).unwrap(), "null");
		assert_eq!(serde_json::to_string(&Lookup::<u8>::Pruned).unwrap(), "\"pruned\"");
		assert_eq!(serde_json::to_string(&Lookup::Found(7u8)).unwrap(), "7");
	}
}
