// The console's catalogs (functions/console/assets/i18n/*.js) against each other and against the
// code that uses them (app.js), run by `make test` before the browser tests. Fails when:
// - a catalog lacks a key another has, or a key is a plural in one and a plain string in another;
// - a plural lacks (or adds) one of its language's Intl.PluralRules categories (en: one, other;
//   ru: one, few, many, other);
// - a string's {placeholders} differ between the languages;
// - app.js uses a key no catalog has, uses t() for a plural or tp() for a plain string, passes t()
//   a key that is not a literal (which this check could not follow), or a catalog has a key the
//   code never uses;
// - Russian plurals or the choice of language come out wrong (1 вызов, 2 вызова, 5 вызовов,
//   11 вызовов, 21 вызов).
// `--self-test` plants a missing key, an unknown key and a missing plural form, and fails unless
// each is caught.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', 'functions', 'console', 'assets');
const { LANGS, pickLang, translator } = await import(pathToFileURL(join(ASSETS, 'i18n', 'i18n.js')));

const placeholders = (v) => {
  const texts = typeof v === 'string' ? [v] : Object.values(v);
  return [...new Set(texts.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort().join(',');
};

/** Every problem with these catalogs ({lang: {key: value}}) and this code; [] when none. */
export function check(catalogs, code) {
  const errors = [];
  const langs = Object.keys(catalogs);
  const keys = new Set(langs.flatMap((l) => Object.keys(catalogs[l])));
  for (const key of keys) {
    const values = langs.map((l) => [l, catalogs[l][key]]);
    for (const [l, v] of values) {
      if (v === undefined) { errors.push(`${l}: key ${key} is missing`); continue; }
      if (typeof v === 'string') continue;
      if (!v || typeof v !== 'object') { errors.push(`${l}: ${key} is neither a string nor a plural`); continue; }
      const want = new Intl.PluralRules(l).resolvedOptions().pluralCategories.slice().sort();
      const have = Object.keys(v).sort();
      if (want.join() !== have.join()) errors.push(`${l}: plural ${key} has forms ${have.join(', ')}, not ${want.join(', ')}`);
      for (const [form, s] of Object.entries(v)) if (typeof s !== 'string') errors.push(`${l}: ${key}.${form} is not a string`);
    }
    const present = values.filter(([, v]) => v !== undefined);
    const kinds = new Set(present.map(([, v]) => typeof v));
    if (kinds.size > 1) errors.push(`${key} is a plural in some catalogs and a string in others`);
    const holes = new Set(present.map(([, v]) => (v && typeof v === 'object' || typeof v === 'string' ? placeholders(v) : '')));
    if (holes.size > 1) errors.push(`${key} has different placeholders: ${present.map(([l, v]) => `${l} {${placeholders(v)}}`).join(' vs ')}`);
  }
  const used = new Map();
  for (const m of code.matchAll(/(?<![.\w])(tp?)\(\s*([^\s),]*)/g)) {
    const [, fn, arg] = m;
    const literal = arg.match(/^'([^']+)'$/);
    if (!literal) { errors.push(`app.js: ${fn}(${arg}…) does not name its key as a literal`); continue; }
    used.set(literal[1], fn);
  }
  for (const [key, fn] of used) {
    const v = langs.map((l) => catalogs[l][key]).find((x) => x !== undefined);
    if (v === undefined) errors.push(`app.js uses ${key}, which no catalog has`);
    else if (fn === 'tp' && typeof v === 'string') errors.push(`app.js: tp('${key}') but ${key} is not a plural`);
    else if (fn === 't' && typeof v !== 'string') errors.push(`app.js: t('${key}') but ${key} is a plural (use tp)`);
  }
  for (const key of keys) if (!used.has(key)) errors.push(`${key} is in the catalogs but app.js never uses it`);
  return errors;
}

/** What the Russian catalog makes of plurals and what the language choice picks. */
function behaviour(ru) {
  const r = translator('ru', ru);
  const calls = [1, 2, 5, 11, 21, 22, 25, 101, 1000].map((n) => r.tp('usage.calls', n)).join(', ');
  assert.equal(calls, '1 вызов, 2 вызова, 5 вызовов, 11 вызовов, 21 вызов, 22 вызова, 25 вызовов, 101 вызов, 1\u00a0000 вызовов');
  assert.equal(pickLang(null, ['ru-RU', 'en-US']), 'ru');
  assert.equal(pickLang(null, ['de-DE', 'en-GB', 'ru']), 'en');
  assert.equal(pickLang(null, ['uk-UA', 'ru', 'en']), 'ru');
  assert.equal(pickLang(null, ['fr-FR']), 'en');
  assert.equal(pickLang(null, []), 'en');
  assert.equal(pickLang('en', ['ru-RU']), 'en', 'the stored choice wins over the browser');
  assert.equal(pickLang('ru', ['en-US']), 'ru');
  assert.equal(pickLang('xx', ['ru']), 'ru', 'an unknown stored value is ignored');
}

const catalogs = {};
for (const lang of LANGS) catalogs[lang] = (await import(pathToFileURL(join(ASSETS, 'i18n', `${lang}.js`)))).default;
const code = readFileSync(join(ASSETS, 'app.js'), 'utf8');

if (process.argv.includes('--self-test')) {
  const drop = (obj, key) => Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));
  const planted = [
    ['a key missing from ru', { ...catalogs, ru: drop(catalogs.ru, 'templates.title') }, code, /ru: key templates\.title is missing/],
    ['a key missing from en', { ...catalogs, en: drop(catalogs.en, 'tabs.about') }, code, /en: key tabs\.about is missing/],
    ['a key the code uses that no catalog has', catalogs, `${code}\nt('nowhere.to_be_found');\n`, /uses nowhere\.to_be_found, which no catalog has/],
    ['a Russian plural without its "few" form', { ...catalogs, ru: { ...catalogs.ru, 'usage.calls': { one: '{n} вызов', many: '{n} вызовов', other: '{n} вызова' } } }, code, /ru: plural usage\.calls has forms/],
    ['different placeholders', { ...catalogs, ru: { ...catalogs.ru, 'keys.row': 'Ключ' } }, code, /keys\.row has different placeholders/],
    ['a key that is not a literal', catalogs, `${code}\nt(someKey);\n`, /does not name its key as a literal/],
  ];
  for (const [what, cats, src, expect] of planted) {
    const errors = check(cats, src);
    assert.ok(errors.some((e) => expect.test(e)), `the check missed ${what}: ${JSON.stringify(errors)}`);
    console.log(`check-i18n --self-test: caught ${what}`);
  }
  assert.throws(() => behaviour({ ...catalogs.ru, 'usage.calls': { ...catalogs.ru['usage.calls'], few: '{n} вызовов' } }));
  console.log('check-i18n --self-test: caught a wrong Russian plural form');
} else {
  const errors = check(catalogs, code);
  if (errors.length) {
    for (const e of errors) console.error(`check-i18n: ${e}`);
    process.exit(1);
  }
  behaviour(catalogs.ru);
  const n = Object.keys(catalogs.en).length;
  console.log(`check-i18n: ${LANGS.join(' and ')} catalogs have the same ${n} keys, each used by app.js; Russian plurals and the language choice are right`);
}
