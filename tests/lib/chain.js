import { Keyring } from '@polkadot/keyring';
import { blake2AsHex } from '@polkadot/util-crypto';

// What tests compute the way the runtime does.

/**
 * The result commitment the chain checks (`tributary_primitives::commitment`):
 * blake2_256(SCALE(job id, worker, blake2_256(output), attribution, salt)).
 */
export function commitment(api, jobId, worker, output, attribution, salt) {
  const encoded = api
    .createType('(u64, AccountId32, H256, Vec<(u64, Perbill)>, [u8; 32])', [
      jobId, worker, blake2AsHex(output), attribution, salt,
    ])
    .toU8a();
  return blake2AsHex(encoded);
}

/** The treasury's account: `modl` + the pallet id `py/trsry`, zero-padded. */
export function treasuryAddress(api) {
  const bytes = new Uint8Array(32);
  bytes.set(new TextEncoder().encode('modlpy/trsry'));
  return api.createType('AccountId32', bytes).toString();
}

/** The dev accounts `//<Name>` for `names`, keyed by lower-cased name, with Tributary's SS58 prefix. */
export function devAccounts(names) {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7390 });
  return Object.fromEntries(names.map((name) => [name.toLowerCase(), keyring.addFromUri(`//${name}`)]));
}
