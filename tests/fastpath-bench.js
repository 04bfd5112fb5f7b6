// The fast path's figures (issue 15; not a timed test): a dev chain, the demo
// data, one model, one worker with an endpoint; `tributary-worker
// bench-fast-path` then measures the answer latency against the same model
// answering in its own process, and throughput against an executor pool of the
// worker's size (one thread, as tests/lib/worker.js starts it);
// this script counts the receipts the worker settled in each block while it
// ran. Run by scripts/fastpath-bench.sh; `--requests N` (default 2000),
// `--channels C` (default 8).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startNode, connect, freePort, waitFor } from './lib/node.js';
import { sendOk } from './lib/tx.js';
import { devAccounts } from './lib/chain.js';
import { startWorker, contributeDemoData, trainModel, waitServing, workerBinary } from './lib/worker.js';
import { argValue } from './lib/args.js';

const requests = argValue('--requests', '2000');
const channels = argValue('--channels', '8');
const dir = mkdtempSync(join(tmpdir(), 'tributary-fastpath-bench-'));
const content = join(dir, 'content');
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Eve']);

const node = await startNode('bench', ['--dev', '--dev-block-time', '1000']);
const api = await connect(node);
let worker;
try {
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
  const out = execFileSync(workerBinary(), [
    'bench-fast-path', '--node', node.url, '--dev-key', 'Charlie', '--model', String(model),
    '--content-dir', content, '--requests', requests, '--channels', channels, '--threads', '1',
  ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
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
} finally {
  await worker?.kill();
  await api.disconnect();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}
