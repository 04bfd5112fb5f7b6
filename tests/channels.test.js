// The fast path's payment channels from polkadot.js, with no custom types: a
// requester opens a channel to a worker, signs a cumulative voucher over the
// receipts it received, the worker settles them in one extrinsic, each
// receipt's price is divided as a job's fee is, and the requester takes back
// what was not spent once the channel expires.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stringCamelCase } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect, waitFor, rpc } from './lib/node.js';
import { send, sendOk, eventData } from './lib/tx.js';
import { chainReceipts, devAccounts, receipt, signedVoucher } from './lib/chain.js';

const TRIB = 1_000_000_000_000n;
const PERBILL = 1_000_000_000;
const ZERO = `0x${'00'.repeat(32)}`;

let node;
let api;
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Eve']);
const ids = {};

before(async () => {
  node = await startNode('channels', ['--dev', '--dev-block-time', '500']);
  api = await connect(node);
});

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

const held = async (who) => (await api.query.system.account(who.address)).data.reserved.toBigInt();
const claimable = async (who) => BigInt(await rpc(node, 'rewards_claimable', [who.address]));
const number = async () => (await api.rpc.chain.getHeader()).number.toNumber();

test('a worker, a model and a channel to the worker', async () => {
  const stake = api.consts.workerStaking.minWorkerStake.toBigInt();
  await sendOk(api, api.tx.workerStaking.registerWorker(stake, 'http://127.0.0.1:0', 1, 'test'), k.bob);
  ids.class = (await api.query.workerStaking.workers(k.bob.address)).unwrap().class.toHex();
  const created = await sendOk(api, api.tx.registry.createDatanet('notes', 'Open'), k.alice);
  ids.datanet = eventData(api, created, 'registry', 'DatanetCreated').datanetId;
  const contributed = await sendOk(api, api.tx.registry.contribute(ids.datanet, blake2AsHex('a note'), 6, ''), k.eve);
  ids.contribution = eventData(api, contributed, 'registry', 'ContributionSubmitted').contributionId;
  const model = await sendOk(api, api.tx.registry.registerModel(
    blake2AsHex('model'), blake2AsHex('index'), '', 'model', [[ids.datanet, 20 * (PERBILL / 100)]], [], TRIB / 10n,
  ), k.alice);
  ids.model = eventData(api, model, 'registry', 'ModelRegistered').modelId;

  const before = await held(k.charlie);
  ids.expiry = (await number()) + 30;
  const opened = await sendOk(api, api.tx.channels.openChannel(k.bob.address, 10n * TRIB, ids.expiry), k.charlie);
  const event = eventData(api, opened, 'channels', 'ChannelOpened');
  ids.channel = event.channelId;
  assert.equal(BigInt(event.deposit), 10n * TRIB);
  assert.equal(await held(k.charlie) - before, 10n * TRIB, 'the deposit is held');
  const state = await rpc(node, 'channels_channel', [ids.channel]);
  assert.equal(api.createType('AccountId', state.requester).toString(), k.charlie.address);
  assert.equal(api.createType('AccountId', state.worker).toString(), k.bob.address);
  assert.deepEqual([state.deposit, state.settled, state.sequence, state.expiry], [(10n * TRIB).toString(), '0', 0, ids.expiry]);
  assert.equal(await rpc(node, 'channels_channel', [ids.channel + 1]), null, 'an id never given out');
  assert.ok((await api.call.channelsApi.channel(ids.channel + 1)).isUnknown);

  const { error } = await send(api, api.tx.channels.openChannel(k.eve.address, 10n * TRIB, ids.expiry), k.charlie);
  assert.equal(error, 'channels.NotAWorker');
});

/** Receipt `sequence` of the channel, for an answer priced `price`. */
const answer = (sequence, price) => receipt(api, {
  channel: ids.channel,
  sequence,
  model: ids.model,
  artifact: blake2AsHex('model'),
  inputHash: blake2AsHex(`question ${sequence}`),
  outputHash: blake2AsHex(`answer ${sequence}`),
  attribution: [[ids.contribution, 50 * (PERBILL / 100)]],
  class: ids.class,
  price,
  worker: k.bob.address,
});

test('the worker settles three receipts under one voucher; each is divided as a job fee is', async () => {
  const receipts = [answer(1, TRIB / 10n), answer(2, TRIB / 10n), answer(3, TRIB / 5n)];
  const total = TRIB / 10n + TRIB / 10n + TRIB / 5n;
  const { voucher, signature } = signedVoucher(api, k.charlie, {
    channel: ids.channel, sequence: 3, total, receipts: chainReceipts(ZERO, receipts),
  });

  // A receipt the requester never saw at that price is refused.
  const raised = [receipts[0], receipts[1], answer(3, TRIB)];
  const refused = await send(api, api.tx.channels.settle(ids.channel, voucher, signature, raised), k.bob);
  assert.equal(refused.error, 'channels.ReceiptsMismatch');
  const forged = signedVoucher(api, k.eve, { channel: ids.channel, sequence: 3, total, receipts: voucher.receipts });
  const unsigned = await send(api, api.tx.channels.settle(ids.channel, voucher, forged.signature, receipts), k.bob);
  assert.equal(unsigned.error, 'channels.BadSignature');

  const heldBefore = await held(k.charlie);
  const earnedBefore = await claimable(k.bob);
  const events = await sendOk(api, api.tx.channels.settle(ids.channel, voucher, signature, receipts), k.bob);
  // The audit share (5%) goes to the audit pot; the rest is divided.
  const auditShare = api.consts.channels.auditShare.toNumber();
  const cut = (price) => price.toBigInt() * BigInt(auditShare) / BigInt(PERBILL);
  const { batchId, ...settled } = eventData(api, events, 'channels', 'ReceiptsSettled');
  assert.deepEqual(settled, { channelId: ids.channel, count: 3, amount: Number(total), auditShare: Number(total / 20n) });
  assert.ok((await api.query.channels.batches(batchId)).isSome, 'kept for audits');
  const divided = events.filter(({ event }) => event.section === 'rewards' && event.method === 'ReceiptsSettled').map(({ event }) => event.data);
  assert.equal(divided.length, 1, 'one division for the settlement, each beneficiary credited once');
  const parts = Object.fromEntries(divided[0].names.filter((n) => n !== 'credits').map((n) => [stringCamelCase(n), BigInt(divided[0][stringCamelCase(n)].toString())]));
  const credits = divided[0].credits.map(([payee, amount]) => [payee.type, amount.toBigInt()]);
  assert.equal(credits.reduce((all, [, amount]) => all + amount, 0n) + parts.treasuryShare, parts.workerShare + parts.modelShare + parts.upstreamShare + parts.dataShare + parts.treasuryShare,
    'the credits name every part but the treasury\'s');
  assert.deepEqual(credits.filter(([kind]) => kind === 'Worker').map(([, amount]) => amount), [parts.workerShare], 'the one worker, once');
  assert.deepEqual([parts.channelId, parts.first, parts.last], [BigInt(ids.channel), 1n, 3n]);
  const sum = parts.workerShare + parts.modelShare + parts.upstreamShare + parts.dataShare + parts.treasuryShare;
  const cuts = receipts.reduce((all, r) => all + cut(r.price), 0n);
  assert.equal(sum + cuts, total, 'every part of every price is accounted for');
  const workers = parts.workerShare;
  assert.equal(await claimable(k.bob) - earnedBefore, workers, 'the worker can claim its shares');
  assert.equal(heldBefore - await held(k.charlie), total, 'the prices left the deposit');

  const typed = await api.call.channelsApi.channel(ids.channel);
  assert.ok(typed.isFound);
  assert.equal(typed.asFound.settled.toBigInt(), total);
  assert.equal(typed.asFound.sequence.toNumber(), 3);
  assert.equal(typed.asFound.receipts.toHex(), voucher.receipts.toHex(), 'the chain head the voucher signed');

  const replay = await send(api, api.tx.channels.settle(ids.channel, voucher, signature, receipts), k.bob);
  assert.equal(replay.error, 'channels.BadSequence', 'settled receipts are not paid twice');
  ids.settled = total;
});

test('the requester takes back what was not settled once the channel expires', async () => {
  const early = await send(api, api.tx.channels.closeChannel(ids.channel), k.charlie);
  assert.equal(early.error, 'channels.NotExpired');
  await waitFor('the channel to expire', async () => (await number()) >= ids.expiry);
  const events = await sendOk(api, api.tx.channels.closeChannel(ids.channel), k.charlie);
  assert.equal(BigInt(eventData(api, events, 'channels', 'ChannelClosed').refunded), 10n * TRIB - ids.settled);
  assert.equal(await held(k.charlie), 0n);
  assert.ok((await api.query.channels.channels(ids.channel)).isNone);
  assert.equal(await rpc(node, 'channels_channel', [ids.channel]), 'pruned');
  assert.ok((await api.call.channelsApi.channel(ids.channel)).isPruned);
});
