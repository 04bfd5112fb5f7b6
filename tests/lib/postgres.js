// A PostgreSQL server of the test's own: initdb in a directory of its own,
// on a free loopback port and a socket in that directory, never a system
// service; stopped and removed afterwards. Run as the `postgres` user when
// the tests run as root (PostgreSQL refuses to run as root).
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, running } from './node.js';

/** The newest installed PostgreSQL's programs (Debian's layout). */
function pgBin(program) {
  const versions = readdirSync('/usr/lib/postgresql').map(Number).filter(Boolean).sort((a, b) => b - a);
  if (!versions.length) throw new Error('PostgreSQL is not installed: run scripts/setup.sh');
  return join('/usr/lib/postgresql', String(versions[0]), 'bin', program);
}

function runAs(owner, program, args) {
  const [cmd, argv] = owner ? ['runuser', ['-u', 'postgres', '--', pgBin(program), ...args]] : [pgBin(program), args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startPostgres(name) {
  const dir = mkdtempSync(join(tmpdir(), `trib-pg-${name}-`));
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  runAs(asPostgres, 'initdb', ['-D', data, '-U', 'tributary', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  runAs(asPostgres, 'pg_ctl', [
    '-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60',
    '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start',
  ]);
  const stopNow = () => {
    try { runAs(asPostgres, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']); } catch { /* already stopped */ }
  };
  // Stopped with the nodes if the test process ends first (pg_ctl detaches it).
  const guard = { proc: { kill: stopNow } };
  running.add(guard);
  return {
    dir,
    url: `postgres://tributary@127.0.0.1:${port}/postgres`,
    /** Runs `sql` with psql; returns what it prints (unaligned, tuples only). */
    psql(sql) {
      return runAs(asPostgres, 'psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'tributary', '-d', 'postgres', '-At', '-c', sql]);
    },
    async stop() {
      running.delete(guard);
      stopNow();
      if (!process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
}
