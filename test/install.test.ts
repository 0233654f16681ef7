// The `wsc` command as a user gets it: a copy of this working tree (the files git tracks or would, as they
// are now, committed or not), `npm install -g .` into a temporary prefix (which builds dist/wsc.mjs
// through the prepare script), then the installed command: --version, --help, `man wsc`, and a real
// connection. The copy
// borrows this checkout's node_modules so that the build needs no network.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './support/helpers.ts';
import { close, startFakeServer, text } from './support/fake-server.ts';

const hasGit = spawnSync('git', ['--version']).status === 0;

t.test('npm install -g . from the working tree gives a working wsc', { skip: !hasGit && 'git is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsc-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clone = join(dir, 'tree');
  const prefix = join(dir, 'prefix');
  const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' });
  t.equal(files.status, 0, 'the working tree listed');
  for (const file of files.stdout.split('\0').filter((name) => name !== '' && existsSync(join(ROOT, name)))) {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(clone, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  const env = { ...process.env, npm_config_prefix: prefix, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const install = spawnSync('npm', ['install', '-g', '.'], { cwd: clone, env, encoding: 'utf8' });
  t.equal(install.status, 0, `npm install -g . (${install.stderr.trim().split('\n').at(-1)})`);
  const wsc = join(prefix, 'bin', 'wsc');

  const version = spawnSync(wsc, ['--version'], { encoding: 'utf8' });
  t.equal(version.status, 0, version.stderr);
  t.match(version.stdout, /^wsc \d+\.\d+\.\d+\n$/);
  const help = spawnSync(wsc, ['--help'], { encoding: 'utf8' });
  t.match(help.stdout, /^Usage: wsc \[options\] HOST PORT ROLE\n/, '--help names the command as installed');

  // npm links the manual page (package.json "man") where man looks under the prefix.
  const page = join(prefix, 'share', 'man', 'man1', 'wsc.1');
  t.ok(existsSync(page), 'share/man/man1/wsc.1 installed');
  const hasMan = spawnSync('man', ['--version']).status === 0;
  if (hasMan) {
    const man = spawnSync('man', ['-P', 'cat', 'wsc'], { encoding: 'utf8', env: { ...process.env, MANPATH: join(prefix, 'share', 'man'), MANWIDTH: '100' } });
    t.equal(man.status, 0, `man wsc (${man.stderr.trim()})`);
    t.match(man.stdout, /wsc . a WebSocket chat client that speaks RFC 6455 itself/, 'man wsc shows the page');
    t.match(man.stdout, /--unix-socket PATH/, 'with the options');
  }

  const server = await startFakeServer({
    script: async (session) => {
      await session.send([text('through the installed command'), close(1000)]);
      await session.waitForClose();
      session.end();
    },
  });
  t.teardown(() => server.close());
  const child = spawn(wsc, ['127.0.0.1', String(server.port), 'consumer'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(status, 0);
  t.equal(Buffer.concat(out).toString(), 'through the installed command\n');
});
