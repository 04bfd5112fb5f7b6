// The compute worker against a real dev node: data contributed on chain, a
// model trained on it with libtorch, published by its owner's content server
// and registered with its URL, three worker processes that start with empty
// caches, fetch it and run jobs with Proof of Attribution, and the failures
// they must survive: SIGKILL at each step, the node going away under them, a
// corrupt cache, and a model whose server is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect, waitFor, rpc } from './lib/node.js';
import { sendOk, eventData } from './lib/tx.js';
import {
  startWorker, contributeDemoData, trainModel, loggedOutput, completedJob, DEMO_DATANETS, waitServing,
  startContentServer, workerCommand,
} from './lib/worker.js';
import { treasuryAddress, devAccounts } from './lib/chain.js';

const TRIB = 1_000_000_000_000n;
const WORKERS = { bob: 'Bob', charlie: 'Charlie', dave: 'Dave' };

let node;
let api;
let dir;
let content; // the data's and the model owner's content directory
let contentServer; // publishes it
const cache = (name) => join(dir, `${name}-cache`); // each worker's own, empty at first
const k = {};
const workers = {};
let contributions = {}; // id -> { file, contributor, datanet, hash }
let modelId;
let failures = []; // every ExtrinsicFailed seen while the workers run
let unsubscribeEvents;

async function watchFailures() {
  unsubscribeEvents = await api.query.system.events((events) => {
    for (const { event } of events) {
      if (event.section === 'system' && event.method === 'ExtrinsicFailed') {
        failures.push(event.toHuman());
      }
    }
  });
}

async function startWorkers() {
  for (const [name, key] of Object.entries(WORKERS)) {
    workers[name] = await startWorker(name, node, {
      dir, devKey: key, content: cache(name), extra: ['--register', '200', '--capacity', '2'],
    });
  }
  await waitFor('three registered workers', async () => {
    const found = await Promise.all(Object.keys(WORKERS).map((w) => rpc(node, 'compute_worker', [k[w].address])));
    return found.every(Boolean);
  }, 60_000, 250);
  await Promise.all(Object.values(workers).map((w) => w.waitLog(/following the chain/)));
  // Each fetches the model from its URI, declares it, and is drawn for it.
  await Promise.all(Object.keys(WORKERS).map((w) => waitServing(node, k[w].address, [modelId])));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-worker-'));
  content = join(dir, 'content');
  node = await startNode('worker-node', ['--dev', '--dev-block-time', '1000']);
  api = await connect(node);
  Object.assign(k, devAccounts(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']));
  await watchFailures();
});

after(async () => {
  unsubscribeEvents?.();
  for (const w of Object.values(workers)) await w.kill();
  await contentServer?.stop();
  await api?.disconnect();
  await node?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

test('contributions go into the content directory and on chain from several accounts', async () => {
  // Contributors that are not workers, so that what each earns is told apart.
  ({ contributions } = await contributeDemoData(api, content, k.alice, [k.alice, k.eve, k.ferdie]));
  assert.equal(Object.keys(contributions).length, 12);
  for (const { file, hash } of Object.values(contributions)) {
    const bytes = readFileSync(join(DEMO_DATANETS, file));
    assert.equal(hash, blake2AsHex(bytes), 'the content directory names files by blake2-256');
    assert.deepEqual(readFileSync(join(content, hash.slice(2))), bytes);
  }
});

test('the model factory trains on the approved contributions and registers the model with its URL', async () => {
  contentServer = await startContentServer('content-server', { dir, content });
  const model = trainModel(node, content, 'Alice', [
    '--datanet', '0', '--datanet', '1', '--price', '1', '--uri', contentServer.uri,
  ]);
  modelId = model.id;
  assert.ok(model.accuracy >= 95, `training accuracy ${model.accuracy}%`);
  const record = (await api.query.registry.models(modelId)).unwrap();
  const artifact = /artifact_hash\s+(0x[0-9a-f]+)/.exec(model.out)[1];
  assert.equal(record.artifactHash.toHex(), artifact);
  assert.equal(record.uri.toUtf8(), contentServer.uri);
  assert.match(model.out, new RegExp(`uri\\s+${contentServer.uri}`), 'train prints the URI it registers');
  // The artifact in the content directory is what the chain names.
  assert.equal(blake2AsHex(readFileSync(join(content, artifact.slice(2)))), artifact);
  const upstream = await api.call.attributionApi.upstreamShares(modelId);
  assert.equal(upstream.unwrap().length, 2, 'both datanets have a training share');
});

async function submit(input) {
  const quote = (await api.call.computeApi.quote(modelId, null)).unwrap().toBigInt();
  const events = await sendOk(api, api.tx.compute.submitJob(modelId, input, quote, null), k.ferdie);
  const { jobId, fee } = eventData(api, events, 'compute', 'JobSubmitted');
  return { jobId, fee: BigInt(fee) };
}

/** The `JobSettled` split of `jobId`, searched in the latest blocks. */
async function settledSplit(jobId) {
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  for (let b = best; b > Math.max(0, best - 30); b--) {
    const events = await (await api.at(await api.rpc.chain.getBlockHash(b))).query.system.events();
    const found = eventData(api, events, 'rewards', 'JobSettled');
    if (found && found.jobId === jobId) return found;
  }
  throw new Error(`no JobSettled for job ${jobId}`);
}

const completed = (jobId) => completedJob(node, jobId);

/** The hashes of model `id`'s artifact and index, as registered. */
async function registered(id) {
  const model = (await api.query.registry.models(id)).unwrap();
  return [model.artifactHash.toHex(), model.attributionIndexHash.toHex()];
}

async function stakes() {
  const all = {};
  for (const w of Object.keys(WORKERS)) {
    all[w] = BigInt((await rpc(node, 'compute_worker', [k[w].address])).stake);
  }
  return all;
}

test('three workers run a job: the answer, its attribution, and the fee split among all who earned it', async () => {
  await startWorkers();
  const before = await stakes();
  const treasury = treasuryAddress(api);
  const treasuryBefore = (await api.query.system.account(treasury)).data.free.toBigInt();
  const submittedAt = Date.now();
  const { jobId, fee } = await submit('Heavy rain and strong winds will hit the coast tonight');
  const job = await completed(jobId);
  const latencyMs = Date.now() - submittedAt;
  const [outputHash, attribution] = job.outcome;
  assert.equal(job.workers.length, 3);
  for (const [, result] of job.workers) assert.ok(result.revealed, JSON.stringify(result));
  // The answer is the label the model gave; the chain holds its hash.
  const output = loggedOutput(Object.values(workers), jobId);
  assert.match(output, /^\{"label":"weather","confidence":0\.\d{4}\}$/);
  assert.equal(outputHash, blake2AsHex(output));
  // The contribution the question nearly copies is named first.
  assert.ok(attribution.length > 0 && attribution.length <= 32);
  assert.equal(contributions[attribution[0][0]].file, 'weather-sport/storm-warnings.txt', JSON.stringify(attribution));
  assert.ok(attribution.reduce((s, [, parts]) => s + parts, 0) <= 1_000_000_000);

  // Settlement: every worker, the model's owner, the contributions (named and
  // through their datanets' pools) and the treasury, adding up to the fee.
  const split = await settledSplit(jobId);
  const parts = ['workerShare', 'modelShare', 'upstreamShare', 'dataShare', 'treasuryShare'];
  assert.equal(parts.reduce((s, p) => s + BigInt(split[p]), 0n), fee);
  for (const w of Object.keys(WORKERS)) {
    assert.equal((await api.call.rewardsApi.claimable(k[w].address)).toBigInt(), BigInt(split.workerShare) / 3n);
  }
  assert.equal((await api.call.rewardsApi.modelEarnings(modelId)).toBigInt(), BigInt(split.modelShare));
  const earned = {};
  for (const id of Object.keys(contributions)) {
    earned[id] = (await api.call.rewardsApi.contributionEarnings(id)).toBigInt();
  }
  const toData = Object.values(earned).reduce((s, e) => s + e, 0n);
  const dust = BigInt(split.upstreamShare) + BigInt(split.dataShare) - toData;
  assert.ok(dust >= 0n && dust < 12n, `the pools hold back at most rounding carries (${dust})`);
  const [top] = attribution[0];
  assert.ok(Object.entries(earned).every(([id, e]) => e <= earned[top] || id === String(top)), 'the top contribution earned most');
  const treasuryNow = (await api.query.system.account(treasury)).data.free.toBigInt();
  assert.equal(treasuryNow - treasuryBefore, BigInt(split.treasuryShare));
  assert.deepEqual(await stakes(), before, 'nobody was slashed');
  const files = await registered(modelId);
  for (const [name, w] of Object.entries(workers)) {
    const m = await w.metrics();
    assert.equal(m['tributary_worker_submissions_total{step="commit"}'], 1);
    assert.equal(m['tributary_worker_submissions_total{step="reveal"}'], 1);
    // Both files came over HTTP into the worker's own cache, once.
    assert.equal(m['tributary_worker_model_fetches_total{outcome="downloaded"}'], 2, name);
    for (const hash of files) assert.ok(existsSync(join(cache(name), hash.slice(2))), `${name} caches ${hash}`);
  }
  console.log(`# one job, submission to completion with 1 s blocks: ${latencyMs} ms`);
});

for (const [step, marker] of [
  ['after computing, before committing', (id) => new RegExp(`computed job_id=${id} `)],
  ['after sending the commitment', (id) => new RegExp(`sent job_id=Some\\(${id}\\) .*step=Commit`)],
  ['after sending the reveal', (id) => new RegExp(`sent job_id=Some\\(${id}\\) .*step=Reveal`)],
]) {
  test(`a worker killed ${step} finishes the job unslashed, each step sent once`, async () => {
    const before = await stakes();
    const failed = failures.length;
    const { jobId } = await submit('The striker scored a late goal to win the cup final');
    await workers.bob.waitLog(marker(jobId), 60_000);
    await workers.bob.kill('SIGKILL');
    workers.bob = await startWorker('bob', node, { dir, devKey: 'Bob', content: cache('bob') });
    const job = await completed(jobId);
    const bob = job.workers.find(([who]) => who === k.bob.address);
    assert.ok(bob[1].revealed, `bob revealed: ${JSON.stringify(job.workers)}`);
    assert.deepEqual(await stakes(), before, 'nobody was slashed');
    assert.deepEqual(failures.slice(failed), [], 'no transaction failed: no step was sent twice');
  });
}

test('a worker killed after committing that loses its journal still reveals: its salt comes from its key', async () => {
  const before = await stakes();
  const failed = failures.length;
  const { jobId } = await submit('A cold front brings hail and thunder to the valley');
  await workers.bob.waitLog(new RegExp(`sent job_id=Some\\(${jobId}\\) .*step=Commit`), 60_000);
  await workers.bob.kill('SIGKILL');
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `bob.sqlite${suffix}`), { force: true });
  workers.bob = await startWorker('bob', node, { dir, devKey: 'Bob', content: cache('bob') });
  const job = await completed(jobId);
  const bob = job.workers.find(([who]) => who === k.bob.address);
  assert.ok(bob[1].revealed, `bob revealed without his journal: ${JSON.stringify(job.workers)}`);
  assert.deepEqual(await stakes(), before, 'nobody was slashed');
  assert.deepEqual(failures.slice(failed), [], 'no transaction failed');
});

test('the node goes away: workers back off without a storm, reconnect, and the job completes', async () => {
  const { jobId } = await submit('Stocks rallied after the central bank held interest rates');
  await waitFor(`job ${jobId} assigned`, async () => (await rpc(node, 'compute_job', [jobId]))?.status === 'committing', 30_000, 100);
  unsubscribeEvents?.();
  await api.disconnect();
  const { rpcPort, base } = node;
  await node.stop({ keepBase: true });
  const attempts = async () => (await workers.charlie.metrics()).tributary_worker_connection_attempts_total;
  const start = await attempts();
  await new Promise((r) => setTimeout(r, 8000));
  const during = (await attempts()) - start;
  assert.ok(during >= 2, `the worker kept trying (${during} attempts)`);
  assert.ok(during <= 8, `${during} connection attempts in 8 s: no retry storm`);
  node = await startNode('worker-node', ['--dev', '--dev-block-time', '1000'], { basePath: base, rpcPort });
  api = await connect(node);
  const failed = failures.length;
  await watchFailures();
  const job = await completed(jobId);
  assert.equal(job.workers.filter(([, r]) => r.revealed).length, 3);
  const after = await completed((await submit('Knead the dough and bake the bread until brown')).jobId);
  assert.equal(after.status, 'completed');
  assert.deepEqual(failures.slice(failed), [], 'no transaction failed after the restart: no step was sent twice');
  console.log(`# connection attempts while the node was down for 8 s: ${during}`);
});

test('operator commands share the daemon\'s nonces while it runs: status, set-capacity, claim, health, SIGTERM', async () => {
  const journal = join(dir, 'bob.sqlite');
  const op = (args) => workerCommand([...args, '--node', node.url, '--dev-key', 'Bob', '--journal', journal]);
  const failed = failures.length;
  // A job in flight while the operator signs for the same account.
  const { jobId } = await submit('Light drizzle is expected over the hills this afternoon');
  assert.match(op(['set-capacity', '3']), /set_capacity: final; events .*WorkerStaking\.CapacitySet/);
  assert.equal((await rpc(node, 'compute_worker', [k.bob.address])).capacity, 3);
  await waitFor('bob\'s executor to follow the chain\'s capacity', async () => {
    const health = await (await fetch(`http://${await workers.bob.metricsAddress()}/health`)).json();
    return health.status === 'ok' && health.capacity === 3;
  }, 30_000, 250);
  await completed(jobId);
  const claimable = (await api.call.rewardsApi.claimable(k.bob.address)).toBigInt();
  assert.ok(claimable > 0n, 'bob has earned');
  const freeBefore = (await api.query.system.account(k.bob.address)).data.free.toBigInt();
  assert.match(op(['claim']), /claim: final; events .*Rewards\.RewardsClaimed/);
  assert.equal((await api.call.rewardsApi.claimable(k.bob.address)).toBigInt(), 0n);
  assert.ok((await api.query.system.account(k.bob.address)).data.free.toBigInt() > freeBefore);
  const status = op(['status']);
  assert.match(status, new RegExp(`account\\s+${k.bob.address}`));
  assert.match(status, /capacity\s+3 /);
  assert.match(status, new RegExp(`models\\s+\\[${modelId}\\]`));
  assert.match(status, /claimable\s+0\.000000 TRIB/);
  assert.match(status, /journal\s+jobs: .*done/);
  // The operator's choice of models is kept in the journal for the daemon.
  assert.match(op(['serve-models', String(modelId)]), /serve: final; events .*WorkerStaking\.ModelsServed/);
  assert.match(op(['status']), new RegExp(`serve-models \\[${modelId}\\]`));
  assert.match(op(['serve-models', '--available']), /left to the daemon/);
  assert.doesNotMatch(op(['status']), /serve-models/);
  // Bad input is refused before anything is signed.
  assert.throws(() => op(['set-capacity', '0']), /a capacity is 1 to 64 jobs, not 0/);
  assert.throws(() => op(['serve-models']), /required|--available/);
  // The daemon runs on, and none of the account's transactions collided.
  const after = await completed((await submit('The keeper saved a penalty in extra time')).jobId);
  assert.equal(after.status, 'completed');
  assert.deepEqual(failures.slice(failed), [], 'no transaction failed: no nonce was used twice');
  // SIGTERM drains what was admitted and exits cleanly.
  const exited = new Promise((r) => workers.bob.proc.once('exit', (code) => r(code)));
  workers.bob.proc.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(workers.bob.log(), /terminated; draining/);
  assert.match(workers.bob.log(), /drained: every admitted job's answer is journaled/);
  workers.bob = await startWorker('bob', node, { dir, devKey: 'Bob', content: cache('bob'), extra: ['--capacity', '2'] });
  await waitFor('bob back at capacity 2', async () => (await rpc(node, 'compute_worker', [k.bob.address])).capacity === 2, 30_000, 250);
});

test('a worker whose cached copy is corrupt fetches the model again and serves it', async () => {
  // Eve's cache holds both files, but her artifact's bytes are not what the
  // chain names: she refuses it, fetches it again from the model's URI, and
  // declares the model only then.
  cpSync(content, cache('eve'), { recursive: true });
  const [artifact] = await registered(modelId);
  writeFileSync(join(cache('eve'), artifact.slice(2)), 'not the model');
  workers.eve = await startWorker('eve', node, {
    dir, devKey: 'Eve', content: cache('eve'), extra: ['--register', '200', '--capacity', '2'],
  });
  await waitServing(node, k.eve.address, [modelId]);
  const m = await workers.eve.metrics();
  assert.equal(m['tributary_worker_model_fetches_total{outcome="downloaded"}'], 1, 'only the corrupt file was fetched');
  assert.equal(blake2AsHex(readFileSync(join(cache('eve'), artifact.slice(2)))), artifact);
  await workers.eve.kill();
  delete workers.eve;
});

test('a worker that cannot fetch a model it declared declines its jobs unslashed, and they complete', async () => {
  // The owner's server goes away; Eve, with an empty cache, declares the
  // model all the same (--serve), is drawn, cannot fetch it, and declines.
  await contentServer.stop();
  rmSync(cache('eve'), { recursive: true, force: true });
  workers.eve = await startWorker('eve', node, {
    dir, devKey: 'Eve', content: cache('eve'), extra: ['--serve', String(modelId)],
  });
  await waitServing(node, k.eve.address, [modelId]);
  const eveStake = BigInt((await rpc(node, 'compute_worker', [k.eve.address])).stake);
  const failed = failures.length;
  let declined;
  for (let tries = 0; tries < 12 && declined === undefined; tries++) {
    const { jobId } = await submit(`Question ${tries}: will it rain on the match?`);
    const job = await completed(jobId);
    assert.equal(job.workers.filter(([, r]) => r.revealed).length, 3, JSON.stringify(job.workers));
    if (job.workers.some(([who, r]) => who === k.eve.address && r === 'declined')) declined = jobId;
  }
  assert.notEqual(declined, undefined, 'Eve was drawn and declined');
  assert.match(workers.eve.log(), new RegExp(`declining the job job_id=${declined} `));
  assert.match(workers.eve.log(), /fetch failed; retrying/);
  assert.equal(BigInt((await rpc(node, 'compute_worker', [k.eve.address])).stake), eveStake, 'declining cost no stake');
  assert.deepEqual(failures.slice(failed), [], 'no transaction failed');
  // Her operator takes her out of the draw, beside the running daemon.
  const out = workerCommand(['deregister', '--node', node.url, '--dev-key', 'Eve', '--journal', join(dir, 'eve.sqlite')]);
  assert.match(out, /deregister: final; events .*WorkerStaking\.WorkerDeregistered/);
  assert.equal((await rpc(node, 'compute_worker', [k.eve.address])).leaving, true);
  assert.deepEqual(failures.slice(failed), [], 'no transaction failed');
  await workers.eve.kill();
  delete workers.eve;
});
