// Starts tributary-indexer for tests and the demo: it follows `node` into
// the PostgreSQL at `database` and serves its API and explorer page on
// `port`; its log goes to `<dir>/indexer.log`.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectBinary, running, waitFor } from './node.js';

export const indexerBinary = () => projectBinary('tributary-indexer', 'TRIBUTARY_INDEXER');

export async function startIndexer(node, database, dir, port) {
  const logPath = join(dir, 'indexer.log');
  const fd = openSync(logPath, 'a');
  const proc = spawn(indexerBinary(), ['run', '--node', node.url, '--database', database, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', fd, fd], env: { ...process.env, RUST_LOG: 'info' },
  });
  closeSync(fd);
  const indexer = {
    proc, port, exited: false,
    url: `http://127.0.0.1:${port}/`,
    log: () => readFileSync(logPath, 'utf8'),
    async get(path) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, body: await response.json() };
    },
    /** Waits until every block up to `number` is indexed. */
    async reach(number, timeoutMs = 60_000) {
      return waitFor(`the indexer at block ${number}`, async () => (await indexer.get('/api/status')).body.indexed >= number, timeoutMs, 250);
    },
    async kill(signal = 'SIGKILL') {
      running.delete(indexer);
      if (indexer.exited) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await done;
    },
    stop() { return indexer.kill('SIGTERM'); },
  };
  proc.on('exit', () => { indexer.exited = true; });
  running.add(indexer);
  await waitFor('the indexer\'s API', async () => {
    if (indexer.exited) throw new Error(`the indexer exited:\n${indexer.log()}`);
    return (await fetch(`http://127.0.0.1:${port}/api/status`).catch(() => null))?.ok;
  }, 60_000, 100);
  return indexer;
}
