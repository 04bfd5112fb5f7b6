import { Keyring } from '@polkadot/keyring';
import { compactAddLength, compactToU8a, hexToU8a, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsHex, blake2AsU8a } from '@polkadot/util-crypto';

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

/** The type the metadata gives argument `name` of call `section.method`. */
function argType(api, section, method, name) {
  const arg = api.tx[section][method].meta.args.find((a) => a.name.toString() === name);
  return arg.type.toString();
}

/** A fast-path receipt (`tributary_primitives::Receipt`), typed from the metadata. */
export function receipt(api, fields) {
  const vec = argType(api, 'channels', 'settle', 'receipts');
  return api.createType(vec, [fields])[0];
}

/** A SCALE-encoded receipt (hex), decoded with the metadata's type. */
export function decodeReceipt(api, hex) {
  const vec = argType(api, 'channels', 'settle', 'receipts');
  return api.createType(vec, u8aConcat(compactToU8a(1), hexToU8a(hex)))[0];
}

/**
 * The receipt chain's head after `receipts` follow `head`
 * (`tributary_primitives::chain_receipt`): blake2_256(head ‖ blake2_256(SCALE(receipt))).
 */
export function chainReceipts(head, receipts) {
  return receipts.reduce((h, r) => blake2AsHex(u8aConcat(hexToU8a(h), blake2AsU8a(r.toU8a()))), head);
}

/**
 * A voucher (`tributary_primitives::Voucher`) and the requester's signature
 * over SCALE(("tributary/voucher/v1", voucher)), as a `MultiSignature`.
 */
export function signedVoucher(api, requester, fields) {
  const voucher = api.createType(argType(api, 'channels', 'settle', 'voucher'), fields);
  const context = compactAddLength(stringToU8a('tributary/voucher/v1'));
  const signature = requester.sign(u8aConcat(context, voucher.toU8a()));
  return { voucher, signature: { Sr25519: u8aToHex(signature) } };
}
