// Starts real tributary-worker processes for tests, beside real nodes: a temp
// directory each for the journal, a shared content directory, and a log file
// the test can watch. Stopped with the node helpers' guarantee.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';
import { running, freePort, waitFor, rpc, projectBinary, logTail } from './node.js';
import { sendOk, eventData } from './tx.js';

/** The worker binary: $TRIBUTARY_WORKER, else the release build in the shared target dir. */
export const workerBinary = () => projectBinary('tributary-worker', 'TRIBUTARY_WORKER');

/** Python with PyTorch (scripts/setup-python.sh): $TRIBUTARY_PYTHON, else the shared cache's. */
const pythonBinary = () => process.env.TRIBUTARY_PYTHON
  || join(homedir(), '.cache/tributary/python-torch-2.13.0/bin/python');

/** Runs one of the repository's Python scripts (python/) and returns its stdout. */
export function pythonCommand(script, args) {
  const path = join(dirname(fileURLToPath(import.meta.url)), '../../python', script);
  return execFileSync(pythonBinary(), [path, ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 << 20,
  });
}

/** Runs a one-shot worker command (`put`, `train`, `infer`) and returns its stdout. */
export function workerCommand(args) {
  return execFileSync(workerBinary(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Starts `tributary-worker run` in `dir` (journal and log live there) against
 * `node`, signing as `//<devKey>`. Returns a handle: log(), waitLog(re),
 * metrics(), kill(signal), stop().
 */
export async function startWorker(name, node, { dir, devKey, content, extra = [] }) {
  const logPath = join(dir, `${name}.log`);
  // A restarted worker appends to its log: what this process wrote starts here.
  const logStart = existsSync(logPath) ? statSync(logPath).size : 0;
  const logFd = openSync(logPath, 'a');
  const args = [
    'run', '--node', node.url, '--dev-key', devKey,
    '--journal', join(dir, `${name}.sqlite`), '--content-dir', content,
    '--device', 'cpu', '--threads', '1', '--prometheus-port', '0',
    '--min-backoff-ms', '250', '--max-backoff-ms', '4000',
    ...extra,
  ];
  const proc = spawn(workerBinary(), args, {
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
  });
  closeSync(logFd);
  const worker = {
    name, proc, logPath, exited: false,
    log: () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').replace(/\x1b\[[0-9;]*m/g, '') : ''),
    async waitLog(re, timeoutMs = 60_000) {
      return waitFor(`${name} to log ${re}`, () => re.test(worker.log()), timeoutMs, 20);
    },
    /**
     * Where the worker serves /metrics and /health: it binds a port the
     * system picks and logs it, so no other process can take it first.
     */
    async metricsAddress() {
      const found = () => /serving \/metrics and \/health address=(127\.0\.0\.1:\d+)/
        .exec(readFileSync(logPath).subarray(logStart).toString('utf8'))?.[1];
      return waitFor(`${name} to serve /metrics`, () => {
        if (worker.exited) throw new Error(`${name} exited (${worker.exitStatus}):\n${logTail(worker)}`);
        return found();
      }, 60_000, 20);
    },
    async metrics() {
      const text = await (await fetch(`http://${await worker.metricsAddress()}/metrics`)).text();
      const values = {};
      for (const line of text.split('\n')) {
        const m = /^(tributary_worker_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
        if (m) values[m[1] + (m[2] ?? '')] = Number(m[3]);
      }
      return values;
    },
    async kill(signal = 'SIGKILL') {
      running.delete(worker);
      if (worker.exited) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await done;
    },
    stop() { return worker.kill('SIGTERM'); },
  };
  proc.on('exit', (code, signal) => { worker.exited = true; worker.exitStatus = signal ?? `code ${code}`; });
  running.add(worker);
  return worker;
}

/**
 * Publishes the content directory `content` with `tributary-worker
 * serve-content` on a free loopback port, as a model owner would. Returns
 * `{ uri, stop() }`; the model's files are then fetched from `uri`.
 */
export async function startContentServer(name, { dir, content }) {
  const port = await freePort();
  const logPath = join(dir, `${name}.log`);
  const logFd = openSync(logPath, 'a');
  const proc = spawn(workerBinary(), ['serve-content', '--content-dir', content, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(logFd);
  const server = {
    proc, uri: `http://127.0.0.1:${port}`, exited: false,
    async stop() {
      running.delete(server);
      if (server.exited) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
  };
  proc.on('exit', () => { server.exited = true; });
  running.add(server);
  await waitFor(`${name} to serve ${content}`, () => {
    if (server.exited) throw new Error(`serve-content exited:\n${readFileSync(logPath, 'utf8')}`);
    return /serving .* at http:\/\//.test(readFileSync(logPath, 'utf8'));
  }, 30_000, 50);
  return server;
}

/**
 * Waits until the worker `address` has declared on chain that it serves every
 * model in `models` (workers declare the models whose files they hold, or have
 * fetched from the models' URIs, once they follow the chain).
 */
export async function waitServing(node, address, models, timeoutMs = 60_000) {
  return waitFor(`${address} to serve models ${models}`, async () => {
    const record = await rpc(node, 'compute_worker', [address]);
    return record !== null && models.every((m) => record.models.includes(Number(m)));
  }, timeoutMs, 250);
}

/** The demo datanets shipped in the repository: `demo/datanets/<name>/*.txt`. */
export const DEMO_DATANETS = join(dirname(fileURLToPath(import.meta.url)), '../../demo/datanets');

/**
 * Creates the datanets under `from` (the demo's by default; one directory
 * each, owned by `owner`, open), puts each file into the content directory
 * `content` and contributes it on chain, taking turns among `contributors`.
 * Returns `{ datanets: [id…], contributions: { id: { file, contributor, datanet } } }`,
 * contributors named by their index in `contributors`.
 */
export async function contributeDemoData(api, content, owner, contributors, from = DEMO_DATANETS) {
  const datanets = [];
  const contributions = {};
  let n = 0;
  for (const datanet of readdirSync(from).sort()) {
    const created = await sendOk(api, api.tx.registry.createDatanet(datanet, 'Open'), owner);
    const datanetId = eventData(api, created, 'registry', 'DatanetCreated').datanetId;
    datanets.push(datanetId);
    for (const file of readdirSync(join(from, datanet)).sort()) {
      const path = join(from, datanet, file);
      const [hash] = workerCommand(['put', '--content-dir', content, path]).trim().split(' ');
      const contributor = n++ % contributors.length;
      const events = await sendOk(
        api, api.tx.registry.contribute(datanetId, hash, readFileSync(path).length, file), contributors[contributor],
      );
      const id = eventData(api, events, 'registry', 'ContributionSubmitted').contributionId;
      contributions[id] = { file: `${datanet}/${file}`, contributor, datanet: datanetId, hash };
    }
  }
  return { datanets, contributions };
}

/**
 * Trains a model with `tributary-worker train --register` signed by `//<devKey>`
 * for `epochs` passes; `args` picks the kind, datanets, parents and price.
 * Returns `{ id, accuracy, out }` (`accuracy` a classifier's only).
 */
export function trainModel(node, content, devKey, args, { epochs = 60 } = {}) {
  const out = workerCommand([
    'train', '--node', node.url, '--content-dir', content, '--epochs', String(epochs),
    '--register', '--dev-key', devKey, ...args,
  ]);
  const registered = /registered model (\d+)/.exec(out);
  if (!registered) throw new Error(`train registered no model:\n${out}`);
  const accuracy = /training accuracy ([0-9.]+)%/.exec(out)?.[1];
  return { id: Number(registered[1]), accuracy: accuracy && Number(accuracy), out };
}

/** The output a worker logged for `jobId` (`{"label":…}`), if any worker did. */
export function loggedOutput(workers, jobId) {
  for (const w of workers) {
    const line = w.log().split('\n').find((l) => l.includes(`computed job_id=${jobId} `));
    const output = line && /output=(\{[^}]*\})/.exec(line)?.[1];
    if (output) return output;
  }
  return undefined;
}

/** Waits until job `jobId` completes and returns its record; throws if it fails. */
export async function completedJob(node, jobId, timeoutMs = 90_000) {
  return waitFor(`job ${jobId} to complete`, async () => {
    const job = await rpc(node, 'compute_job', [jobId]);
    if (job?.status === 'failed') throw new Error(`job ${jobId} failed: ${JSON.stringify(job)}`);
    return job?.status === 'completed' ? job : null;
  }, timeoutMs, 250);
}
