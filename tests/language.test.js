// The language model kind on a dev chain: a datanet of real text (Debian's
// fortunes, by `tributary-worker corpus`), a generative model trained on it
// with `train --kind lm` and registered, three workers that fetch it and
// answer a job by continuing a prompt, agreeing byte for byte, and exact span
// attribution that credits (and pays) the contribution the continuation came
// from; then a low-rank adapter of that model, trained on another datanet
// with `train --kind lora` and registered as its child, answered by the same
// workers over the base's resident module, crediting the adapter's own
// contributions and paying the base's owner through the graph.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect, rpc, waitFor } from './lib/node.js';
import { sendOk, eventData } from './lib/tx.js';
import {
  startWorker, contributeDemoData, trainModel, completedJob, loggedOutput, waitServing, startContentServer, workerCommand,
  pythonCommand,
} from './lib/worker.js';
import { devAccounts } from './lib/chain.js';

const WORKERS = { bob: 'Bob', charlie: 'Charlie', dave: 'Dave' };

let node;
let api;
let dir;
let contentServer;
const k = {};
const workers = [];
let trained; // the first test's model: { id, artifact, index, uri, content, corpus }

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-language-'));
  node = await startNode('language-node', ['--dev', '--dev-block-time', '1000']);
  api = await connect(node);
  Object.assign(k, devAccounts(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']));
});

after(async () => {
  for (const w of workers) await w.kill();
  await contentServer?.stop();
  await api?.disconnect();
  await node?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

test('a language model trained on real text answers a job, credited to the contribution it continues', async () => {
  const corpus = join(dir, 'corpus');
  workerCommand(['corpus', '--category', 'food', '--max-texts', '24', '--per-contribution', '4', '--out', corpus]);
  const content = join(dir, 'content');
  const { datanets, contributions } = await contributeDemoData(api, content, k.alice, [k.eve, k.ferdie], corpus);
  assert.equal(Object.keys(contributions).length, 6);

  contentServer = await startContentServer('language-content', { dir, content });
  const model = trainModel(node, content, 'Ferdie', [
    '--kind', 'lm', '--datanet', String(datanets[0]), '--min-span', '12', '--price', '1', '--uri', contentServer.uri,
  ], { epochs: 300 });
  assert.match(model.out, /tributary-language-model\/1 on \d+ tokens, context 64/);
  const registered = (await api.query.registry.models(model.id)).unwrap();
  assert.equal(JSON.parse(registered.metadata.toUtf8()).format, 'tributary-language-model/1');
  trained = {
    id: model.id, artifact: registered.artifactHash, index: registered.attributionIndexHash, uri: contentServer.uri, content,
  };
  // Training refuses a language model's options for a classifier, before it reads anything.
  assert.throws(
    () => workerCommand(['train', '--node', node.url, '--datanet', '0', '--context', '32']),
    /for --kind lm/,
  );

  for (const [name, key] of Object.entries(WORKERS)) {
    workers.push(await startWorker(name, node, {
      dir, devKey: key, content: join(dir, `${name}-cache`), extra: ['--register', '200', '--capacity', '2'],
    }));
  }
  await Promise.all(workers.map((w) => w.waitLog(/following the chain/, 120_000)));
  await Promise.all(Object.keys(WORKERS).map((w) => waitServing(node, k[w].address, [model.id])));

  // The beginning of the second contribution's first text, asked as a prompt.
  const [plantedId, planted] = Object.entries(contributions)[1];
  const text = readFileSync(join(corpus, planted.file), 'utf8').split('\n')[0].split('\t')[1];
  const prompt = text.slice(0, 24);
  const fee = (await api.call.computeApi.quote(model.id, null)).unwrap().toBigInt();
  const events = await sendOk(api, api.tx.compute.submitJob(model.id, prompt, fee, null), k.alice);
  const { jobId } = eventData(api, events, 'compute', 'JobSubmitted');
  const job = await completedJob(node, jobId, 120_000);
  const [outputHash, attribution] = job.outcome;
  // The chain keeps the output's hash; the workers log the output itself.
  const output = loggedOutput(workers, jobId);
  assert.equal(blake2AsHex(output), outputHash);
  const continuation = JSON.parse(output).text;
  assert.ok(continuation.length > 0, 'the model continued the prompt');
  assert.ok(text.startsWith(prompt + continuation.slice(0, 8)), `"${prompt}" went on as in its source: "${continuation}"`);
  // Every worker computed the same bytes: the job completed with all three in the majority.
  assert.equal(job.workers.length, 3);
  const [top, share] = attribution[0];
  assert.equal(String(top), plantedId, `credited ${JSON.stringify(attribution)}`);
  assert.ok(share > 500_000_000, `most of the continuation is the planted text's: ${share}`);
  const earned = (await api.call.rewardsApi.contributionEarnings(plantedId)).toBigInt();
  assert.ok(earned > 0n, 'the contribution was paid through the attribution graph');
  assert.deepEqual(readdirSync(corpus), ['food']);
});

test('workers refuse to serve a model whose index credits contributions it was not registered with', async () => {
  assert.ok(trained, 'the first test registered a model');
  // The same files, registered by someone else as trained on a datanet of
  // its own: the index's spans would pay contributions of another datanet.
  const created = await sendOk(api, api.tx.registry.createDatanet('elsewhere', 'Open'), k.eve);
  const { datanetId } = eventData(api, created, 'registry', 'DatanetCreated');
  await sendOk(api, api.tx.registry.contribute(datanetId, blake2AsHex('not a fortune'), 13, ''), k.eve);
  const registered = await sendOk(api, api.tx.registry.registerModel(
    trained.artifact, trained.index, trained.uri, 'copied', [[datanetId, 400_000_000]], [], 1_000_000_000_000n,
  ), k.eve);
  const { modelId } = eventData(api, registered, 'registry', 'ModelRegistered');
  const refused = new RegExp(`refusing to serve the model model_id=${modelId} error=its index names contribution \\d+ of datanet \\d+, which is not in a snapshot the model was trained on`);
  await Promise.all(workers.map((w) => w.waitLog(refused, 60_000)));
  // Blocks later, every worker still serves the honest model and never the copy.
  const from = (await api.rpc.chain.getHeader()).number.toNumber();
  await waitFor('five more blocks', async () => (await api.rpc.chain.getHeader()).number.toNumber() >= from + 5, 30_000, 250);
  for (const key of Object.values(WORKERS)) {
    const record = await rpc(node, 'compute_worker', [k[key.toLowerCase()].address]);
    assert.ok(record.models.includes(Number(trained.id)), `${key} serves model ${trained.id}: ${record.models}`);
    assert.ok(!record.models.includes(Number(modelId)), `${key} does not serve the copy: ${record.models}`);
  }
});

test('an adapter of the model, trained on another datanet, is served over the base and pays the base through the graph', async () => {
  assert.ok(trained, 'the first test registered a model');
  const corpus = join(dir, 'law-corpus');
  workerCommand(['corpus', '--category', 'law', '--max-texts', '8', '--per-contribution', '4', '--out', corpus]);
  const { datanets, contributions } = await contributeDemoData(api, trained.content, k.alice, [k.eve], corpus);
  const lawIds = Object.keys(contributions).map(Number);

  // An adapter's options are refused for another kind, and --kind lora
  // without a base, before anything is read.
  assert.throws(() => workerCommand(['train', '--node', node.url, '--datanet', '0', '--rank', '4']), /for --kind lora/);
  assert.throws(() => workerCommand(['train', '--node', node.url, '--kind', 'lora', '--datanet', '0']), /needs --base ID:PERCENT/);
  assert.throws(
    () => workerCommand(['train', '--node', node.url, '--kind', 'lora', '--base', `${trained.id}:30`, '--datanet', '0', '--context', '32']),
    /keeps its base's shape/,
  );

  const adapter = trainModel(node, trained.content, 'Alice', [
    '--kind', 'lora', '--base', `${trained.id}:30`, '--datanet', String(datanets[0]), '--price', '1', '--uri', trained.uri,
  ], { epochs: 300 });
  assert.match(adapter.out, new RegExp(`tributary-lora-adapter/1 of model ${trained.id} on \\d+ tokens, rank 16`));
  assert.match(adapter.out, new RegExp(`parents +\\[\\(${trained.id}, 300000000\\)\\]`));
  const registered = (await api.query.registry.models(adapter.id)).unwrap();
  assert.equal(JSON.parse(registered.metadata.toUtf8()).base, trained.id);
  await Promise.all(Object.keys(WORKERS).map((w) => waitServing(node, k[w].address, [trained.id, adapter.id])));

  const baseEarned = (await api.call.rewardsApi.modelEarnings(trained.id)).toBigInt();
  const [plantedId, planted] = Object.entries(contributions)[1];
  const text = readFileSync(join(corpus, planted.file), 'utf8').split('\n')[0].split('\t')[1];
  const fee = (await api.call.computeApi.quote(adapter.id, null)).unwrap().toBigInt();
  const events = await sendOk(api, api.tx.compute.submitJob(adapter.id, text.slice(0, 24), fee, null), k.alice);
  const { jobId } = eventData(api, events, 'compute', 'JobSubmitted');
  const job = await completedJob(node, jobId, 120_000);
  // Every worker computed the same bytes over its resident base.
  assert.equal(job.workers.length, 3);
  const output = loggedOutput(workers, jobId);
  assert.equal(blake2AsHex(output), job.outcome[0]);
  const attribution = job.outcome[1];
  assert.ok(attribution.length > 0, `the continuation holds spans of the adapter's data: ${output}`);
  assert.ok(attribution.every(([c]) => lawIds.includes(Number(c))), `only the adapter's contributions are named: ${JSON.stringify(attribution)}`);
  assert.ok(attribution.some(([c]) => String(c) === plantedId), `the planted passage's contribution is credited: ${JSON.stringify(attribution)}`);
  const baseNow = (await api.call.rewardsApi.modelEarnings(trained.id)).toBigInt();
  assert.ok(baseNow > baseEarned, `the base's owner earned through the adapter's answer: ${baseEarned} -> ${baseNow}`);
  // Each worker loaded the adapter once, over the base's module.
  for (const w of workers) {
    await waitFor(`${w.name}'s adapter loads in its metrics`, async () => {
      const m = await w.metrics();
      return m['tributary_worker_adapter_loads_total{loaded="adapter"}'] >= 1 ? m : null;
    }, 30_000, 500);
  }
});

test('a language model built and exported in Python is published, served and attributed on the chain', async () => {
  assert.ok(trained, 'the first test registered a model');
  const corpus = join(dir, 'science-corpus');
  workerCommand(['corpus', '--category', 'science', '--max-texts', '8', '--per-contribution', '4', '--out', corpus]);
  const { datanets, contributions } = await contributeDemoData(api, trained.content, k.alice, [k.eve], corpus);
  const named = Object.entries(contributions).flatMap(([id, c]) => ['--contribution', `${id}=${join(corpus, c.file)}`]);

  // PyTorch's own transformer, trained and exported outside the worker.
  const out = join(dir, 'python-model');
  const exported = pythonCommand('example_lm.py', [...named, '--out', out, '--epochs', '1000']);
  assert.match(exported, /exported tributary-language-model\/1: 8 texts, \d+ tokens/);

  // What is not a language model's span index is refused before anything is registered.
  const models = (await api.query.registry.nextModelId()).toNumber();
  const publish = (index) => workerCommand([
    'publish', '--node', node.url, '--content-dir', trained.content, '--artifact', join(out, 'model.pt'),
    '--index', index, '--price', '1', '--uri', trained.uri, '--register', '--dev-key', 'Charlie',
  ]);
  assert.throws(() => publish(join(out, 'card.json')), /safetensors|index/i);
  assert.equal((await api.query.registry.nextModelId()).toNumber(), models);

  const published = publish(join(out, 'index.safetensors'));
  assert.match(published, /loaded: tributary-language-model\/1 on \d+ tokens, context 64/);
  const modelId = Number(/registered model (\d+)/.exec(published)?.[1]);
  assert.equal(modelId, models);
  const registered = (await api.query.registry.models(modelId)).unwrap();
  assert.equal(JSON.parse(registered.metadata.toUtf8()).format, 'tributary-language-model/1');
  const edges = await api.query.attribution.trainingEdges(modelId);
  assert.deepEqual(edges.map(([datanet]) => datanet.toNumber()), [datanets[0]], 'its data share goes to the datanet its index names');
  await Promise.all(Object.keys(WORKERS).map((w) => waitServing(node, k[w].address, [modelId])));

  // A passage of the second contribution that the other does not share
  // (fortunes repeat: two contributions holding one passage split its credit).
  const [[, other], [plantedId, planted]] = Object.entries(contributions);
  const elsewhere = readFileSync(join(corpus, other.file), 'utf8');
  const text = readFileSync(join(corpus, planted.file), 'utf8').split('\n').map((line) => line.split('\t')[1])
    .find((t) => t && !elsewhere.includes(t.slice(0, 48)));
  const prompt = text.slice(0, 24);
  const fee = (await api.call.computeApi.quote(modelId, null)).unwrap().toBigInt();
  const events = await sendOk(api, api.tx.compute.submitJob(modelId, prompt, fee, null), k.alice);
  const { jobId } = eventData(api, events, 'compute', 'JobSubmitted');
  const job = await completedJob(node, jobId, 120_000);
  // Three workers ran the Python-built module and agreed byte for byte.
  assert.equal(job.workers.length, 3);
  const output = loggedOutput(workers, jobId);
  assert.equal(blake2AsHex(output), job.outcome[0]);
  const continuation = JSON.parse(output).text;
  assert.ok(text.startsWith(prompt + continuation.slice(0, 8)), `"${prompt}" went on as in its source: "${continuation}"`);
  const [top, share] = job.outcome[1][0];
  assert.equal(String(top), plantedId, `credited ${JSON.stringify(job.outcome[1])}`);
  assert.ok(share > 500_000_000, `most of the continuation is the planted text's: ${share}`);
  assert.ok((await api.call.rewardsApi.contributionEarnings(plantedId)).toBigInt() > 0n, 'its contribution was paid');
});
