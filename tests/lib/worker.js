// Starts real tributary-worker processes for tests, beside real nodes: a temp
// directory each for the journal, a shared content directory, and a log file
// the test can watch. Stopped with the node helpers' guarantee.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { running, freePort, waitFor } from './node.js';

/** The worker binary: $TRIBUTARY_WORKER, else the release build in the shared target dir. */
export function workerBinary() {
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache/tributary/target');
  const bin = process.env.TRIBUTARY_WORKER || join(target, 'release/tributary-worker');
  if (!existsSync(bin)) {
    throw new Error(`tributary-worker not found at ${bin}: build it with 'cargo build --release -p tributary-worker' or set TRIBUTARY_WORKER`);
  }
  return bin;
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
  const promPort = await freePort();
  const logPath = join(dir, `${name}.log`);
  const logFd = openSync(logPath, 'a');
  const args = [
    'run', '--node', node.url, '--dev-key', devKey,
    '--journal', join(dir, `${name}.sqlite`), '--content-dir', content,
    '--device', 'cpu', '--threads', '1', '--prometheus-port', String(promPort),
    '--min-backoff-ms', '250', '--max-backoff-ms', '4000',
    ...extra,
  ];
  const proc = spawn(workerBinary(), args, {
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
  });
  closeSync(logFd);
  const worker = {
    name, proc, logPath, promPort, exited: false,
    log: () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').replace(/\x1b\[[0-9;]*m/g, '') : ''),
    async waitLog(re, timeoutMs = 60_000) {
      return waitFor(`${name} to log ${re}`, () => re.test(worker.log()), timeoutMs, 20);
    },
    async metrics() {
      const text = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
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
  proc.on('exit', () => { worker.exited = true; });
  running.add(worker);
  return worker;
}
