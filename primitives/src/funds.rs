//! Naming why moving or holding funds failed.

use polkadot_sdk::sp_runtime::{DispatchError, TokenError};

/// The error of a failed hold or transfer: `insufficient` (the pallet's own
/// error) when the account's free balance could not cover it, the token error
/// itself otherwise (frozen funds, below the minimum balance, too many holds),
/// so that every cause keeps its own documented name.
pub fn funds_error(error: DispatchError, insufficient: impl Into<DispatchError>) -> DispatchError {
	match error {
		DispatchError::Token(TokenError::FundsUnavailable) => insufficient.into(),
		other => other,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_missing_funds_become_the_pallets_error() {
		let mine = DispatchError::Other("insufficient");
		assert_eq!(funds_error(TokenError::FundsUnavailable.into(), mine), mine);
		assert_eq!(
			funds_error(TokenError::BelowMinimum.into(), mine),
			DispatchError::Token(TokenError::BelowMinimum)
		);
		assert_eq!(
			funds_error(TokenError::Frozen.into(), mine),
			DispatchError::Token(TokenError::Frozen)
		);
	}
}
