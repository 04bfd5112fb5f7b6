// The main job: a dev chain where data, models and compute earn. Started by
// scripts/demo.sh (which builds first); `node demo.js --keep` leaves the
// network running afterwards.
//
// One dev node and three compute workers on loopback; two datanets filled by
// four contributors, and two of real text (Debian's fortunes, food and law);
// a base classifier trained with libtorch on the first two, a child model
// trained on one, a language model trained on the food fortunes and a
// low-rank adapter of it on the law ones, published by a content server and
// registered with their URL and lineage; workers that fetch them
// into empty caches; a stream of questions; then who earned what, adding up
// to the fees paid.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { startNode, connect, freePort, waitFor, finalizedNumber } from './lib/node.js';
import { startPostgres } from './lib/postgres.js';
import { startIndexer, indexerBinary } from './lib/indexer.js';
import { sendOk, eventData } from './lib/tx.js';
import { treasuryAddress } from './lib/chain.js';
import {
  startWorker, contributeDemoData, trainModel, loggedOutput, completedJob, waitServing, workerCommand,
  startContentServer,
} from './lib/worker.js';

const TRIB = 1_000_000_000_000n;
const keep = process.argv.includes('--keep');
const QUESTIONS = [
  ['base', 'Heavy rain and strong winds will hit the coast tonight'],
  ['base', 'The striker scored a late goal to win the cup final'],
  ['base', 'Stocks rallied after the central bank held interest rates'],
  ['base', 'Knead the dough and bake the bread until the crust is brown'],
  ['child', 'Snow and freezing temperatures are expected by morning'],
  ['child', 'The point guard scored thirty points in the playoff game'],
  ['base', 'Simmer the tomato sauce with garlic for twenty minutes'],
  ['base', 'The startup closed a funding round led by venture capital'],
];

// Asked on the fast path, of the base model.
const FAST = [
  'Thunderstorms will roll in over the hills this evening',
  'The goalkeeper saved a penalty in the shootout',
  'Bond yields fell as investors sought safety',
  'Whisk the eggs with sugar until pale and fluffy',
  'A heat wave is forecast for the weekend',
  'The sprinter broke the national record',
  'The company reported record quarterly profits',
  'Roast the vegetables with olive oil and rosemary',
];

const trib = (units) => {
  const whole = units / TRIB;
  const frac = (units % TRIB).toString().padStart(12, '0').slice(0, 6);
  return `${whole}.${frac}`;
};
const say = (line = '') => console.log(line);

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'tributary-demo-'));
const content = join(dir, 'content');
mkdirSync(join(dir, 'node'));
// 9944 (polkadot.js Apps' default) when it is free, else any free port.
const port = process.env.RPC_PORT ? Number(process.env.RPC_PORT) : await new Promise((resolve) => {
  const probe = createServer();
  probe.once('error', () => freePort().then(resolve));
  probe.listen(9944, '127.0.0.1', () => probe.close(() => resolve(9944)));
});
say(`Tributary demo (working directory ${dir})`);
// An archive node: the indexer's reconciliation reads every block's state.
const node = await startNode('demo', ['--dev', '--dev-block-time', '1000', '--state-pruning', 'archive'], { basePath: join(dir, 'node'), rpcPort: port });
const api = await connect(node);
// The indexer follows the chain into a PostgreSQL of the demo's own from the
// first block; the chain never waits for it.
const pg = await startPostgres('demo');
const indexer = await startIndexer(node, pg.url, dir, await freePort());
const keyring = new Keyring({ type: 'sr25519', ss58Format: 7390 });
const who = {};
for (const name of ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie', 'Worker1', 'Worker2', 'Worker3', 'Requester']) {
  who[name] = keyring.addFromUri(`//${name}`);
}
const nameOf = (address) => Object.keys(who).find((n) => who[n].address === address) ?? address;

say('\n1. Funding three compute workers and a requester from Alice');
for (const name of ['Worker1', 'Worker2', 'Worker3', 'Requester']) {
  await sendOk(api, api.tx.balances.transferKeepAlive(who[name].address, 1000n * TRIB), who.Alice);
}

say('2. Two datanets; four contributors add labelled text (content-addressed, hashes on chain)');
const contributors = ['Bob', 'Charlie', 'Dave', 'Eve'];
const { datanets, contributions } = await contributeDemoData(api, content, who.Alice, contributors.map((c) => who[c]));
// Real text no one here wrote: 24 fortunes about food, four a contribution.
const corpus = join(dir, 'corpus');
workerCommand(['corpus', '--category', 'food', '--max-texts', '24', '--per-contribution', '4', '--out', corpus]);
const fortunes = await contributeDemoData(api, content, who.Alice, contributors.map((c) => who[c]), corpus);
datanets.push(...fortunes.datanets);
Object.assign(contributions, fortunes.contributions);
// And 8 about the law, two contributions, for an adapter of the language model.
const lawCorpus = join(dir, 'law-corpus');
workerCommand(['corpus', '--category', 'law', '--max-texts', '8', '--per-contribution', '4', '--out', lawCorpus]);
const law = await contributeDemoData(api, content, who.Alice, contributors.map((c) => who[c]), lawCorpus);
datanets.push(...law.datanets);
Object.assign(contributions, law.contributions);
for (const id of datanets) {
  const files = Object.values(contributions).filter((c) => c.datanet === id);
  say(`   datanet ${id} "${files[0].file.split('/')[0]}": ${files.length} contributions`);
}
// The language model is asked to go on from the beginnings of two of them.
for (const c of Object.values(fortunes.contributions).filter((_, i) => i % 3 === 1)) {
  const text = readFileSync(join(corpus, c.file), 'utf8').split('\n')[0].split('\t')[1];
  QUESTIONS.push(['lm', text.slice(0, 24)]);
}
// The adapter is asked to go on from the beginning of a law text, last, so
// that step 8 shows its fee reaching the base's owner through the graph.
const lawText = readFileSync(join(lawCorpus, Object.values(law.contributions)[0].file), 'utf8').split('\n')[0].split('\t')[1];

say('3. Training with libtorch (tributary-worker train), publishing and registering the models');
const contentServer = await startContentServer('content-server', { dir, content });
say(`   files published by tributary-worker serve-content at ${contentServer.uri}`);
const uri = ['--uri', contentServer.uri];
const base = trainModel(node, content, 'Ferdie', ['--datanet', String(datanets[0]), '--datanet', String(datanets[1]), '--price', '1', ...uri]);
say(`   model ${base.id} (Ferdie): both datanets, training accuracy ${base.accuracy}%`);
const child = trainModel(node, content, 'Alice', ['--datanet', String(datanets[1]), '--parent', `${base.id}:30`, '--price', '0.5', ...uri]);
say(`   model ${child.id} (Alice): weather-sport only, child of model ${base.id} with a 30% share`);
const lm = trainModel(node, content, 'Charlie', [
  '--kind', 'lm', '--datanet', String(datanets[2]), '--min-span', '12', '--price', '1', ...uri,
], { epochs: 300 });
say(`   model ${lm.id} (Charlie): a language model (a byte-level transformer) on the fortunes, credited by exact spans`);
const adapter = trainModel(node, content, 'Alice', [
  '--kind', 'lora', '--base', `${lm.id}:30`, '--datanet', String(datanets[3]), '--price', '1', ...uri,
], { epochs: 300 });
say(`   model ${adapter.id} (Alice): a low-rank adapter of model ${lm.id} on the law fortunes (train --kind lora), child of model ${lm.id} with a 30% share, served over the base's resident module`);
const models = { base: base.id, child: child.id, lm: lm.id, adapter: adapter.id };
QUESTIONS.push(['adapter', lawText.slice(0, 24)]);

say('4. Three compute workers register, stake, follow the chain, and fetch the models into empty caches');
const workers = [];
for (const [i, name] of ['Worker1', 'Worker2', 'Worker3'].entries()) {
  workers.push(await startWorker(`worker${i + 1}`, node, {
    dir,
    devKey: name,
    content: join(dir, `worker${i + 1}-cache`),
    // The endpoint requesters find on chain; the fast path listens there.
    extra: ['--register', '200', '--capacity', '2', '--endpoint', `http://127.0.0.1:${await freePort()}`, '--settle-every', '3'],
  }));
}
await Promise.all(workers.map((w) => w.waitLog(/following the chain/, 120_000)));
// Each declares the models it has fetched and verified: it is drawn only for those.
await Promise.all(['Worker1', 'Worker2', 'Worker3'].map((name) => waitServing(node, who[name].address, [base.id, child.id, lm.id, adapter.id])));
const fetched = await Promise.all(workers.map(async (w) => (await w.metrics()).tributary_worker_fetched_bytes_total));
say(`   fetched and verified: ${fetched.map((b) => `${(b / 1024).toFixed(0)} KiB`).join(', ')}`);
const treasury = treasuryAddress(api);
const treasuryBefore = (await api.query.system.account(treasury)).data.free.toBigInt();

say(`5. ${QUESTIONS.length} questions, each answered by three workers and settled on chain\n`);
// Every JobSettled and ReceiptsSettled from here on: the split of every fee.
const settled = [];
const receiptsSettled = [];
const unsubscribe = await api.query.system.events((events) => {
  for (const { event } of events) {
    if (event.section === 'rewards' && ['JobSettled', 'ReceiptsSettled'].includes(event.method)) settled.push(event.data);
    if (event.section === 'channels' && event.method === 'ReceiptsSettled') receiptsSettled.push(event.data);
  }
});
let feesPaid = 0n;
const jobs = [];
for (const [model, question] of QUESTIONS) {
  const fee = (await api.call.computeApi.quote(models[model], null)).unwrap().toBigInt();
  const events = await sendOk(api, api.tx.compute.submitJob(models[model], question, fee, null), who.Requester);
  const { jobId, fee: held } = eventData(api, events, 'compute', 'JobSubmitted');
  feesPaid += BigInt(held);
  jobs.push({ jobId, model, question });
}
for (const { jobId, model, question } of jobs) {
  const job = await completedJob(node, jobId, 120_000);
  const answer = loggedOutput(workers, jobId) ?? '(see the chain)';
  const [, attribution] = job.outcome;
  say(`   job ${jobId} [model ${models[model]}] "${question}"`);
  say(`     answer ${answer}`);
  for (const [id, parts] of attribution.slice(0, 3)) {
    const c = contributions[id];
    say(`     ${(parts / 1e7).toFixed(1).padStart(5)}%  contribution ${id} ${c.file} (${contributors[c.contributor]})`);
  }
  if (attribution.length > 3) say(`            …and ${attribution.length - 3} more named contributions`);
}

say(`\n6. The fast path: ${FAST.length} more questions asked of the workers directly, paid through channels`);
// `tributary-worker ask` finds the workers with endpoints on chain, opens a
// channel to each, and checks every receipt before it signs the next voucher.
const ask = (questions) => workerCommand([
  'ask', '--node', node.url, '--dev-key', 'Requester', '--model', String(base.id), '--workers', '3',
  '--deposit', '5', '--book', join(dir, 'requester-book.sqlite'), ...questions,
]).trim().split('\n').map((line) => JSON.parse(line));
const opened = ask(FAST.slice(0, 3));
const asking = Date.now();
const answered = [...opened, ...ask(FAST.slice(3))];
const perAnswer = (Date.now() - asking) / (FAST.length - 3);
for (const [i, a] of answered.entries()) {
  say(`   "${FAST[i]}"`);
  say(`     answer ${a.output}  from ${nameOf(a.worker)} on channel ${a.channel}, receipt ${a.sequence}`);
}
say(`   channels opened, one per worker: ${[...new Set(answered.map((a) => a.channel))].join(', ')}`);
say(`   ${FAST.length - 3} more in a second ask run: ${perAnswer.toFixed(0)} ms each, counting the process's start and its connection to the node`);
say('   (an answer alone takes about 2 ms round trip: scripts/fastpath-bench.sh)');
const receiptsByChannel = {};
for (const a of answered) receiptsByChannel[a.channel] = Math.max(receiptsByChannel[a.channel] ?? 0, a.sequence);
await waitFor('the workers to settle every receipt', async () => {
  for (const [channel, sequence] of Object.entries(receiptsByChannel)) {
    const onChain = (await api.query.channels.channels(channel)).unwrap();
    if (onChain.sequence.toNumber() < sequence) return false;
  }
  return true;
}, 120_000, 500);
const receiptFees = receiptsSettled.reduce((s, d) => s + d.amount.toBigInt(), 0n);
feesPaid += receiptFees;
say(`   settled by the workers themselves: ${receiptsSettled.reduce((n, d) => n + d.count.toNumber(), 0)} receipts in ${receiptsSettled.length} settle extrinsics, ${trib(receiptFees)} TRIB`);

const sum = (f) => settled.reduce((s, d) => s + d[f].toBigInt(), 0n);

unsubscribe();
say('\n7. Who earned what');
const rows = [];
for (const name of ['Worker1', 'Worker2', 'Worker3']) {
  rows.push([`${name} (compute)`, (await api.call.rewardsApi.claimable(who[name].address)).toBigInt()]);
}
for (const [label, id] of [
  [`Ferdie (model ${models.base} owner)`, models.base],
  [`Alice (model ${models.child} owner)`, models.child],
  [`Charlie (model ${models.lm} owner)`, models.lm],
]) {
  rows.push([label, (await api.call.rewardsApi.modelEarnings(id)).toBigInt()]);
}
const byContributor = {};
for (const id of Object.keys(contributions)) {
  const earned = (await api.call.rewardsApi.contributionEarnings(id)).toBigInt();
  const c = contributors[contributions[id].contributor];
  byContributor[c] = (byContributor[c] ?? 0n) + earned;
}
for (const c of contributors) rows.push([`${c} (data contributions)`, byContributor[c] ?? 0n]);
const treasuryNow = (await api.query.system.account(treasury)).data.free.toBigInt();
rows.push(['Treasury', treasuryNow - treasuryBefore]);
// The audit share of every fast-path price pays for audits of receipts.
rows.push(['Audit pot (5% of fast-path prices)', receiptsSettled.reduce((s, d) => s + d.auditShare.toBigInt(), 0n)]);
const total = rows.reduce((s, [, v]) => s + v, 0n);
for (const [label, v] of rows) say(`   ${label.padEnd(34)} ${trib(v).padStart(14)} TRIB`);
say(`   ${'-'.repeat(34)} ${'-'.repeat(14)}`);
say(`   ${'total earned'.padEnd(34)} ${trib(total).padStart(14)} TRIB`);
say(`   ${'paid by the requester'.padEnd(34)} ${trib(feesPaid).padStart(14)} TRIB`);
say(`   ${'settled (Job/ReceiptsSettled)'.padEnd(34)} ${trib(sum('workerShare') + sum('modelShare') + sum('upstreamShare') + sum('dataShare') + sum('treasuryShare')).padStart(14)} TRIB`);
const dust = feesPaid - total;
say(`   ${'in pools, not yet credited'.padEnd(34)} ${trib(dust).padStart(14)} TRIB  (accumulator rounding carries)`);

say('\n8. Where the fees went, as the indexer recorded it (PostgreSQL, from finalized blocks)');
await indexer.reach(await finalizedNumber(node), 120_000);
const { body: indexedJobs } = await indexer.get('/api/jobs?limit=100');
const settledJobs = indexedJobs.filter((j) => j.split);
const lastJob = settledJobs[0];
say(`   ${(await indexer.get('/api/status')).body.indexed + 1} blocks indexed; ${settledJobs.length} jobs settled`);
if (lastJob) {
  // Every beneficiary of the last job's fee, as the chain's JobSettled named it.
  const { body: detail } = await indexer.get(`/api/jobs/${lastJob.id}`);
  const named = (account) => Object.keys(who).find((n) => u8aToHex(who[n].publicKey) === account) ?? `${account.slice(0, 10)}…`;
  const payee = (c) => ({
    Worker: () => `worker ${named(c.account)}`,
    Model: () => `${named(c.account)}, owner of model ${c.model}`,
    Contribution: () => `${named(c.account)}, contribution ${c.contribution}`,
    Pool: () => `pool of datanet ${c.datanet} (snapshot ${c.snapshot})`,
  })[c.kind]();
  say(`   job ${lastJob.id}: ${trib(BigInt(lastJob.fee))} TRIB paid by ${named(lastJob.requester)}, credited to:`);
  for (const c of detail.credits) say(`     ${payee(c).padEnd(40)} ${trib(BigInt(c.amount)).padStart(14)} TRIB`);
  say(`     ${'treasury'.padEnd(40)} ${trib(BigInt(lastJob.split.treasury)).padStart(14)} TRIB`);
}
// The history's sums against the chain's state: claimable balances,
// contributions' and models' earnings, workers' stakes.
const reconciled = spawnSync(indexerBinary(), ['reconcile', '--node', node.url, '--database', pg.url], { encoding: 'utf8' });
const verdict = reconciled.status === 0 ? reconciled.stdout : reconciled.stdout + reconciled.stderr;
say(`   reconcile against the chain: ${verdict.trim().split('\n').slice(reconciled.status === 0 ? -1 : -5).join('\n     ')}`);
say(`   explorer: ${indexer.url}  (lineage, jobs, and each job's flow of funds: ${indexer.url}?job=<id>)`);

say(`\nDone in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
say(`polkadot.js Apps: https://polkadot.js.org/apps/?rpc=ws%3A%2F%2F127.0.0.1%3A${node.rpcPort}#/explorer`);
const metrics = await Promise.all(workers.map(async (w) => `http://${await w.metricsAddress()}/metrics`));
say(`worker metrics:   ${metrics.join(' ')}`);
await api.disconnect();
if (keep) {
  say('\n--keep: the node, the workers, the indexer and its PostgreSQL keep running; Ctrl-C stops them.');
  await new Promise(() => {});
}
for (const w of workers) await w.stop();
await indexer.stop();
await pg.stop();
await contentServer.stop();
await node.stop({ keepBase: true });
