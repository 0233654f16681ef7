// wss://: certificate verification, --ca, --insecure, client certificates and their passphrase. The
// certificates are made with openssl at test time (skipped where it is missing).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasOpenssl, makeCertificate, runClient, runInProcess, startTlsServer } from './support/helpers.ts';

const skip = !hasOpenssl && 'openssl is not installed';

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsc-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('wss: certificate verification on by default; --ca trusts a CA; --insecure skips it with a warning', { skip }, async (t) => {
  const { url, ca } = await startTlsServer(t, tempDir(t));

  const refused = runInProcess([url]);
  t.equal(await refused.exit, 1, 'an untrusted certificate fails');
  t.match(refused.stderr(), /^wsc: connecting to wss:\/\/127\.0\.0\.1:\d+\/consumer\nwsc: cannot connect to 127\.0\.0\.1:\d+: TLS: self[- ]signed certificate\n$/);

  const trusted = runInProcess(['--ca', ca, url]);
  await trusted.waitFor('stdout', 'hello\n');
  trusted.kill('SIGTERM');
  t.equal(await trusted.exit, 0, '--ca: verified, received, closed cleanly');

  const insecure = runInProcess(['--insecure', url]);
  await insecure.waitFor('stdout', 'hello\n');
  t.match(insecure.stderr(), /warning: --insecure/);
  insecure.kill('SIGTERM');
  t.equal(await insecure.exit, 0);

  const missing = runInProcess(['--ca', join(tempDir(t), 'missing.pem'), url]);
  t.equal(await missing.exit, 2, 'an unreadable --ca file is a usage error');
  t.match(missing.stderr(), /^wsc: --ca: cannot read [^\n]*: no such file or directory\nTry '[^']*--help' for more information\.\n$/, 'one line, and where to read more');
});

t.test('--cert/--key/--passphrase: a client certificate for a server that requires one', { skip }, async (t) => {
  const dir = tempDir(t);
  t.ok(makeCertificate(dir, 'client', '/CN=wsc client'), 'client certificate made');
  // The same client identity with its key encrypted, for --passphrase.
  t.equal(spawnSync('openssl', ['pkey', '-in', join(dir, 'client.key'), '-aes256', '-passout', 'pass:open sesame', '-out', join(dir, 'client-encrypted.key')], { stdio: 'ignore' }).status, 0);
  const { url, ca } = await startTlsServer(t, dir, join(dir, 'client.pem'));
  const identity = ['--ca', ca, '--cert', join(dir, 'client.pem')];
  const withCert = runInProcess([...identity, '--key', join(dir, 'client.key'), url]);
  await withCert.waitFor('stdout', 'hello wsc client\n');
  withCert.kill('SIGTERM');
  t.equal(await withCert.exit, 0);
  const encrypted = runInProcess([...identity, '--key', join(dir, 'client-encrypted.key'), '--passphrase', 'open sesame', url]);
  await encrypted.waitFor('stdout', 'hello wsc client\n');
  encrypted.kill('SIGTERM');
  t.equal(await encrypted.exit, 0, '--passphrase unlocks an encrypted key');
  // The same passphrase kept off the command line: in a file, or in the environment.
  writeFileSync(join(dir, 'passphrase'), 'open sesame\n', { mode: 0o600 });
  for (const [how, extra, env] of [
    ['--passphrase-file', ['--passphrase-file', join(dir, 'passphrase')], {}],
    ['WSC_PASSPHRASE', [], { WSC_PASSPHRASE: 'open sesame' }],
  ] as const) {
    const run = runInProcess([...identity, '--key', join(dir, 'client-encrypted.key'), ...extra, url], { env });
    await run.waitFor('stdout', 'hello wsc client\n');
    run.kill('SIGTERM');
    t.equal(await run.exit, 0, `${how} unlocks the key`);
    t.notMatch(run.stderr(), /warning/, `${how}: no warning for a private file`);
  }
  const without = runInProcess(['--ca', ca, url]);
  t.equal(await without.exit, 1, 'refused without a client certificate');
  t.equal(without.stdout(), '');
  const usage = runInProcess(['--cert', join(dir, 'client.pem'), url]);
  t.equal(await usage.exit, 2);
  t.match(usage.stderr(), /--cert and --key go together/);
});

t.test('TLS files are checked when read: one line each, exit 2, before anything connects; a spawned client with stdin open does not hang', { skip }, async (t) => {
  const dir = tempDir(t);
  t.ok(makeCertificate(dir, 'client', '/CN=wsc client'));
  t.ok(makeCertificate(dir, 'other', '/CN=someone else'));
  t.equal(spawnSync('openssl', ['pkey', '-in', join(dir, 'client.key'), '-aes256', '-passout', 'pass:right', '-out', join(dir, 'encrypted.key')], { stdio: 'ignore' }).status, 0);
  writeFileSync(join(dir, 'junk.pem'), 'not a PEM file at all\n');
  // Nothing listens here: a check that let a file through would say "cannot connect" instead.
  const url = 'wss://127.0.0.1:9/consumer';
  const cases: [string[], RegExp][] = [
    [['--cert', join(dir, 'junk.pem'), '--key', join(dir, 'junk.pem')], /^--key: not a PEM private key: \S+junk\.pem$/],
    [['--cert', join(dir, 'junk.pem'), '--key', join(dir, 'client.key')], /^--cert: not a PEM certificate: \S+junk\.pem$/],
    [['--cert', join(dir, 'client.pem'), '--key', join(dir, 'encrypted.key'), '--passphrase', 'wrong'], /^--passphrase: does not decrypt --key \S+encrypted\.key$/],
    [['--cert', join(dir, 'client.pem'), '--key', join(dir, 'encrypted.key')], /^--key: \S+encrypted\.key is encrypted: give its passphrase/],
    [['--cert', join(dir, 'other.pem'), '--key', join(dir, 'client.key')], /^--cert and --key do not belong together: \S+client\.key is not the key of \S+other\.pem$/],
    [['--ca', join(dir, 'client.key')], /^--ca: no certificate in \S+client\.key$/],
    [['--ca', join(dir, 'junk.pem')], /^--ca: no certificate in \S+junk\.pem$/],
  ];
  for (const [args, reason] of cases) {
    const run = runInProcess([...args, url], { stdin: 'ignore' });
    t.equal(await run.exit, 2, `${args.join(' ')}: exit 2`);
    t.match(run.stderr().split('\n')[0]?.slice('wsc: '.length), reason, `${args.join(' ')}: one line`);
    t.notMatch(run.stderr(), /\n\s+at |connecting to/, 'no stack trace, nothing connected');
  }
  // The case that hung: a real process, stdin a pipe that stays open, a key that is not a key.
  const spawned = runClient(['--cert', join(dir, 'junk.pem'), '--key', join(dir, 'junk.pem'), url], { killAfterMs: 5000 });
  t.equal(await spawned.exit, 2, 'exits by itself, with stdin still open');
  t.ok(spawned.elapsedMs() < 4000, `within ${spawned.elapsedMs()} ms`);
  t.equal(spawned.stderr().split('\n').length, 3, 'one line, then where to read more');
});
