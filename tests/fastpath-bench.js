// The fast path's figures (issue 15; not a timed test): a dev chain, the demo
// data, one model, one worker with an endpoint; `tributary-worker
// bench-fast-path` then measures the answer latency against the same model
// answering in its own process, and throughput against an executor pool of the
// worker's size (one thread, as tests/lib/worker.js starts it);
// this script counts the receipts the worker settled in each block while it
// ran, and samples how far an indexer following the chain lags finality
// under that load (issue 17), then reconciles its database with the chain.
// Run by scripts/fastpath-bench.sh; `--requests N` (default 2000),
// `--channels C` (default 8).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { startNode, connect, freePort, waitFor, finalizedNumber } from './lib/node.js';
import { startPostgres } from './lib/postgres.js';
import { startIndexer, indexerBinary } from './lib/indexer.js';
import { sendOk } from './lib/tx.js';
import { devAccounts } from './lib/chain.js';
import { startWorker, contributeDemoData, trainModel, waitServing, workerBinary } from './lib/worker.js';
import { argValue } from './lib/args.js';

const requests = argValue('--requests', '2000');
const channels = argValue('--channels', '8');
const dir = mkdtempSync(join(tmpdir(), 'tributary-fastpath-bench-'));
const content = join(dir, 'content');
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Eve']);

const node = await startNode('bench', ['--dev', '--dev-block-time', '1000', '--state-pruning', 'archive']);
const api = await connect(node);
const pg = await startPostgres('fastpath-bench');
let worker;
let indexer;
try {
  indexer = await startIndexer(node, pg.url, dir, await freePort());
  await contributeDemoData(api, content, k.alice, [k.eve]);
  const model = trainModel(node, content, 'Alice', ['--datanet', '0', '--datanet', '1', '--price', '0.001']).id;
  const url = `http://127.0.0.1:${await freePort()}`;
  worker = await startWorker('bench-worker', node, {
    dir, devKey: 'Bob', content,
    extra: ['--register', '200', '--endpoint', url, '--settle-every', '2'],
  });
  await worker.waitLog(/serving the fast path's JSON-RPC/);
  await waitServing(node, k.bob.address, [model]);
  const from = (await api.rpc.chain.getHeader()).number.toNumber();
  // The indexer's lag behind finality, sampled every half second from here
  // until every receipt has settled.
  const lags = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const finalized = await finalizedNumber(node);
      lags.push(Math.max(0, finalized - ((await indexer.get('/api/status')).body.indexed ?? -1)));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const out = await new Promise((resolve, reject) => {
    const bench = spawn(workerBinary(), [
      'bench-fast-path', '--node', node.url, '--dev-key', 'Charlie', '--model', String(model),
      '--content-dir', content, '--requests', requests, '--channels', channels, '--threads', '1',
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    bench.stdout.on('data', (chunk) => { text += chunk; });
    bench.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`bench-fast-path exited with ${code}`))));
  });
  process.stdout.write(out);
  const m = await worker.metrics();
  const inWorker = m.tributary_worker_request_seconds_sum / m.tributary_worker_request_seconds_count;
  console.log(`  of which in the worker (arrival to signed, journaled answer): ${(inWorker * 1e3).toFixed(3)} ms on average`);

  // Wait until every voucher has settled, then count receipts per block.
  await waitFor('the worker to settle every vouched receipt', async () => {
    const all = await api.query.channels.channels.entries();
    return all.every(([, c]) => { const ch = c.unwrap(); return ch.sequence.toNumber() > 0 || ch.worker.toString() !== k.bob.address; })
      && (await worker.metrics())['tributary_worker_receipts_sent_total'] > 0;
  }, 120_000, 1000);
  await new Promise((r) => setTimeout(r, 15_000));
  const to = (await api.rpc.chain.getHeader()).number.toNumber();
  let most = 0;
  let total = 0;
  let blocks = 0;
  for (let b = from; b <= to; b++) {
    const events = await (await api.at(await api.rpc.chain.getBlockHash(b))).query.system.events();
    const n = events.filter(({ event }) => event.section === 'channels' && event.method === 'ReceiptsSettled')
      .reduce((sum, { event }) => sum + event.data.count.toNumber(), 0);
    if (n > 0) blocks += 1;
    most = Math.max(most, n);
    total += n;
  }
  console.log(`  settled on the dev chain: ${total} receipts in ${blocks} blocks, at most ${most} in one block`);
  sampling = false;
  await sampler;
  lags.sort((a, b) => a - b);
  const at = (p) => lags[Math.min(lags.length - 1, Math.floor((lags.length * p) / 100))];
  console.log(`  indexer's lag behind finality under this load: p50 ${at(50)} blocks, p99 ${at(99)}, max ${lags[lags.length - 1]} (${lags.length} samples, 0.5 s apart, a block a second)`);
  await indexer.reach(to, 120_000);
  const reconciled = spawnSync(indexerBinary(), ['reconcile', '--node', node.url, '--database', pg.url, '--to', String(to)], { encoding: 'utf8' });
  console.log(`  the indexer's database reconciled with the chain at block ${to}: ${reconciled.stdout.trim().split('\n').pop()}`);
} finally {
  await indexer?.stop();
  await pg.stop();
  await worker?.kill();
  await api.disconnect();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}
