// The relative links of the repository's Markdown files, run by `make test`. Checks every
// committed Markdown file (`git ls-files '*.md'`, fuzz corpora, node_modules and target/ left
// out): each `[text](path)`, `![alt](path)`, `[text](path#anchor)`, `[text](#anchor)` and
// reference definition `[label]: path` must name a file or directory that exists, and an anchor
// into a Markdown file must name one of its headings (or an `id`/`name` of an HTML tag in it), by
// GitHub's rules: the heading's text lower-cased, punctuation dropped except `-` and `_`, each
// space a `-`, letters of every script kept as they are (Cyrillic too), and the second, third...
// heading of the same text `-1`, `-2`... Links with a scheme (http:, https:, mailto:, ...) are not
// fetched: they are skipped. Links inside code (fenced blocks and `spans`) are not links.
// `--self-test` plants a link to a missing file, to a missing heading and to a duplicate's
// missing number, and fails unless each is caught and the good links of the same files pass.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = /(^|\/)(node_modules|target|fuzz\/corpus|fuzz\/artifacts)\//;

/** GitHub's anchor for a heading's text (before de-duplication). */
export function slug(text) {
  const plain = text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // HTML tags
    .trim()
    .toLowerCase();
  return plain.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** The lines of a Markdown text outside fenced code blocks, as [line number, text]. */
function proseLines(text) {
  const out = [];
  let fence = null;
  text.split('\n').forEach((line, i) => {
    const m = line.match(/^ {0,3}(`{3,}|~{3,})/);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && !line.trim().slice(m[1].length).trim()) fence = null;
      return;
    }
    if (m) { fence = m[1]; return; }
    out.push([i + 1, line]);
  });
  return out;
}

/** Every anchor a Markdown text defines: its headings' slugs (numbered when repeated), HTML ids. */
export function anchors(text) {
  const seen = new Map();
  const found = new Set();
  const add = (base) => {
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  };
  const lines = proseLines(text);
  lines.forEach(([no, line], k) => {
    const atx = line.match(/^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/);
    if (atx) { add(slug(atx[1] ?? '')); return; }
    const next = lines[k + 1];
    if (next && next[0] === no + 1 && line.trim() && !/^ {0,3}([-*_>|]|\d+[.)])/.test(line) &&
        /^ {0,3}(=+|-+)[ \t]*$/.test(next[1])) add(slug(line));
  });
  for (const m of text.matchAll(/<[a-z][^>]*\s(?:id|name)=["']([^"']+)["']/gi)) found.add(m[1]);
  return found;
}

/** Every link of a Markdown text as {line, target}, code spans and fenced blocks left out. */
export function links(text) {
  const out = [];
  for (const [no, raw] of proseLines(text)) {
    const line = raw.replace(/(`+)(?:(?!\1).)+?\1/g, (s) => ' '.repeat(s.length));
    const def = line.match(/^ {0,3}\[[^\]]+\]:\s*(\S+)/);
    if (def) out.push({ line: no, target: def[1].replace(/^<(.*)>$/, '$1') });
    for (const m of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]*(?:\([^)\s]*\)[^)\s]*)*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      out.push({ line: no, target: m[1].replace(/^<(.*)>$/, '$1') });
    }
  }
  return out;
}

/** Every broken link of these Markdown files (paths relative to root); [] when none. */
export function check(root, files) {
  const errors = [];
  const cache = new Map();
  const anchorsOf = (path) => {
    if (!cache.has(path)) cache.set(path, anchors(readFileSync(path, 'utf8')));
    return cache.get(path);
  };
  for (const file of files) {
    const abs = join(root, file);
    for (const { line, target } of links(readFileSync(abs, 'utf8'))) {
      if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http(s), mailto, ...: not fetched
      const hash = target.indexOf('#');
      let path = hash < 0 ? target : target.slice(0, hash);
      const anchor = hash < 0 ? null : target.slice(hash + 1);
      const where = `${file}:${line}: ${target}`;
      try { path = decodeURIComponent(path); } catch { errors.push(`${where}: a path that is not valid percent-encoding`); continue; }
      const dest = path === '' ? abs : path.startsWith('/') ? join(root, path) : resolve(dirname(abs), path);
      if (relative(root, dest).startsWith('..')) { errors.push(`${where}: points outside the repository`); continue; }
      if (!existsSync(dest)) { errors.push(`${where}: no such file ${relative(root, dest) || '.'}`); continue; }
      if (anchor === null || !/\.md$/i.test(dest) || !statSync(dest).isFile()) continue;
      let name = anchor;
      try { name = decodeURIComponent(anchor); } catch { /* checked as written */ }
      if (!anchorsOf(dest).has(name) && !anchorsOf(dest).has(name.toLowerCase())) {
        errors.push(`${where}: no heading #${anchor} in ${relative(root, dest)}`);
      }
    }
  }
  return errors;
}

/** The committed Markdown files, relative to root. */
function markdownFiles(root) {
  const out = execFileSync('git', ['ls-files', '-z', '--', '*.md'], { cwd: root, encoding: 'utf8' });
  return out.split('\0').filter((f) => f && !SKIP.test(f) && existsSync(join(root, f)));
}

if (process.argv.includes('--self-test')) {
  const dir = mkdtempSync(join(tmpdir(), 'check-links-'));
  try {
    mkdirSync(join(dir, 'docs', 'pics'), { recursive: true });
    writeFileSync(join(dir, 'docs', 'pics', 'a.png'), '');
    writeFileSync(join(dir, 'docs', 'guide.md'), [
      '# Guide', '', '## The manual\'s last step, locally', '', '## Usage', '', '## Usage', '',
      '## Языки и `locale`', '', 'Setext heading', '---', '',
      '```sh', '[not a link](missing-in-code.md)', '```', '',
      'See [the top](#guide), [step](#the-manuals-last-step-locally), [usage](#usage-1),',
      '[языки](#языки-и-locale), [setext](#setext-heading), ![pic](pics/a.png), `[code](nowhere.md)`,',
      '[home](../README.md#home), [site](https://example.com/x.md#nothing), [dir](pics/).', '',
    ].join('\n'));
    const good = ['# Home', '', 'Read [the guide](docs/guide.md) and [its step](docs/guide.md#the-manuals-last-step-locally).', ''];
    const planted = [
      ['a link to a missing file', '[gone](docs/gone.md)', /README\.md:\d+: docs\/gone\.md: no such file docs\/gone\.md/],
      ['a link to a missing heading', '[perf](docs/guide.md#performance)', /no heading #performance in docs\/guide\.md/],
      ['a link to a duplicate heading that is not there', '[third](docs/guide.md#usage-2)', /no heading #usage-2/],
      ['a link to a missing heading of the same file', '[x](#where-to-go-next)', /no heading #where-to-go-next in README\.md/],
      ['a missing image', '![shot](docs/pics/b.png)', /no such file docs\/pics\/b\.png/],
    ];
    writeFileSync(join(dir, 'README.md'), good.join('\n'));
    const clean = check(dir, ['README.md', 'docs/guide.md']);
    assert.deepEqual(clean, [], `good links were reported: ${JSON.stringify(clean)}`);
    console.log('check-links --self-test: good links (headings, duplicates, Cyrillic, images, code left out) pass');
    for (const [what, link, expect] of planted) {
      writeFileSync(join(dir, 'README.md'), [...good, link, ''].join('\n'));
      const errors = check(dir, ['README.md', 'docs/guide.md']);
      assert.ok(errors.length === 1 && expect.test(errors[0]), `the check missed ${what}: ${JSON.stringify(errors)}`);
      console.log(`check-links --self-test: caught ${what}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const files = markdownFiles(ROOT);
  const errors = check(ROOT, files);
  if (errors.length) {
    for (const e of errors) console.error(`check-links: ${e}`);
    process.exit(1);
  }
  const n = files.reduce((sum, f) => sum + links(readFileSync(join(ROOT, f), 'utf8')).length, 0);
  console.log(`check-links: ${n} links in ${files.length} Markdown files, every relative one to a file and heading that exist`);
}
