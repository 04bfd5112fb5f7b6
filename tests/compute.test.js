// The compute market on a dev chain: staked workers (accounts in this test)
// are drawn for a job, commit, reveal, and the majority's result completes it;
// the job, the queue, the price and the workers read back over RPC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect, waitFor, rpc } from './lib/node.js';
import { send, sendOk, eventData } from './lib/tx.js';
import { commitment, treasuryAddress } from './lib/chain.js';

const TRIB = 1_000_000_000_000n;
const PERBILL = 1_000_000_000;
const pct = (p) => p * (PERBILL / 100);
const WORKERS = ['bob', 'charlie', 'dave', 'eve'];

let node;
let api;
const k = {};
const ids = {};

before(async () => {
  node = await startNode('compute', ['--dev', '--dev-block-time', '500']);
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

const saltOf = (who, jobId) => blake2AsHex(`${who}-${jobId}`);

async function jobRecord(jobId) {
  return rpc(node, 'compute_job', [jobId]);
}

async function assignedWorkers(jobId) {
  const job = await waitFor(`job ${jobId} to be assigned`, async () => {
    const record = await jobRecord(jobId);
    return record?.status === 'committing' ? record : null;
  }, 30_000, 250);
  return job.workers.map(([account]) => WORKERS.find((w) => k[w].address === account));
}

async function commitAll(jobId, workers, answerOf) {
  await Promise.all(workers.map((w) => {
    const { output, attribution } = answerOf(w);
    return sendOk(api, api.tx.compute.commitResult(
      jobId, commitment(api, jobId, k[w].address, output, attribution, saltOf(w, jobId)),
    ), k[w]);
  }));
}

function reveal(jobId, w, { output, attribution }, salt = saltOf(w, jobId)) {
  return send(api, api.tx.compute.revealResult(jobId, output, attribution, salt), k[w]);
}

test('four accounts register as workers with their stake held', async () => {
  const stake = api.consts.workerStaking.minWorkerStake.toBigInt();
  assert.equal(stake, 100n * TRIB);
  await Promise.all(WORKERS.map(async (w) => {
    const events = await sendOk(api, api.tx.workerStaking.registerWorker(stake, 'http://127.0.0.1:0', 2, 'test'), k[w]);
    assert.equal(eventData(api, events, 'workerStaking', 'WorkerRegistered').worker, k[w].address);
    // A worker is drawn only for the models it declares; these cover the
    // models this file registers.
    const served = await sendOk(api, api.tx.workerStaking.serveModels([3, 0, 1, 2]), k[w]);
    assert.deepEqual(eventData(api, served, 'workerStaking', 'ModelsServed').models.map(Number), [0, 1, 2, 3]);
  }));
  const record = await rpc(node, 'compute_worker', [k.bob.address]);
  assert.deepEqual(record.models, [0, 1, 2, 3]);
  // The class is the blake2-256 of the engine the worker registered with.
  assert.equal(record.class, blake2AsHex('test'));
  assert.equal(record.capacity, 2);
  assert.equal(record.reputation, 500);
  // Amounts come as decimal strings, exact beyond 2^53.
  assert.equal(record.stake, stake.toString());
});

test('a datanet with two contributions and a model trained on it', async () => {
  const created = await sendOk(api, api.tx.registry.createDatanet('reviews', 'Open'), k.alice);
  ids.datanet = eventData(api, created, 'registry', 'DatanetCreated').datanetId;
  ids.contributions = [];
  for (const text of ['great product', 'terrible product']) {
    const events = await sendOk(api, api.tx.registry.contribute(ids.datanet, blake2AsHex(text), text.length, ''), k.ferdie);
    ids.contributions.push(eventData(api, events, 'registry', 'ContributionSubmitted').contributionId);
  }
  const model = await sendOk(api, api.tx.registry.registerModel(
    blake2AsHex('artifact'), blake2AsHex('index'), '', 'sentiment', [[ids.datanet, pct(40)]], [], TRIB,
  ), k.alice);
  ids.model = eventData(api, model, 'registry', 'ModelRegistered').modelId;
});

test('the price is the model price plus the compute fee per worker, quoted the same two ways', async () => {
  const computeFee = api.consts.compute.computeFee.toBigInt();
  const want = TRIB + 3n * computeFee;
  assert.equal(await rpc(node, 'compute_quote', [ids.model, null]), want.toString());
  assert.equal((await api.call.computeApi.quote(ids.model, null)).unwrap().toBigInt(), want);
  assert.equal(await rpc(node, 'compute_quote', [999, null]), null);
  ids.price = want;
});

test('submissions the chain cannot take are refused with their own errors', async () => {
  const attempt = async (model, maxFee, redundancy) =>
    (await send(api, api.tx.compute.submitJob(model, 'x', maxFee, redundancy), k.alice)).error;
  assert.equal(await attempt(999, ids.price, null), 'compute.UnknownModel');
  assert.equal(await attempt(ids.model, ids.price - 1n, null), 'compute.FeeBelowPrice');
  assert.equal(await attempt(ids.model, ids.price, 6), 'compute.BadRedundancy');
  const queue = (await rpc(node, 'compute_queue'));
  assert.equal(queue.depth, 0);
  assert.equal(queue.capacity, api.consts.compute.maxQueuedJobs.toNumber());
  assert.equal(queue.computeFee, api.consts.compute.computeFee.toBigInt().toString());
  assert.equal(queue.congestionPerBillion, '1000000000');
});

test('a job is drawn three workers who commit, reveal and complete it', async () => {
  const treasury = treasuryAddress(api);
  const before = (await api.query.system.account(treasury)).data.free.toBigInt();
  const submitted = await sendOk(api, api.tx.compute.submitJob(ids.model, 'is this product good?', ids.price, null), k.alice);
  const { jobId, fee } = eventData(api, submitted, 'compute', 'JobSubmitted');
  assert.equal(BigInt(fee), ids.price);

  const workers = await assignedWorkers(jobId);
  assert.equal(new Set(workers).size, 3);
  assert.deepEqual(await rpc(node, 'compute_assignments', [k[workers[0]].address]), [jobId]);

  const attribution = [[ids.contributions[0], pct(70)], [ids.contributions[1], pct(20)]];
  const answer = { output: 'positive', attribution };
  await commitAll(jobId, workers, () => answer);
  assert.equal((await jobRecord(jobId)).status, 'revealing');

  // Another worker's salt does not open this worker's commitment.
  const { error } = await reveal(jobId, workers[0], answer, saltOf(workers[1], jobId));
  assert.equal(error, 'compute.RevealMismatch');

  let completed;
  for (const w of workers) {
    const { events, error: revealError } = await reveal(jobId, w, answer);
    assert.equal(revealError, null);
    completed ??= eventData(api, events, 'compute', 'JobCompleted');
  }
  assert.equal(completed.jobId, jobId);
  assert.equal(completed.outputHash, blake2AsHex('positive'));
  assert.deepEqual(completed.attribution, attribution);

  const record = await jobRecord(jobId);
  assert.equal(record.status, 'completed');
  assert.equal(record.fee, ids.price.toString());
  // The record holds its deposit until it is pruned, a day after it finished.
  const deposit = api.consts.compute.jobDepositBase.toBigInt()
    + api.consts.compute.jobDepositPerByte.toBigInt() * BigInt('is this product good?'.length);
  assert.equal(record.deposit, deposit.toString());
  assert.ok(Number.isInteger(record.finishedAt), JSON.stringify(record));
  const held = (await api.query.balances.holds(k.alice.address)).toJSON();
  assert.ok(held.some((h) => JSON.stringify(h.id).includes('JobDeposit') && BigInt(h.amount) === deposit), JSON.stringify(held));
  assert.equal(await rpc(node, 'compute_job', [999_999]), null);
  assert.deepEqual(record.outcome, [blake2AsHex('positive'), attribution]);
  // Settlement divided the fee; the treasury's part is 10% (tests/settlement.test.js checks the rest).
  const after = (await api.query.system.account(treasury)).data.free.toBigInt();
  assert.equal(after - before, ids.price / 10n);
  for (const w of workers) {
    assert.deepEqual(await rpc(node, 'compute_assignments', [k[w].address]), []);
    const worker = (await api.call.computeApi.worker(k[w].address)).unwrap();
    assert.equal(worker.openJobs.toNumber(), 0);
    assert.equal(worker.reputation.toNumber(), 510);
  }
  assert.equal((await rpc(node, 'compute_queue')).depth, 0);
});

test('a dissenting worker is slashed and the majority completes the job', async () => {
  const submitted = await sendOk(api, api.tx.compute.submitJob(ids.model, 'and this one?', ids.price, null), k.alice);
  const { jobId } = eventData(api, submitted, 'compute', 'JobSubmitted');
  const workers = await assignedWorkers(jobId);
  const dissenter = workers[2];
  const answerOf = (w) => ({ output: w === dissenter ? 'negative' : 'positive', attribution: [] });
  await commitAll(jobId, workers, answerOf);
  const slashed = [];
  for (const w of workers) {
    const { events, error } = await reveal(jobId, w, answerOf(w));
    assert.equal(error, null);
    const slash = eventData(api, events, 'workerStaking', 'Slashed');
    if (slash) slashed.push(slash);
  }
  assert.equal((await jobRecord(jobId)).status, 'completed');
  assert.equal(slashed.length, 1);
  assert.equal(slashed[0].worker, k[dissenter].address);
  assert.equal(slashed[0].reason, 'Minority');
  assert.equal(BigInt(slashed[0].amount), 10n * TRIB);
});
