// The fault script (not a timed test): jobs stream through compute workers on
// the four-validator `local` chain while workers are killed with SIGKILL at
// random moments and restarted, the node the workers follow is restarted
// (they fail over to a second node), and a validator is stopped and started
// again (forks happen on this chain). It prints what an operator must be
// able to count on: every job completed, no salt lost, no step sent twice,
// no honest worker slashed, and how hard the workers knock on a node while
// it is down; it exits non-zero when any of those fails. Run by
// scripts/faults.sh; `--kills N` (default 100); tests/faults.test.js runs a
// short one in the suite.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, connect, rpc, waitFor } from './lib/node.js';
import { sendOk, eventData } from './lib/tx.js';
import { devAccounts } from './lib/chain.js';
import {
  startWorker, contributeDemoData, trainModel, completedJob, waitServing, startContentServer,
} from './lib/worker.js';
import { argValue } from './lib/args.js';

const TRIB = 1_000_000_000_000n;
const KILLS = Number(argValue('--kills', 100));
const WORKERS = ['Worker1', 'Worker2', 'Worker3', 'Worker4'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const random = (lo, hi) => lo + Math.random() * (hi - lo);
const say = (line = '') => console.log(line);

const dir = mkdtempSync(join(tmpdir(), 'tributary-faults-'));
const started = Date.now();
say(`fault script: ${KILLS} worker kills, a node restart, a validator stopped (working directory ${dir})`);

// The local chain: four validators; the workers follow Alice's and Bob's nodes.
const validators = ['alice', 'bob', 'charlie', 'dave'];
for (const v of validators) mkdirSync(join(dir, v));
const nodes = {};
nodes.alice = await startNode('alice', ['--chain', 'local', '--alice', '--validator'], { basePath: join(dir, 'alice') });
const peerId = await rpc(nodes.alice, 'system_localPeerId');
const bootnode = `/ip4/127.0.0.1/tcp/${nodes.alice.p2pPort}/p2p/${peerId}`;
for (const v of validators.slice(1)) {
  nodes[v] = await startNode(v, ['--chain', 'local', `--${v}`, '--validator', '--bootnodes', bootnode], { basePath: join(dir, v) });
}
// A restarted validator comes back with a new network identity: it finds
// the others through Charlie's node, which stays up throughout.
const charlieId = await rpc(nodes.charlie, 'system_localPeerId');
const rejoin = `/ip4/127.0.0.1/tcp/${nodes.charlie.p2pPort}/p2p/${charlieId}`;
const restart = async (name) => {
  const { rpcPort } = nodes[name];
  nodes[name] = await startNode(name, ['--chain', 'local', `--${name}`, '--validator', '--bootnodes', rejoin], { basePath: join(dir, name), rpcPort });
};
let api = await connect(nodes.charlie); // the requester's node is never stopped
const k = devAccounts(['Alice', 'Ferdie', ...WORKERS]);

say('set-up: data, a model published by its owner, four staked workers with empty caches');
for (const w of WORKERS) await sendOk(api, api.tx.balances.transferKeepAlive(k[w.toLowerCase()].address, 1000n * TRIB), k.alice);
const content = join(dir, 'content');
const { datanets } = await contributeDemoData(api, content, k.alice, [k.alice, k.ferdie]);
const server = await startContentServer('content-server', { dir, content });
const modelId = trainModel(nodes.charlie, content, 'Alice', [...datanets.flatMap((d) => ['--datanet', String(d)]), '--uri', server.uri]).id;
const workerNodes = `${nodes.alice.url},${nodes.bob.url}`;
const workers = {};
const start = async (w) => {
  workers[w] = await startWorker(w.toLowerCase(), { url: workerNodes }, {
    dir, devKey: w, content: join(dir, `${w}-cache`), extra: ['--register', '200', '--capacity', '4'],
  });
};
for (const w of WORKERS) await start(w);
await Promise.all(WORKERS.map((w) => waitServing(nodes.charlie, k[w.toLowerCase()].address, [modelId], 180_000)));

// Everything from here on is read from the finalized chain at the end.
const firstBlock = parseInt((await rpc(nodes.charlie, 'chain_getHeader')).number, 16);
const jobs = [];
let streaming = true;
const stream = (async () => {
  let n = 0;
  while (streaming) {
    const quote = (await api.call.computeApi.quote(modelId, null)).unwrap().toBigInt();
    try {
      const events = await sendOk(api, api.tx.compute.submitJob(modelId, `Question ${n++}: rain, goals, stocks or bread?`, quote * 2n, null), k.ferdie);
      jobs.push(eventData(api, events, 'compute', 'JobSubmitted').jobId);
    } catch (e) {
      say(`  submission refused: ${e.message}`);
    }
    await sleep(random(1000, 4000));
  }
})();

say(`streaming jobs; killing workers with SIGKILL ${KILLS} times`);
let outage;
for (let kill = 1; kill <= KILLS; kill++) {
  const w = WORKERS[Math.floor(Math.random() * WORKERS.length)];
  await sleep(random(200, 3000));
  await workers[w].kill('SIGKILL');
  await sleep(random(0, 1500));
  await start(w);
  if (kill === Math.floor(KILLS / 3)) {
    // The workers' first node restarts: they fail over to the second at
    // once. Their attempts while it is down are counted.
    const before = await attempts();
    const t0 = Date.now();
    await nodes.alice.stop({ keepBase: true });
    await sleep(15_000);
    const during = (await attempts()) - before;
    const seconds = (Date.now() - t0) / 1000;
    await restart('alice');
    outage = { during, seconds };
    say(`  kill ${kill}: Alice's node was down ${seconds.toFixed(0)} s; the workers made ${during} connection attempts`);
  }
  if (kill === Math.floor((2 * KILLS) / 3)) {
    // A validator stops (forks and slower finality) and comes back.
    await nodes.dave.stop({ keepBase: true });
    say(`  kill ${kill}: Dave's validator stopped`);
  }
  if (kill % 10 === 0) say(`  ${kill} kills, ${jobs.length} jobs submitted`);
}
if (nodes.dave.exited) await restart('dave');
streaming = false;
await stream;

async function attempts() {
  let sum = 0;
  for (const w of Object.values(workers)) {
    try { sum += (await w.metrics()).tributary_worker_connection_attempts_total ?? 0; } catch { /* restarting */ }
  }
  return sum;
}

say(`waiting for all ${jobs.length} jobs to end`);
const outcomes = { completed: 0, failed: 0 };
for (const jobId of jobs) {
  let job;
  try {
    job = await waitFor(`job ${jobId} to end`, async () => {
      const j = await rpc(nodes.charlie, 'compute_job', [jobId]);
      return j && ['completed', 'failed', 'cancelled'].includes(j.status) ? j : null;
    }, 900_000, 1000);
  } catch (e) {
    say(`  ${e.message}; the job on Charlie's best block: ${JSON.stringify(await rpc(nodes.charlie, 'compute_job', [jobId]))}`);
    for (const line of await chainReport()) say(`  ${line}`);
    throw e;
  }
  outcomes[job.status === 'completed' ? 'completed' : 'failed'] += 1;
}

// Each node's best and finalized block and peers, for a run that got stuck.
async function chainReport() {
  const lines = [];
  for (const [name, node] of Object.entries(nodes)) {
    try {
      const best = parseInt((await rpc(node, 'chain_getHeader')).number, 16);
      const final = parseInt((await rpc(node, 'chain_getHeader', [await rpc(node, 'chain_getFinalizedHead')])).number, 16);
      const { peers, isSyncing } = await rpc(node, 'system_health');
      lines.push(`${name}: best ${best}, finalized ${final}, ${peers} peers${isSyncing ? ', syncing' : ''}`);
    } catch (e) {
      lines.push(`${name}: ${e.message}`);
    }
  }
  // What the workers logged as errors (a declined job, a model cut off).
  for (const [name, w] of Object.entries(workers)) {
    for (const line of w.log().split('\n').filter((l) => / ERROR /.test(l)).slice(-5)) lines.push(`${name}: ${line}`);
  }
  return lines;
}
await waitFor('finality to catch up', async () => {
  const best = parseInt((await rpc(nodes.charlie, 'chain_getHeader')).number, 16);
  const final = parseInt((await rpc(nodes.charlie, 'chain_getHeader', [await rpc(nodes.charlie, 'chain_getFinalizedHead')])).number, 16);
  return best - final <= 2;
}, 300_000, 1000);

// The finalized chain's record: slashes by reason, failed extrinsics of the
// workers, and every commit and reveal a worker got into a block.
const workerAddresses = new Set(WORKERS.map((w) => k[w.toLowerCase()].address));
const slashes = { CommitTimeout: 0, NoReveal: 0, Minority: 0 };
const doubleSteps = [];
const steps = new Map();
const finalHash = await rpc(nodes.charlie, 'chain_getFinalizedHead');
const lastBlock = parseInt((await rpc(nodes.charlie, 'chain_getHeader', [finalHash])).number, 16);
for (let b = firstBlock; b <= lastBlock; b++) {
  const hash = await api.rpc.chain.getBlockHash(b);
  const [block, events] = await Promise.all([api.rpc.chain.getBlock(hash), (await api.at(hash)).query.system.events()]);
  for (const { event, phase } of events) {
    if (event.section === 'workerStaking' && event.method === 'Slashed') slashes[event.data.reason.toString()] += 1;
    if (event.section === 'system' && event.method === 'ExtrinsicFailed' && phase.isApplyExtrinsic) {
      const xt = block.block.extrinsics[phase.asApplyExtrinsic.toNumber()];
      if (xt.isSigned && workerAddresses.has(xt.signer.toString())) {
        const [error] = event.data;
        const reason = error.isModule ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(error.asModule)) : error.toString();
        doubleSteps.push(`block ${b}: ${xt.signer} ${xt.method.section}.${xt.method.method}(${xt.method.args[0] ?? ''}) nonce ${xt.nonce} failed: ${reason}`);
      }
    }
  }
  for (const xt of block.block.extrinsics) {
    if (!xt.isSigned || !workerAddresses.has(xt.signer.toString())) continue;
    const { section, method, args } = xt.method;
    if (section !== 'compute' || !['commitResult', 'revealResult'].includes(method)) continue;
    const key = `${xt.signer} ${method}(${args[0]})`;
    steps.set(key, [...(steps.get(key) ?? []), `block ${b} nonce ${xt.nonce}`]);
  }
}
for (const [key, at] of steps) if (at.length > 1) doubleSteps.push(`${key} included ${at.length} times: ${at.join(', ')}`);
const doubles = doubleSteps.length;

say('\nfigures');
say(`  jobs submitted                          ${jobs.length}`);
say(`  jobs completed                          ${outcomes.completed}`);
say(`  jobs failed                             ${outcomes.failed}`);
say(`  lost salts (NoReveal slashes)           ${slashes.NoReveal}`);
say(`  double submissions                      ${doubles}`);
for (const line of doubleSteps) say(`    ${line}`);
say(`  wrongful slashes (all workers honest)   ${slashes.CommitTimeout + slashes.NoReveal + slashes.Minority}` +
  ` (commit timeouts ${slashes.CommitTimeout}, no reveal ${slashes.NoReveal}, minority ${slashes.Minority})`);
// Forks: the reorganisations the workers' two nodes logged.
const reorgs = ['alice', 'bob'].map((n) => (readFileSync(join(dir, n, 'node.log'), 'utf8').match(/Reorg on/g) ?? []).length);
say(`  reorganisations on the workers' nodes  ${reorgs.join(' and ')}`);
if (outage) {
  say(`  connection attempts per second, node down, per worker  ${(outage.during / outage.seconds / WORKERS.length).toFixed(2)}`);
}
say(`  blocks ${firstBlock}..${lastBlock}, ${((Date.now() - started) / 1000).toFixed(0)} s in all`);

// What must hold: an honest worker on working hardware is never slashed,
// and nothing is lost or sent twice.
const wrong = outcomes.failed + doubles + slashes.CommitTimeout + slashes.NoReveal + slashes.Minority;
if (wrong > 0 || outcomes.completed !== jobs.length) {
  say('\nFAILED: every figure above but the last two must be 0 and every job must complete');
  process.exitCode = 1;
}

await api.disconnect();
for (const w of Object.values(workers)) await w.kill();
await server.stop();
for (const n of Object.values(nodes)) await n.stop({ keepBase: true });
if (!process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
