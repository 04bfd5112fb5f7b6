// One job through the compute protocol on a dev chain (accounts in this test
// act as its workers), then every beneficiary's share of its fee checked
// against the split computed here by hand, claimed, and the issuance checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { blake2AsHex } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { startNode, connect, waitFor, rpc } from './lib/node.js';
import { sendOk, eventData, settlementCredits } from './lib/tx.js';
import { commitment, treasuryAddress } from './lib/chain.js';

const TRIB = 1_000_000_000_000n;
const PERBILL = 1_000_000_000;
const pct = (p) => p * (PERBILL / 100);
const WORKERS = ['bob', 'charlie', 'dave'];

let node;
let api;
const k = {};
const ids = {};
/** Transaction fees paid since the issuance was last read: they are burned. */
let feesBurned = 0n;

before(async () => {
  node = await startNode('settlement', ['--dev', '--dev-block-time', '500']);
  api = await connect(node);
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7390 });
  for (const name of ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']) {
    k[name.toLowerCase()] = keyring.addFromUri(`//${name}`);
  }
  k.childOwner = keyring.addFromUri('//Bob//stash');
  k.requester = keyring.addFromUri('//Charlie//stash');
});

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

/** Sends `tx`, failing on error, and counts the fee it burned. */
async function submit(tx, signer) {
  const events = await sendOk(api, tx, signer);
  feesBurned += BigInt(eventData(api, events, 'transactionPayment', 'TransactionFeePaid').actualFee);
  return events;
}

const issuance = async () => (await api.query.balances.totalIssuance()).toBigInt();
const free = async (who) => (await api.query.system.account(who.address)).data.free.toBigInt();
const claimable = async (who) => BigInt(await rpc(node, 'rewards_claimable', [who.address]));

test('workers, a datanet with two contributions, a model and a child built on it', async () => {
  const stake = api.consts.workerStaking.minWorkerStake.toBigInt();
  await Promise.all(WORKERS.map(async (w) => {
    await submit(api.tx.workerStaking.registerWorker(stake, 'http://127.0.0.1:0', 1, 'test'), k[w]);
    await submit(api.tx.workerStaking.serveModels([0, 1, 2, 3]), k[w]);
  }));
  const created = await submit(api.tx.registry.createDatanet('reviews', 'Open'), k.alice);
  ids.datanet = eventData(api, created, 'registry', 'DatanetCreated').datanetId;
  ids.c = [];
  for (const [who, text] of [['eve', 'loved it'], ['ferdie', 'hated it']]) {
    const events = await submit(api.tx.registry.contribute(ids.datanet, blake2AsHex(text), text.length, ''), k[who]);
    ids.c.push(eventData(api, events, 'registry', 'ContributionSubmitted').contributionId);
  }
  const base = await submit(api.tx.registry.registerModel(
    blake2AsHex('base'), blake2AsHex('base index'), '', 'base', [[ids.datanet, pct(20)]], [], TRIB,
  ), k.alice);
  ids.base = eventData(api, base, 'registry', 'ModelRegistered').modelId;
  const child = await submit(api.tx.registry.registerModel(
    blake2AsHex('child'), blake2AsHex('child index'), '', 'child',
    [[ids.datanet, pct(10)]], [[ids.base, pct(50)]], TRIB,
  ), k.childOwner);
  ids.child = eventData(api, child, 'registry', 'ModelRegistered').modelId;
});

test('a job on the child completes and its fee is divided as computed by hand', async () => {
  const before = {
    issuance: await issuance(),
    treasury: (await api.query.system.account(treasuryAddress(api))).data.free.toBigInt(),
  };
  feesBurned = 0n;
  const fee = TRIB + 3n * api.consts.compute.computeFee.toBigInt();
  const submitted = await submit(api.tx.compute.submitJob(ids.child, 'was it good?', fee, null), k.requester);
  const { jobId } = eventData(api, submitted, 'compute', 'JobSubmitted');
  const job = await waitFor('the job to be assigned', async () => {
    const record = await rpc(node, 'compute_job', [jobId]);
    return record?.status === 'committing' ? record : null;
  }, 30_000, 250);
  const workers = job.workers.map(([account]) => WORKERS.find((w) => k[w].address === account));
  assert.deepEqual([...workers].sort(), [...WORKERS].sort());

  const attribution = [[ids.c[0], pct(50)]];
  const salt = (w) => blake2AsHex(`salt of ${w}`);
  await Promise.all(workers.map((w) => submit(
    api.tx.compute.commitResult(jobId, commitment(api, jobId, k[w].address, 'yes', attribution, salt(w))),
    k[w],
  )));
  let settledEvent;
  let credits;
  for (const w of workers) {
    const events = await submit(api.tx.compute.revealResult(jobId, 'yes', attribution, salt(w)), k[w]);
    settledEvent ??= eventData(api, events, 'rewards', 'JobSettled');
    credits ??= settlementCredits(events);
  }

  // By hand, for a fee of 1.03 TRIB and shares of 30% workers, 30% model,
  // 30% data, 10% treasury:
  const third = (fee * 30n) / 100n;
  const perWorker = third / 3n;
  // The child owes its parent 50% × (100% − 20%) = 40% and the datanet
  // 50% × 20% + 10% = 20% of its 30%, and keeps 40%.
  const toBase = (third * 40n) / 100n;
  const upstreamToPool = (third * 20n) / 100n;
  const childKeeps = third - toBase - upstreamToPool;
  // Half the data share is named to Eve's contribution; the unnamed half
  // goes to the child's one training datanet, whose pool has two members.
  const toEve = third / 2n;
  const poolEach = (upstreamToPool + (third - toEve)) / 2n;
  const toTreasury = fee - 3n * third;

  const { credits: _named, ...parts } = settledEvent;
  assert.deepEqual(parts, {
    jobId,
    workerShare: Number(perWorker * 3n),
    modelShare: Number(childKeeps),
    upstreamShare: Number(toBase + upstreamToPool),
    dataShare: Number(third),
    treasuryShare: Number(toTreasury),
  });
  // The event names every beneficiary: both models' owners, Eve's
  // contribution through the child, and the one pool both the child's
  // upstream share and its unnamed data reach (the models share a snapshot).
  const hex = (who) => u8aToHex(k[who].publicKey);
  const snapshot = credits.find((c) => c.kind === 'Pool')?.snapshot;
  const expected = [
    ...WORKERS.map((w) => ({ kind: 'Worker', account: hex(w), amount: perWorker })),
    { kind: 'Model', account: hex('alice'), model: ids.base, amount: toBase },
    { kind: 'Model', account: hex('childOwner'), model: ids.child, amount: childKeeps },
    { kind: 'Contribution', account: hex('eve'), model: ids.child, contribution: ids.c[0], amount: toEve },
    { kind: 'Pool', datanet: ids.datanet, snapshot, amount: upstreamToPool + (third - toEve) },
  ].map((c) => ({ ...c, amount: c.amount.toString() }));
  const sorted = (list) => list.map((c) => JSON.stringify(c, Object.keys(c).sort())).sort();
  assert.deepEqual(sorted(credits), sorted(expected));
  for (const w of WORKERS) assert.equal(await claimable(k[w]), perWorker);
  assert.equal(await claimable(k.alice), toBase);
  assert.equal(await claimable(k.childOwner), childKeeps);
  assert.equal(await claimable(k.eve), toEve);
  assert.equal(await claimable(k.ferdie), 0n);
  assert.equal(BigInt(await rpc(node, 'rewards_contributionEarnings', [ids.c[0]])), toEve + poolEach);
  assert.equal(BigInt(await rpc(node, 'rewards_contributionEarnings', [ids.c[1]])), poolEach);
  assert.equal(BigInt(await rpc(node, 'rewards_modelEarnings', [ids.base])), toBase);
  assert.equal((await api.call.rewardsApi.modelEarnings(ids.child)).toBigInt(), childKeeps);
  const treasuryNow = (await api.query.system.account(treasuryAddress(api))).data.free.toBigInt();
  assert.equal(treasuryNow - before.treasury, toTreasury);
  // Settlement moved funds; only the transaction fees left the issuance.
  assert.equal(await issuance(), before.issuance - feesBurned);
  ids.expected = { perWorker, toEve, poolEach };
});

test('claims pay out what was earned, pool rewards included', async () => {
  const startIssuance = await issuance();
  feesBurned = 0n;
  const bob = await free(k.bob);
  const events = await submit(api.tx.rewards.claim(), k.bob);
  const claimed = eventData(api, events, 'rewards', 'RewardsClaimed');
  assert.equal(BigInt(claimed.amount), ids.expected.perWorker);
  const fee = BigInt(eventData(api, events, 'transactionPayment', 'TransactionFeePaid').actualFee);
  assert.equal(await free(k.bob), bob + ids.expected.perWorker - fee);
  assert.equal(await claimable(k.bob), 0n);

  const eve = await free(k.eve);
  const eveEvents = await submit(api.tx.rewards.claimContributions([ids.c[0]]), k.eve);
  const eveFee = BigInt(eventData(api, eveEvents, 'transactionPayment', 'TransactionFeePaid').actualFee);
  const eveClaimed = BigInt(eventData(api, eveEvents, 'rewards', 'RewardsClaimed').amount);
  assert.equal(eveClaimed, ids.expected.toEve + ids.expected.poolEach);
  assert.equal(await free(k.eve), eve + eveClaimed - eveFee);
  assert.equal(await issuance(), startIssuance - feesBurned);
});

