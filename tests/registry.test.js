// Datanets, contributions and models on a dev chain, and their flattened
// upstream shares read back through the runtime API and the node's RPC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect, rpc } from './lib/node.js';
import { send, sendOk, eventData } from './lib/tx.js';

const PERBILL = 1_000_000_000;
const pct = (p) => p * (PERBILL / 100);

let node;
let api;
const k = {};
const ids = {};

before(async () => {
  node = await startNode('registry', ['--dev', '--dev-block-time', '500']);
  api = await connect(node);
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7390 });
  for (const name of ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']) {
    k[name.toLowerCase()] = keyring.addFromUri(`//${name}`);
  }
});

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

test('Alice creates an open datanet', async () => {
  const events = await sendOk(api, api.tx.registry.createDatanet('news headlines', 'Open'), k.alice);
  const created = eventData(api, events, 'registry', 'DatanetCreated');
  assert.equal(created.owner, k.alice.address);
  ids.datanet = created.datanetId;
});

test('three accounts contribute; each is approved at once and holds a deposit', async () => {
  const base = api.consts.registry.contributionDepositBase.toBigInt();
  const perByte = api.consts.registry.depositPerByte.toBigInt();
  ids.contributions = [];
  for (const who of ['bob', 'charlie', 'dave']) {
    const text = `a headline written by ${who}`;
    const metadata = `row by ${who}`;
    const events = await sendOk(
      api,
      api.tx.registry.contribute(ids.datanet, blake2AsHex(text), text.length, metadata),
      k[who],
    );
    const submitted = eventData(api, events, 'registry', 'ContributionSubmitted');
    assert.equal(submitted.contributor, k[who].address);
    assert.equal(BigInt(submitted.deposit), base + perByte * BigInt(metadata.length));
    const approved = eventData(api, events, 'registry', 'ContributionApproved');
    assert.equal(approved.contributionId, submitted.contributionId);
    const holds = (await api.query.balances.holds(k[who].address)).toJSON();
    assert.ok(holds.some((h) => BigInt(h.amount) === BigInt(submitted.deposit)), JSON.stringify(holds));
    ids.contributions.push(submitted.contributionId);
  }
  const datanet = (await api.query.registry.datanets(ids.datanet)).unwrap();
  assert.equal(datanet.approved.toNumber(), 3);
});

test('the same content cannot be contributed twice', async () => {
  const text = 'a headline written by bob';
  const { error } = await send(api, api.tx.registry.contribute(ids.datanet, blake2AsHex(text), text.length, ''), k.eve);
  assert.equal(error, 'registry.DuplicateContent');
});

test('a model trained on the datanet and a child model register with their shares', async () => {
  const base = await sendOk(
    api,
    api.tx.registry.registerModel(
      blake2AsHex('artifact v1'), blake2AsHex('index v1'), 'file://models/headlines.pt', 'headline classifier',
      [[ids.datanet, pct(30)]], [], 1_000_000_000n,
    ),
    k.eve,
  );
  ids.base = eventData(api, base, 'registry', 'ModelRegistered').modelId;
  const child = await sendOk(
    api,
    api.tx.registry.registerModel(
      blake2AsHex('artifact v2'), blake2AsHex('index v2'), 'file://models/child.pt', 'fine-tuned classifier',
      [[ids.datanet, pct(10)]], [[ids.base, pct(50)]], 2_000_000_000n,
    ),
    k.ferdie,
  );
  const registered = eventData(api, child, 'registry', 'ModelRegistered');
  assert.equal(registered.owner, k.ferdie.address);
  ids.child = registered.modelId;
});

test('the flattened shares read back through api.call and the attribution RPC', async () => {
  // The child owes its parent 50% × 70% = 35%; the datanet 50% × 30% + 10% = 25%,
  // all to snapshot 1: no contribution joined between the two registrations.
  const want = [
    [{ model: ids.base }, pct(35)],
    [{ datanet: [ids.datanet, 1] }, pct(25)],
  ];
  const viaCall = (await api.call.attributionApi.upstreamShares(ids.child)).unwrap().toJSON();
  assert.deepEqual(viaCall, want);
  const viaRpc = await rpc(node, 'attribution_upstreamShares', [ids.child]);
  assert.deepEqual(viaRpc, want);
  assert.equal(await rpc(node, 'attribution_upstreamShares', [999]), null);
});

test('a contribution approved after the models joins the next snapshot: they never pay it', async () => {
  const text = 'a headline written by eve after the models';
  const events = await sendOk(api, api.tx.registry.contribute(ids.datanet, blake2AsHex(text), text.length, ''), k.eve);
  const late = eventData(api, events, 'registry', 'ContributionSubmitted').contributionId;
  assert.equal((await api.query.rewards.pools(ids.datanet)).taken.toNumber(), 1);
  assert.equal((await api.query.rewards.memberships(late)).unwrap().join.toNumber(), 2);
  assert.equal((await api.query.rewards.memberships(ids.contributions[0])).unwrap().join.toNumber(), 1);
  await sendOk(api, api.tx.registry.withdrawContribution(late), k.eve);
  assert.ok((await api.query.rewards.memberships(late)).isNone);
});

test('a contribution record reads back over RPC', async () => {
  const record = await rpc(node, 'attribution_contribution', [ids.contributions[0]]);
  assert.equal(record.datanetId, ids.datanet);
  assert.equal(record.status, 'approved');
  assert.equal(record.sizeBytes, 'a headline written by bob'.length);
  // Amounts come as decimal strings, exact beyond 2^53.
  assert.equal(typeof record.deposit, 'string');
  const decoded = await api.call.attributionApi.contribution(ids.contributions[0]);
  assert.ok(decoded.isFound, decoded.toString());
  assert.equal(decoded.asFound.contributor.toString(), k.bob.address);
  assert.equal(await rpc(node, 'attribution_contribution', [999_999]), null);
  assert.ok((await api.call.attributionApi.contribution(999_999)).isUnknown);
});

test('shares over 100% are refused with their own error and register nothing', async () => {
  const next = (await api.query.registry.nextModelId()).toNumber();
  const { error } = await send(
    api,
    api.tx.registry.registerModel(
      blake2AsHex('x'), blake2AsHex('y'), '', '', [[ids.datanet, pct(60)]], [[ids.base, pct(41)]], 1n,
    ),
    k.eve,
  );
  assert.equal(error, 'attribution.SharesExceedWhole');
  assert.equal((await api.query.registry.nextModelId()).toNumber(), next);
});

test('withdrawing a contribution returns its deposit', async () => {
  const c = ids.contributions[2];
  const before = (await api.query.system.account(k.dave.address)).data;
  const events = await sendOk(api, api.tx.registry.withdrawContribution(c), k.dave);
  const withdrawn = eventData(api, events, 'registry', 'ContributionWithdrawn');
  const after = (await api.query.system.account(k.dave.address)).data;
  assert.equal(after.reserved.toBigInt(), before.reserved.toBigInt() - BigInt(withdrawn.refund));
  // Its record went with its deposit; the events keep its history.
  assert.equal(await rpc(node, 'attribution_contribution', [c]), 'pruned');
  assert.ok((await api.call.attributionApi.contribution(c)).isPruned);
});
