// Checks that ds reads and edits .env files exactly as the npm `dotenv`
// package (the one the user's Node backend loads) reads them.
//
//   node compat.mjs --dump PATH/dotenv_dump --set-value PATH/dotenv_set_value \
//       [--peers DIR]
//
// The same can come from DS_DOTENV_DUMP, DS_DOTENV_SET_VALUE and
// DS_PEERS_DIR. DIR holds node_modules/dotenv (default: ../peers). Exits 125
// (ctest: skipped) when dotenv is not installed there.
//
// 1. Every corpus/*.env: dotenv_dump prints exactly JSON.stringify of
//    dotenv.parse() with sorted keys.
// 2. Every errors/*.env (a quote that never closes, where dotenv silently
//    reads the raw text): dotenv_dump fails naming file, line and key, never
//    the value, and dotenv_set_value leaves the file alone.
// 3. Every edit below, applied with dotenv_set_value to a copy: dotenv reads
//    the new value for that key and the old value for every other key, and
//    all bytes outside the edited lines are unchanged.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SKIP = 125;
const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: { dump: { type: 'string' }, 'set-value': { type: 'string' }, peers: { type: 'string' } },
});
const dumpTool = opts.dump ?? process.env.DS_DOTENV_DUMP;
const setTool = opts['set-value'] ?? process.env.DS_DOTENV_SET_VALUE;
const peersDir = path.resolve(opts.peers ?? process.env.DS_PEERS_DIR ?? path.join(here, '..', 'peers'));

if (!fs.existsSync(path.join(peersDir, 'node_modules', 'dotenv', 'package.json'))) {
  console.log(`SKIP: dotenv is not installed in ${peersDir}/node_modules; run npm ci there`);
  process.exit(SKIP);
}
for (const [flag, tool] of [['--dump', dumpTool], ['--set-value', setTool]]) {
  if (!tool || !fs.existsSync(tool)) {
    console.error(`compat.mjs: pass ${flag} with the path of the built tool (got ${tool})`);
    process.exit(2);
  }
}
const require = createRequire(path.join(peersDir, 'package.json'));
const dotenv = require('dotenv');
const dotenvVersion = require('dotenv/package.json').version;

const failures = [];
function check(ok, what) {
  if (!ok) failures.push(what);
  return ok;
}

// JSON.stringify with sorted keys: what dotenv_dump prints.
function sortedJson(obj) {
  const out = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return JSON.stringify(out);
}

function run(tool, args) {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

// 1. Reading.
const corpusDir = path.join(here, 'corpus');
const corpus = fs.readdirSync(corpusDir).filter((f) => f.endsWith('.env')).sort();
check(corpus.length >= 10, `corpus/ holds only ${corpus.length} .env files`);
for (const name of corpus) {
  const file = path.join(corpusDir, name);
  const want = sortedJson(dotenv.parse(fs.readFileSync(file)));
  const r = run(dumpTool, [file]);
  if (!check(r.status === 0, `${name}: dotenv_dump failed: ${r.stderr.trim()}`)) continue;
  if (check(r.stdout === `${want}\n`, `${name}: ds and dotenv read different values`)) continue;
  const ds = JSON.parse(r.stdout);
  const js = JSON.parse(want);
  for (const k of new Set([...Object.keys(ds), ...Object.keys(js)])) {
    if (ds[k] !== js[k]) {
      failures.push(`  ${name}: ${k}: dotenv ${JSON.stringify(js[k])}, ds ${JSON.stringify(ds[k])}`);
    }
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-dotenv-compat-'));
function copy(from, name = path.basename(from)) {
  const to = path.join(work, name);
  fs.copyFileSync(from, to);
  return to;
}

// 2. Unterminated quotes.
const errors = [
  { file: 'unterminated_double.env', line: 4, quote: 'double', key: 'PASSWORD', secret: 'hunter2' },
  { file: 'unterminated_single.env', line: 1, quote: 'single', key: 'SECRET', secret: 'open-sesame' },
  { file: 'unterminated_back.env', line: 3, quote: 'back', key: 'TOKEN', secret: 'tok-do' },
];
check(fs.readdirSync(path.join(here, 'errors')).length === errors.length, 'errors/ has files not listed in compat.mjs');
for (const e of errors) {
  const file = path.join(here, 'errors', e.file);
  const q = { double: '"', single: "'", back: '`' }[e.quote];
  // Why ds refuses: dotenv keeps the opening quote as part of the value.
  check(dotenv.parse(fs.readFileSync(file))[e.key]?.startsWith(q),
    `${e.file}: dotenv no longer reads ${e.key} raw; revisit the error rule`);
  const r = run(dumpTool, [file]);
  const msg = `${file}:${e.line}: unterminated ${e.quote} quote in the value of ${e.key}; close the quote or remove the line`;
  check(r.status !== 0 && r.stderr.includes(msg), `${e.file}: want exit != 0 and "${msg}", got ${r.status} "${r.stderr.trim()}"`);
  check(!r.stderr.includes(e.secret), `${e.file}: the error message shows the value`);
  const target = copy(file);
  const before = fs.readFileSync(target);
  const s = run(setTool, [target, 'OTHER', 'x']);
  check(s.status !== 0 && s.stderr.includes(`:${e.line}: unterminated`), `${e.file}: set_value did not fail on the parse error`);
  check(fs.readFileSync(target).equals(before), `${e.file}: set_value changed a file it could not parse`);
}

// 3. Editing. `lines` are the 1-based lines of the original that may change
// (the key's line through the end of its old value); 'append' means the
// original must be a prefix of the result. `line` is the exact expected
// text of the edited line, where the quoting matters.
const url = 'postgresql://app:n3w@ep-new-branch-123.us-east-2.aws.neon.tech/app?sslmode=require&x=y';
const edits = [
  { file: 'urls.env', key: 'DATABASE_URL', value: url, lines: [1, 1], line: `DATABASE_URL=${url}` },
  { file: 'urls.env', key: 'DIRECT_URL', value: url, lines: [2, 2], line: `DIRECT_URL=${url}` },
  { file: 'urls.env', key: 'REDIS_URL', value: 'redis://x', lines: [6, 6], line: 'REDIS_URL=redis://x # local redis' },
  { file: 'urls.env', key: 'NEW_URL', value: url, lines: 'append' },
  { file: 'realistic_next.env', key: 'DATABASE_URL', value: url, lines: [8, 8], line: `DATABASE_URL=${url}` },
  { file: 'realistic_next.env', key: 'STRIPE_SECRET_KEY', value: 'sk test with spaces', lines: [11, 11], line: "STRIPE_SECRET_KEY='sk test with spaces' # test key" },
  { file: 'basics.env', key: 'SPACED_EXPORT', value: 'no', lines: [6, 6], line: 'export   SPACED_EXPORT  =  no' },
  { file: 'basics.env', key: 'EMPTY_COMMENT', value: 'filled', lines: [10, 10], line: 'EMPTY_COMMENT=filled # nothing here' },
  { file: 'basics.env', key: 'EMPTY', value: '', lines: [8, 8] },
  { file: 'quotes.env', key: 'INLINE_NOSPACE', value: 'new', lines: [8, 8], line: 'INLINE_NOSPACE=new#comment' },
  { file: 'quotes.env', key: 'INLINE_QUOTED', value: 'has # hash', lines: [9, 9], line: "INLINE_QUOTED='has # hash' # comment" },
  { file: 'quotes.env', key: 'APOSTROPHE', value: "it's still", lines: [17, 17], line: 'APOSTROPHE="it\'s still"' },
  { file: 'quotes.env', key: 'MIXED_QUOTES', value: 'both \' and "', lines: [18, 18], line: 'MIXED_QUOTES=`both \' and "`' },
  { file: 'quotes.env', key: 'SINGLE', value: 'literal \\n here', lines: [1, 1], line: "SINGLE='literal \\n here'" },
  { file: 'quotes.env', key: 'DOUBLE', value: 'two\nlines', lines: [2, 2], line: 'DOUBLE="two\\nlines"' },
  { file: 'multiline.env', key: 'PRIVATE_KEY', value: 'short', lines: [2, 4], line: 'PRIVATE_KEY=short' },
  { file: 'multiline.env', key: 'BACK_MULTI', value: "it's\n\\n \"x\"", lines: [7, 9] },
  { file: 'multiline.env', key: 'MULTI_WITH_COMMENT', value: 'one', lines: [11, 12], line: 'MULTI_WITH_COMMENT=one # trailing comment' },
  { file: 'crlf.env', key: 'D', value: 'single', lines: [5, 6], line: 'D=single' },
  { file: 'crlf.env', key: 'C', value: 'c2', lines: [4, 4], line: 'C=c2 # c' },
  { file: 'crlf.env', key: 'NEW', value: 'v', lines: 'append', tail: 'NEW=v\r\n' },
  { file: 'cr_only.env', key: 'B', value: 'b2', lines: [2, 2] },
  { file: 'duplicates.env', key: 'A', value: 'fourth', lines: [4, 4], line: 'export A=fourth # the effective one' },
  { file: 'colon.env', key: 'COLON', value: 'changed', lines: [1, 1], line: 'COLON: changed' },
  { file: 'no_final_newline.env', key: 'B', value: 'edited', lines: [2, 2], line: 'B=edited' },
  { file: 'no_final_newline.env', key: 'C', value: 'appended', lines: 'append', tail: '\nC=appended\n' },
  { file: 'no_final_newline_quoted.env', key: 'B', value: 'x y', lines: [2, 2], line: "B='x y'" },
  { file: 'empty.env', key: 'A', value: '1', lines: 'append', tail: 'A=1\n' },
  { file: 'only_comments.env', key: 'A', value: '1', lines: 'append', tail: 'A=1\n' },
  { file: 'unicode.env', key: 'GREETING', value: 'grüße 👋', lines: [1, 1], line: "GREETING='grüße 👋'" },
  { file: 'unicode.env', key: 'NBSP_AROUND', value: '\u00a0kept\u00a0', lines: [5, 5] },
  { file: 'bom.env', key: 'FIRST', value: 'x', lines: [1, 1], line: '\ufeffFIRST=x' },
  { file: 'weird_whitespace.env', key: 'D', value: 'tight', lines: [10, 10], line: '\t\tD  =  tight  ' },
  { file: 'equals.env', key: 'BASE64', value: 'ZXhhbXBsZQ==', lines: [4, 4], line: 'BASE64=ZXhhbXBsZQ==' },
  { file: 'surprising.env', key: 'VALUE_ON_NEXT_LINE', value: 'here', lines: [2, 3], line: 'VALUE_ON_NEXT_LINE=here' },
  { file: 'invalid_utf8.env', key: 'OK', value: 'still fine', lines: [4, 4] },
  // Cannot be represented: every quote kind plus a line break.
  { file: 'basics.env', key: 'PORT', value: '\'"`\n', fails: 'cannot be represented in .env' },
  // A key dotenv could not read back.
  { file: 'basics.env', key: 'BAD KEY', value: 'x', fails: 'is not a valid .env key' },
];

// Byte offsets where each line starts, plus the end; lines end at \r\n, \r or \n.
function lineStarts(buf) {
  const starts = [0];
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a) i++;
    if (buf[i] === 0x0a || buf[i] === 0x0d) starts.push(i + 1);
  }
  if (starts[starts.length - 1] !== buf.length) starts.push(buf.length);
  return starts;
}

for (const [i, e] of edits.entries()) {
  const what = `edit ${e.file} ${e.key}`;
  const target = copy(path.join(corpusDir, e.file), `${i}-${e.file}`);
  fs.chmodSync(target, 0o640);
  const before = fs.readFileSync(target);
  const r = run(setTool, [target, e.key, e.value]);
  const after = fs.readFileSync(target);
  if (e.fails) {
    check(r.status !== 0 && r.stderr.includes(e.fails), `${what}: want failure "${e.fails}", got ${r.status} "${r.stderr.trim()}"`);
    check(after.equals(before), `${what}: file changed although the edit failed`);
    continue;
  }
  if (!check(r.status === 0, `${what}: dotenv_set_value failed: ${r.stderr.trim()}`)) continue;
  check((fs.statSync(target).mode & 0o7777) === 0o640, `${what}: the file mode changed`);

  const want = { ...dotenv.parse(before), [e.key]: e.value };
  const got = dotenv.parse(after);
  check(sortedJson(got) === sortedJson(want), `${what}: dotenv reads ${sortedJson(got)}, want ${sortedJson(want)}`);
  const dump = run(dumpTool, [target]);
  check(dump.stdout === `${sortedJson(got)}\n`, `${what}: ds and dotenv disagree on the edited file`);

  if (e.lines === 'append') {
    check(after.subarray(0, before.length).equals(before), `${what}: bytes before the appended line changed`);
    if (e.tail !== undefined) {
      const tail = after.subarray(before.length).toString();
      check(tail === e.tail, `${what}: appended ${JSON.stringify(tail)}, want ${JSON.stringify(e.tail)}`);
    }
    continue;
  }
  const starts = lineStarts(before);
  const from = starts[e.lines[0] - 1];
  const to = starts[e.lines[1]];
  const prefix = before.subarray(0, from);
  const suffix = before.subarray(to);
  const ok = after.length >= prefix.length + suffix.length &&
    after.subarray(0, prefix.length).equals(prefix) &&
    after.subarray(after.length - suffix.length).equals(suffix);
  if (!check(ok, `${what}: bytes outside lines ${e.lines.join('-')} changed`)) continue;
  if (e.line !== undefined) {
    const edited = after.subarray(from, after.length - suffix.length).toString().replace(/(\r\n|\r|\n)$/, '');
    check(edited === e.line, `${what}: line is ${JSON.stringify(edited)}, want ${JSON.stringify(e.line)}`);
  }
}

// A new file is created owner-only.
{
  const target = path.join(work, 'new.env');
  const r = run(setTool, [target, 'DATABASE_URL', url]);
  check(r.status === 0 && fs.readFileSync(target, 'utf8') === `DATABASE_URL=${url}\n`, `new file: ${r.stderr.trim()}`);
  check(r.status === 0 && (fs.statSync(target).mode & 0o777) === 0o600, 'new file: mode is not 0600');
}

fs.rmSync(work, { recursive: true, force: true });
if (failures.length > 0) {
  console.error(`dotenv ${dotenvVersion} compatibility: ${failures.length} failure(s)`);
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(1);
}
console.log(`dotenv ${dotenvVersion} compatibility: ${corpus.length} files read identically, ` +
  `${errors.length} unterminated quotes reported, ${edits.length} edits checked`);
