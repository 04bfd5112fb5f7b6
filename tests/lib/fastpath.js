// A fast-path requester in polkadot.js, with no custom types: it asks a
// worker's JSON-RPC for answers on a payment channel, each request signed
// with a nonce above the last, checks every receipt
// (the worker's signature, the hashes of its own input and of the output, the
// price, the sequence and the receipt chain) before it signs the next
// voucher, and keeps where the channel stands.
import { bnToU8a, hexToU8a, stringToU8a, u8aConcat, u8aToHex, compactAddLength } from '@polkadot/util';
import { blake2AsHex, blake2AsU8a, decodeAddress, sr25519Verify } from '@polkadot/util-crypto';
import { chainReceipts, decodeReceipt, signedVoucher } from './chain.js';

const ZERO = `0x${'00'.repeat(32)}`;

/** A JSON-RPC error from a worker: `code` is the fast path's, `data` its details. */
export class FastPathError extends Error {
  constructor(method, error) {
    super(`${method}: ${error.message} (${error.code})`);
    this.code = error.code;
    this.data = error.data;
  }
}

/** Calls `method` on the worker at `url` over HTTP. */
export async function fastRpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new FastPathError(method, body.error);
  return body.result;
}

/** Whether `signature` (a SCALE `MultiSignature`, sr25519) signs `receipt` for `worker`. */
export function receiptSigned(receiptHex, signatureHex, worker) {
  const signature = hexToU8a(signatureHex);
  if (signature.length !== 65 || signature[0] !== 1) return false;
  const payload = u8aConcat(compactAddLength(stringToU8a('tributary/receipt/v1')), hexToU8a(receiptHex));
  return sr25519Verify(payload, signature.slice(1), decodeAddress(worker));
}

/** `requester`'s signature over SCALE((context, ...u64s, ...bytes)), as a SCALE `MultiSignature` (sr25519). */
function signed(requester, context, numbers, bytes = []) {
  const payload = u8aConcat(
    compactAddLength(stringToU8a(context)), ...numbers.map((n) => bnToU8a(BigInt(n), { bitLength: 64 })), ...bytes,
  );
  return u8aToHex(u8aConcat([1], requester.sign(payload)));
}

/**
 * The requester's signature over a request (`RequestAuth`):
 * ("tributary/request/v1", channel, nonce, model, blake2_256(input)), the
 * three numbers u64 little-endian.
 */
export function requestSignature(requester, { channel, nonce, model, input }) {
  return signed(requester, 'tributary/request/v1', [channel, nonce, model], [blake2AsU8a(input)]);
}

/** The requester's signature for `tributary_answers` (`AnswersAuth`): ("tributary/answers/v1", channel, after, nonce). */
export function answersSignature(requester, { channel, after, nonce }) {
  return signed(requester, 'tributary/answers/v1', [channel, after, nonce]);
}

/** One requester's side of one channel. */
export class Channel {
  constructor(api, url, requester, channelId, worker) {
    Object.assign(this, { api, url, requester, channelId, worker });
    this.sequence = 0;
    this.head = ZERO;
    this.total = 0n;
    this.voucher = null;
    this.receipts = [];
    this.nonce = 0;
  }

  /** A request nonce above every one used before: the clock in microseconds. */
  nextNonce() {
    this.nonce = Math.max(Date.now() * 1000, this.nonce + 1);
    return this.nonce;
  }

  /** A request for `input`, signed with the next nonce, carrying the latest voucher. */
  request(model, input, { voucher = this.voucher, nonce = this.nextNonce(), signer = this.requester } = {}) {
    const signature = requestSignature(signer, { channel: this.channelId, nonce, model, input });
    return { channel: this.channelId, model, input, nonce, signature, ...(voucher ? { voucher } : {}) };
  }

  /** Asks for an answer, with the latest voucher; checks the receipt and signs the next voucher. */
  async infer(model, input, options = {}) {
    const answer = await fastRpc(this.url, 'tributary_infer', [this.request(model, input, options)]);
    this.accept(answer, model, input);
    return answer;
  }

  /** Checks `answer`'s receipt against what was asked, then takes it and signs a voucher for it. */
  accept(answer, model, input) {
    if (!receiptSigned(answer.receipt, answer.signature, this.worker)) {
      throw new Error('the receipt is not signed by the channel\'s worker');
    }
    const receipt = decodeReceipt(this.api, answer.receipt);
    const problems = [];
    if (receipt.channel.toNumber() !== this.channelId) problems.push('channel');
    if (receipt.sequence.toNumber() !== this.sequence + 1) problems.push('sequence');
    if (receipt.model.toNumber() !== Number(model)) problems.push('model');
    if (receipt.inputHash.toHex() !== blake2AsHex(input)) problems.push('input hash');
    if (receipt.outputHash.toHex() !== blake2AsHex(answer.output)) problems.push('output hash');
    if (receipt.worker.toString() !== this.api.createType('AccountId32', this.worker).toString()) problems.push('worker');
    const head = chainReceipts(this.head, [receipt]);
    if (head !== answer.head) problems.push('receipt chain head');
    const total = this.total + receipt.price.toBigInt();
    if (total.toString() !== answer.total) problems.push('total');
    if (problems.length) throw new Error(`the receipt does not match the request: ${problems.join(', ')}`);
    this.sequence += 1;
    this.head = head;
    this.total = total;
    this.receipts.push(receipt);
    this.voucher = this.sign();
  }

  /** The voucher for every receipt taken so far, as the worker's JSON-RPC takes it. */
  sign() {
    const { signature } = signedVoucher(this.api, this.requester, {
      channel: this.channelId, sequence: this.sequence, total: this.total, receipts: this.head,
    });
    return {
      sequence: this.sequence,
      total: this.total.toString(),
      receipts: this.head,
      signature: u8aToHex(u8aConcat([1], hexToU8a(signature.Sr25519))),
    };
  }

  /** Hands the latest voucher over without a request, so the last answers are paid. */
  async pay() {
    return fastRpc(this.url, 'tributary_voucher', [this.channelId, this.voucher]);
  }
}
