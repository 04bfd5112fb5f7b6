// Starts real tributary-node processes for tests: free loopback ports, a temp
// base path each, and a guaranteed stop (after the test, on failure, and when
// the test process itself exits).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';

export const running = new Set();
function killAll() {
  for (const n of running) {
    try { n.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAll(); process.exit(130); });
}

/**
 * A binary this project builds: `$<envVar>`, else the release build of
 * `name` in the shared target dir.
 */
export function projectBinary(name, envVar) {
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache/tributary/target');
  const bin = process.env[envVar] || join(target, `release/${name}`);
  if (!existsSync(bin)) {
    throw new Error(`${name} not found at ${bin}: build it with 'cargo build --release -p ${name}' or set ${envVar}`);
  }
  return bin;
}

/** The node binary: $TRIBUTARY_NODE, else the release build in the shared target dir. */
export const nodeBinary = () => projectBinary('tributary-node', 'TRIBUTARY_NODE');

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts one node. `args` are extra flags (e.g. ['--dev'] or ['--chain', 'local', '--alice']).
 * Returns a handle with the RPC url, its log path, and stop().
 */
export async function startNode(name, args, { basePath, rpcPort: fixedRpcPort } = {}) {
  const rpcPort = fixedRpcPort ?? await freePort();
  const p2pPort = await freePort();
  const promPort = await freePort();
  const base = basePath ?? mkdtempSync(join(tmpdir(), `trib-${name}-`));
  const logPath = join(base, 'node.log');
  // The child writes its log straight to the file, so nothing is lost if it dies.
  const logFd = openSync(logPath, 'a');
  const fullArgs = [
    ...args,
    '--base-path', base,
    '--name', name,
    '--rpc-port', String(rpcPort),
    '--prometheus-port', String(promPort),
    '--no-telemetry',
    // Validators of a non-dev chain refuse to invent a network identity.
    '--node-key', randomBytes(32).toString('hex'),
    '--no-mdns',
    '--listen-addr', `/ip4/127.0.0.1/tcp/${p2pPort}`,
  ];
  const proc = spawn(nodeBinary(), fullArgs, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const node = {
    name, proc, base, logPath, rpcPort, p2pPort, promPort,
    url: `ws://127.0.0.1:${rpcPort}`,
    exited: false,
    async stop({ keepBase = false } = {}) {
      running.delete(node);
      if (!node.exited) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
      }
      if (!keepBase && basePath === undefined) rmSync(base, { recursive: true, force: true });
    },
  };
  proc.on('exit', (code, signal) => { node.exited = true; node.exitStatus = signal ?? `code ${code}`; });
  running.add(node);
  await waitForRpc(node);
  return node;
}

/** Waits until the node answers `system_health` over HTTP on its RPC port. */
async function waitForRpc(node, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (node.exited) throw new Error(`${node.name} exited early:\n${logTail(node)}`);
    try {
      await rpc(node, 'system_health');
      return;
    } catch { await sleep(250); }
  }
  throw new Error(`${node.name} did not answer RPC within ${timeoutMs} ms:\n${logTail(node)}`);
}

/** The last lines a node logged, for error messages. */
export function logTail(node, lines = 20) {
  try {
    return readFileSync(node.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (e) {
    return `(no log: ${e.message})`;
  }
}

/** One JSON-RPC call over HTTP (the RPC port serves HTTP and WebSocket). */
export async function rpc(node, method, params = []) {
  const res = await fetch(`http://127.0.0.1:${node.rpcPort}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** A polkadot.js client connected to `node`. */
export async function connect(node) {
  const provider = new WsProvider(node.url, 1000);
  return ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(what, probe, timeoutMs = 60_000, everyMs = 500) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${exitedEarly()}`);
    }
    await sleep(everyMs);
  }
}

/**
 * The processes this test started that exited while still wanted (nodes and
 * workers not stopped by the test), with their logs' last lines: a wait that
 * times out says so, as CI shows only the error.
 */
function exitedEarly() {
  const gone = [...running].filter((p) => p.exited && p.logPath);
  return gone.map((p) => `\n${p.name} exited (${p.exitStatus}); its log ends:\n${logTail(p)}`).join('');
}

/** The number of the latest finalized block, over RPC. */
export async function finalizedNumber(node) {
  const hash = await rpc(node, 'chain_getFinalizedHead');
  const header = await rpc(node, 'chain_getHeader', [hash]);
  return parseInt(header.number, 16);
}
