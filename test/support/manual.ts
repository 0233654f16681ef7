// The manual page, dist/wsc.1, made from the README (the user's manual): its option tables, keys, exit
// statuses, environment and scripting recipes, in man(7) macros. `npm run build` bundles this file with
// esbuild and runs it with plain Node, so building needs no tsx:
//   node dist/manual.mjs dist/wsc.1
// Exported for the test that keeps the page in step with the options the client accepts. It does not
// import client.ts: bundled, the client's own entry-point check would take this program for itself.

import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Inline markdown as roff: `code` bold, with minus signs as \- (so options copy and search as typed). */
function inline(text: string): string {
  const escaped = text.replace(/\\\|/g, '|').replace(/\\/g, '\\e');
  // Odd pieces are code spans: emphasis is looked for only outside them.
  return escaped.split('`').map((piece, i) => (i % 2 === 1
    ? `\\fB${piece.replace(/-/g, '\\-')}\\fR`
    : piece.replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR').replace(/\*([^*\s][^*]*)\*/g, '\\fI$1\\fR').replace(/\[([^\]]+)\]\([^)]*\)/g, '$1'))).join('');
}

/** A line of roff text: ASCII, other characters as \[uXXXX]; one starting with . or ' would be a request. */
function text(line: string): string {
  const ascii = line.replace(/[^\x00-\x7f]/gu, (char) => `\\[u${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}]`);
  return /^[.']/.test(ascii) ? `\\&${ascii}` : ascii;
}

/** The README's section (## or ###) with this heading, up to the next heading of its level or above. */
function section(readme: string, heading: string): string {
  const lines = readme.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`the README has no section "${heading}"`);
  const level = heading.indexOf(' ');
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) fenced = !fenced; // a shell comment in a code block is no heading
    const hashes = /^(#+) /.exec(line)?.[1]?.length ?? 0;
    if (!fenced && hashes > 0 && hashes <= level) return lines.slice(start + 1, i).join('\n');
  }
  return lines.slice(start + 1).join('\n');
}

/** A markdown table's rows (header and rule skipped), cells split on | (not on \|). */
function tableRows(markdown: string): string[][] {
  const lines = markdown.split('\n').filter((line) => line.startsWith('|'));
  return lines.slice(2).map((line) => line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
}

/** The page, as one string of roff. */
export function manualPage(readme: string, version: string, date = new Date().toISOString().slice(0, 10)): string {
  const out: string[] = [];
  out.push(`.TH WSC 1 "${date}" "wsc ${version}" "User Commands"`);
  out.push('.SH NAME', 'wsc \\- a WebSocket chat client that speaks RFC 6455 itself');
  out.push('.SH SYNOPSIS');
  // The README's usage lines, without their comments in parentheses.
  const synopsis = (/```\n([\s\S]*?)```/.exec(section(readme, '## Usage'))?.[1] ?? '').split('\n').filter((line) => line.startsWith('wsc '));
  for (const line of synopsis) out.push('.nf', text(line.replace(/\s+\(.*\)$/, '').replace(/-/g, '\\-')), '.fi');
  out.push('.SH DESCRIPTION');
  // The README's opening: its paragraphs, then the table of roles.
  const opening = readme.slice(readme.indexOf('\n') + 1, readme.indexOf('\n## '));
  for (const paragraph of opening.split('\n\n').filter((block) => block.trim() !== '' && !block.trim().startsWith('|'))) {
    out.push('.PP', ...paragraph.trim().split('\n').map((line) => text(inline(line))));
  }
  for (const [role = '', stdin = '', stdout = ''] of tableRows(opening)) out.push('.TP', text(inline(role)), text(`stdin: ${inline(stdin)}; stdout: ${inline(stdout)}`));
  out.push('.SH OPTIONS');
  for (const heading of ['### Connection', '### TLS (`wss://`)', '### Liveness', '### Input', '### Output']) {
    out.push(`.SS ${text(inline(heading.slice(4)))}`);
    for (const [option = '', what = '', example = ''] of tableRows(section(readme, heading))) {
      out.push('.TP', text(inline(option)), text(inline(what)));
      if (example !== '') out.push('.RS', text(`Example: ${inline(example)}`), '.RE');
    }
  }
  out.push('.SH KEYS ON A TERMINAL');
  for (const [keys = '', what = ''] of tableRows(section(readme, '## On a terminal'))) out.push('.TP', text(inline(keys)), text(inline(what)));
  out.push('.SH EXIT STATUS');
  for (const [status = '', when = ''] of tableRows(section(readme, '## Quitting and exit status'))) out.push('.TP', status, text(inline(when)));
  out.push('.SH ENVIRONMENT');
  for (const [name = '', what = ''] of tableRows(section(readme, '### Environment'))) out.push('.TP', text(inline(name)), text(inline(what)));
  out.push('.SH EXAMPLES');
  // The recipes of Scripting and JSON APIs: every shell block, as it stands.
  const recipes = ['## Scripting', '## JSON APIs'].flatMap((heading) => [...section(readme, heading).matchAll(/```sh\n([\s\S]*?)```/g)].map((block) => block[1]!.trimEnd()));
  out.push('.nf', ...recipes.join('\n\n').split('\n').map((line) => text(line.replace(/\\/g, '\\e').replace(/-/g, '\\-'))), '.fi');
  out.push('.SH SEE ALSO', 'RFC 6455 (The WebSocket Protocol), RFC 1928 (SOCKS5),', '.BR wscat (1),', '.BR websocat (1),', '.BR curl (1)');
  return out.join('\n') + '\n';
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const page = manualPage(readme, version);
  if (process.argv[2]) writeFileSync(process.argv[2], page);
  else process.stdout.write(page);
}
