// The command line in-process (main() with stand-in streams): usage errors, --help and --version, and the
// usage text kept in step with the options the parser accepts.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPTION_NAMES, VERSION, main, usage } from '../client.ts';
import { ROOT, runInProcess } from './support/helpers.ts';
import { PassThrough } from 'node:stream';
import { EventEmitter } from 'node:events';

t.test('usage errors exit 2 with the reason on the first line, then the usage', async (t) => {
  const cases: [string[], RegExp][] = [
    [['127.0.0.1', '8001', 'spectator'], /ROLE must be producer, consumer or both, not "spectator"/],
    [['127.0.0.1', '0', 'consumer'], /PORT must be a number from 1 to 65535, not "0"/],
    [['127.0.0.1', '65536', 'consumer'], /PORT must be a number from 1 to 65535/],
    [['127.0.0.1', 'http', 'consumer'], /PORT must be a number/],
    [['127.0.0.1', '8001'], /missing arguments/],
    [['127.0.0.1', '8001', 'consumer', 'extra'], /too many arguments: extra/],
    [['--bogus', '127.0.0.1', '8001', 'consumer'], /Unknown option '--bogus'/],
    [['--close-timeout', 'soon', '127.0.0.1', '8001', 'consumer'], /--close-timeout must be a positive number of seconds/],
    [['--max-message-size', '1.5', '127.0.0.1', '8001', 'consumer'], /--max-message-size must be a positive whole number/],
    [['http://127.0.0.1:8001/consumer'], /URL scheme must be ws:\/\/, wss:\/\/ or ws\+unix:, not http:\/\//],
    [['--role', 'consumer', '127.0.0.1', '8001', 'both'], /--role goes with a URL/],
    [['-x', 'hi', 'ws://127.0.0.1:8001/consumer'], /-x\/--execute sends messages, which a consumer does not/],
    [['--count', '2', 'ws://127.0.0.1:8001/producer'], /--count counts received messages/],
    [['--hex', '--base64', 'ws://127.0.0.1:8001/'], /--hex and --base64 exclude each other/],
    [['--proxy', 'ftp://proxy:21', 'ws://127.0.0.1:8001/'], /the proxy must be http:\/\/, socks5:\/\/ or socks5h:\/\/, not ftp:\/\//],
    [['--proxy', 'socks5h://127.0.0.1:1080', '--unix-socket', '/tmp/wsc.sock', 'ws://localhost/'], /--proxy does not go with a unix socket/],
    [['--unix-socket', '/tmp/a.sock', 'ws+unix:///tmp/b.sock:/chat'], /both name a socket/],
    [['ws+unix:///:/chat'], /a ws\+unix: URL names the socket's path/],
    [['-s', 'bad protocol', 'ws://127.0.0.1:8001/'], /--subprotocol must be a token/],
  ];
  for (const [args, reason] of cases) {
    const run = runInProcess(args, { stdin: 'ignore' });
    t.equal(await run.exit, 2, `${args.join(' ')}: exit 2`);
    const [first, ...rest] = run.stderr().split('\n');
    t.match(first, reason, `${args.join(' ')}: the reason on the first line`);
    t.match(rest.join('\n'), /^Usage: wsc \[options\] HOST PORT ROLE\n/, 'then the usage');
    t.equal(run.stdout(), '');
  }
});

t.test('--help and --version go to stdout with exit 0; the usage names the program as it was started', async (t) => {
  const help = runInProcess(['--help']);
  t.equal(await help.exit, 0);
  t.equal(help.stdout(), usage('wsc') + '\n');
  const version = runInProcess(['--version']);
  t.equal(await version.exit, 0);
  t.equal(version.stdout(), `wsc ${VERSION}\n`);
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {}, signals: new EventEmitter(), program: 'client.ts' };
  t.equal(await main(['-h'], io), 0);
  t.match(Buffer.concat(chunks).toString(), /^Usage: client\.ts \[options\] HOST PORT ROLE\n {7}client\.ts \[options\] URL/);
});

t.test('every option the parser accepts is in the usage text and the README, under the group it belongs to', async (t) => {
  const text = usage('wsc');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const name of OPTION_NAMES) {
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    t.ok(new RegExp(`(^|[\\s,(])${flag.replace(/[-]/g, '\\-')}([\\s,=]|$)`, 'm').test(text), `${flag} in the usage text`);
    t.ok(readme.includes(`\`${flag}`) || readme.includes(`, ${flag}`) || readme.includes(` ${flag} `), `${flag} in the README`);
  }
  const group = (title: string) => text.slice(text.indexOf(`${title}:\n`), text.indexOf(':\n', text.indexOf(`${title}:\n`) + title.length + 2));
  t.match(group('Connection'), /-c, --connect URL[\s\S]*--role ROLE/, '-c and --role are connection options');
  t.notMatch(group('Liveness'), /--connect|--role/, 'not liveness ones');
});
