// The console's languages: choosing one, and its strings, plurals, numbers and dates. The strings
// live in one catalog per language (en.js, ru.js beside this file: a flat object of keys); a
// plural entry is an object of Intl.PluralRules categories (en: one, other; ru: one, few, many,
// other). scripts/check-i18n.mjs checks that both catalogs have the same keys and forms and that
// app.js uses no key they lack.

export const LANGS = ['en', 'ru'];
export const DEFAULT_LANG = 'en';
/** Each language's name in itself, for the switch. */
export const NAMES = { en: 'English', ru: 'Русский' };

/**
 * The language to show: the user's choice (a stored one of LANGS), else the first of the
 * browser's languages (navigator.languages, most preferred first) that the console has, else
 * English.
 */
export function pickLang(stored, preferred) {
  if (LANGS.includes(stored)) return stored;
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return DEFAULT_LANG;
}

/**
 * The formatting functions of one language over its catalog:
 * t(key, params): a string with {name} placeholders filled;
 * tp(key, n, params): the plural form for n ({n} is n formatted for the language);
 * num(n), when(isoTime): numbers and date-times for the language;
 * period(t): a usage period (a UTC day `2026-12-07` or hour `2026-12-07T10:00:00Z`) for the language.
 */
export function translator(lang, catalog) {
  const plural = new Intl.PluralRules(lang);
  const numbers = new Intl.NumberFormat(lang);
  const dates = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
  const fill = (text, params) => text.replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
  const num = (n) => (typeof n === 'number' ? numbers.format(n) : String(n));
  const t = (key, params) => {
    const v = catalog[key];
    if (typeof v !== 'string') return key;
    return fill(v, params);
  };
  const tp = (key, n, params) => {
    const v = catalog[key];
    if (!v || typeof v !== 'object') return key;
    return fill(v[plural.select(n)] ?? v.other, { ...params, n: num(n) });
  };
  const when = (iso) => (iso ? dates.format(new Date(iso)) : '—');
  const days = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const hours = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
  const period = (p) => (p.includes('T') ? hours.format(new Date(p)) : days.format(new Date(`${p}T00:00:00Z`)));
  return { lang, t, tp, num, when, period };
}
