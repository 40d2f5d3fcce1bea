// The keygate console: a single-page app over the public API (API.md), no framework, no build step.
// Pages live under /console/...; the path is the state, so every screen has a link (mails use them).
// Every string it shows comes from the catalogs in i18n/ (English and Russian), by key.

import { LANGS, NAMES, pickLang, translator } from './i18n/i18n.js';
import en from './i18n/en.js';
import ru from './i18n/ru.js';

const TOKEN_KEY = 'keygate.console.token';
const LANG_KEY = 'keygate.console.lang';
const CATALOGS = { en, ru };
// An import prefix's rule lives in one place, the API's contract: the pattern of its `prefix`
// parameter in /v1/openapi.json, read once when the import form first opens. Until it is here (or
// if it cannot be read) the form accepts any prefix and the API's answer is the check.
let prefixRule = null;
function loadPrefixRule() {
  prefixRule ??= fetch('/v1/openapi.json')
    .then((r) => r.json())
    .then((doc) => new RegExp(doc.components.parameters.path_prefix.schema.pattern))
    .catch(() => null);
  return prefixRule;
}
const $main = document.getElementById('main');
const $nav = document.getElementById('nav');
const $who = document.getElementById('who');
const $lang = document.getElementById('lang');

const session = { token: sessionStorage.getItem(TOKEN_KEY), user: null, dev: false };
session.user = claims(session.token);

// ---------------------------------------------------------------------------------------------
// Language: the user's choice (localStorage), else the browser's languages, else English.

function storedLang() {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

let i18n = translator('en', en);
const t = (key, params) => i18n.t(key, params);
const tp = (key, n, params) => i18n.tp(key, n, params);
const num = (n) => i18n.num(n);
// A denial reason's code (the usage counters' names) in words, the code kept beside it; an
// unknown code as it is.
const REASONS = {
  invalid_token: () => t('reason.invalid_token'),
  expired: () => t('reason.expired'),
  revoked: () => t('reason.revoked'),
  wrong_project: () => t('reason.wrong_project'),
  permission_missing: () => t('reason.permission_missing'),
  unknown_route: () => t('reason.unknown_route'),
  rate_limited: () => t('reason.rate_limited'),
};
const reasonText = (code) => (Object.hasOwn(REASONS, code) ? `${REASONS[code]()} (${code})` : code);
const when = (iso) => i18n.when(iso);
const period = (p) => i18n.period(p);

/** Switches the page's language: strings, <html lang>, the static parts of index.html. */
function applyLang(lang) {
  i18n = translator(lang, CATALOGS[lang]);
  document.documentElement.lang = lang;
  document.querySelector('.skip').textContent = t('page.skip');
  $nav.setAttribute('aria-label', t('nav.label'));
}
applyLang(pickLang(storedLang(), navigator.languages || [navigator.language]));

/**
 * The user's choice of language: remembered in this browser, the page drawn again in it, and, when
 * signed in, sent to the API (`PUT /v1/me/settings`) so that mails follow it and the next sign-in
 * in another browser starts in it (`followSavedLang`). The console does not depend on that call: a
 * 404/405 (an API without the route) or any other failure is ignored.
 */
function chooseLang(lang) {
  if (lang === i18n.lang) return;
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // Storage off: the choice lasts until the page is left.
  }
  applyLang(lang);
  render();
  if (session.token) {
    fetch('/v1/me/settings', {
      method: 'PUT',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ locale: lang }),
    }).then((res) => {
      if (!res.ok && res.status !== 404 && res.status !== 405) console.warn(`PUT /v1/me/settings: ${res.status}`);
    }, () => {});
  }
}

/** The RU | EN switch in the header, on every screen. */
function renderLangSwitch() {
  // Each language is named in itself (an autonym), whatever the page's language.
  const buttons = LANGS.slice().reverse().map((lang) => h('button', {
    type: 'button',
    class: 'lang',
    lang,
    'aria-pressed': String(lang === i18n.lang),
    'aria-label': `${lang.toUpperCase()}: ${NAMES[lang]}`,
    onclick: () => chooseLang(lang),
  }, lang.toUpperCase()));
  $lang.replaceChildren(h('div', { role: 'group', 'aria-label': t('lang.label'), class: 'lang-switch' },
    buttons[0], h('span', { 'aria-hidden': 'true' }, '|'), buttons[1]));
}

// ---------------------------------------------------------------------------------------------
// DOM and API helpers

/** Builds an element: h('button', {class: 'x', onclick: f}, 'text', child, [more]). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const props = attrs || {};
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false || k === 'value') continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  if (props.value != null) el.value = props.value;
  return el;
}

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

const PROBLEM = 'urn:keygate:problem:';

/**
 * What to say about a problem: the console's own words for each problem type the API has
 * (shared/src/http.rs, infra/openapi.json), the API's `detail` only for a type it does not know.
 */
function problemText(status, problem) {
  const type = typeof problem.type === 'string' && problem.type.startsWith(PROBLEM) ? problem.type.slice(PROBLEM.length) : null;
  const known = {
    validation: () => t('problem.validation'),
    'bad-request': () => t('problem.bad_request'),
    unauthenticated: () => t('problem.unauthenticated'),
    forbidden: () => t('problem.forbidden'),
    'not-found': () => t('problem.not_found'),
    'method-not-allowed': () => t('problem.method_not_allowed'),
    conflict: () => t('problem.conflict'),
    'version-mismatch': () => t('problem.version_mismatch'),
    'payload-too-large': () => t('problem.payload_too_large'),
    'rule-broken': () => t('problem.rule_broken'),
    'rate-limited': () => t('problem.rate_limited'),
    unavailable: () => t('problem.unavailable'),
    internal: () => t('problem.internal'),
  }[type];
  if (known) return known();
  return problem.detail || problem.title || t('problem.http', { status });
}

/**
 * A field error in the console's words: the API's messages (shared/src/model, domain) matched by
 * their shape; one the console does not know is shown as the API wrote it.
 */
function fieldText(message) {
  const m = String(message);
  const rules = [
    [/^is required$/, () => t('field.required')],
    [/^must not be empty$/, () => t('field.empty')],
    [/^must be at most (\d+) characters$/, (x) => t('field.too_long', { max: num(Number(x[1])) })],
    [/^must not contain control characters$/, () => t('field.control_chars')],
    [/^must start with a letter and hold only letters/, () => t('field.name_chars')],
    [/^another field already has the name/, () => t('field.name_duplicate')],
    [/is reserved: an import names the key's token secret/, () => t('field.name_reserved')],
    [/^project .* has no role/, () => t('field.no_role')],
    [/^must be a date as yyyy-mm-dd$/, () => t('field.date')],
    [/^must be day or hour$/, () => t('field.granularity')],
    [/^must not be after to$/, () => t('field.from_after_to')],
    [/^the range from\.\.to must be at most (\d+) days$/, (x) => tp('field.range_too_long', Number(x[1]))],
    [/^must be at most (\d+) \(7 days\)$/, (x) => t('field.grace_max', { max: num(Number(x[1])) })],
    [/would be named \S+, which holds the key's token$/, () => t('field.prefix_token_clash')],
    [/would both be named (\S+)$/, (x) => t('field.prefix_clash', { name: x[1] })],
  ];
  for (const [re, say] of rules) {
    const x = m.match(re);
    if (x) return say(x);
  }
  return m;
}

class ApiError extends Error {
  constructor(status, problem, message) {
    super(message || problemText(status, problem));
    this.status = status;
    this.problem = problem;
  }
  /** Field errors as {field: message}, in the console's words. */
  get fields() {
    const out = {};
    for (const e of this.problem.errors || []) out[e.field] = fieldText(e.message);
    return out;
  }
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { detail: e.message }, t('error.network', { why: e.message }));
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data && typeof data === 'object' ? data : { detail: text || res.statusText });
    if (res.status === 401 && session.token) signOut(t('signin.expired'));
    throw err;
  }
  return data;
}

/** Every item of a list route, following `next` cursors. */
async function all(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${sep}page_size=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return items;
}

const enc = encodeURIComponent;
const day = (d) => d.toISOString().slice(0, 10);

/** The claims of a JWT, for display only (the API verifies it). */
function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return null;
  }
}

/** A message area announced to screen readers; `show(err|text)` fills it, `clear()` empties it. */
function messageBox(kind = 'error') {
  const el = h('p', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status', hidden: true });
  el.show = (x) => {
    el.textContent = x instanceof Error ? x.message : x;
    el.hidden = false;
  };
  el.clear = () => {
    el.textContent = '';
    el.hidden = true;
  };
  return el;
}

/** A labelled control with its own error line: {wrap, input, error}. */
function field(label, input, hint) {
  const id = input.id || nextId('f');
  input.id = id;
  const error = h('span', { class: 'field-error', id: `${id}-err`, role: 'alert', hidden: true });
  const help = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [help && `${id}-hint`, `${id}-err`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, help, error);
  const set = (msg) => {
    error.textContent = msg || '';
    error.hidden = !msg;
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };
  return { wrap, input, error, set, help };
}

/** Shows an API error on the fields it names (by `errors[].field`), the rest in `box`. */
function showProblem(err, fields, box) {
  for (const f of Object.values(fields)) f.set('');
  box?.clear();
  if (!(err instanceof ApiError)) {
    box ? box.show(err) : console.error(err);
    return;
  }
  const named = err.fields;
  let placed = false;
  for (const [name, msg] of Object.entries(named)) {
    const base = name.replace(/\[\d+\]$/, '');
    const target = fields[name] || fields[base];
    if (target) {
      target.set(msg);
      placed = true;
    }
  }
  if (!placed && err.status === 409 && fields.name) {
    fields.name.set(t('problem.name_taken'));
    placed = true;
  }
  if (!placed) box ? box.show(err) : console.error(err);
}

/** A modal dialog (native <dialog>: focus stays inside, Esc closes). Resolves when closed. */
function dialog(title, body, actions) {
  const titleId = nextId('dlg');
  const d = h('dialog', { 'aria-labelledby': titleId }, h('h2', { id: titleId }, title), body, h('div', { class: 'actions' }, actions));
  document.body.append(d);
  d.addEventListener('close', () => d.remove());
  d.showModal();
  return d;
}

/** Asks to confirm a destructive step; resolves true when confirmed. */
function confirmStep(title, text, verb) {
  return new Promise((resolve) => {
    let ok = false;
    const d = dialog(title, h('p', {}, text), [
      h('button', { type: 'button', class: 'danger', onclick: () => { ok = true; d.close(); } }, verb),
      h('button', { type: 'button', onclick: () => d.close() }, t('common.cancel')),
    ]);
    d.addEventListener('close', () => resolve(ok));
  });
}

/** A key's or a request's status (the API's value) as a badge in the page's language. */
function statusBadge(status) {
  const label = {
    active: () => t('status.active'),
    revoked: () => t('status.revoked'),
    expired: () => t('status.expired'),
    pending: () => t('status.pending'),
    approved: () => t('status.approved'),
    rejected: () => t('status.rejected'),
    cancelled: () => t('status.cancelled'),
  }[status];
  return h('span', { class: `badge status-${status}` }, label ? label() : status);
}

/** A phrase with its number in <strong>: ("4 calls", 4) -> [<strong>4</strong>, " calls"]. */
function counted(text, n) {
  const at = text.indexOf(num(n));
  if (at < 0) return text;
  return [text.slice(0, at), h('strong', {}, num(n)), text.slice(at + num(n).length)];
}

// ---------------------------------------------------------------------------------------------
// Routing: the path is the state.

const routes = [
  [/^\/(console\/?)?$/, home],
  [/^\/console\/signin$/, signin],
  [/^\/console\/projects\/([^/]+)\/?$/, projectIndex],
  [/^\/console\/projects\/([^/]+)\/keys$/, (p) => ownerKeys(p, null)],
  [/^\/console\/projects\/([^/]+)\/requests\/([^/]+)$/, ownerKeys],
  [/^\/console\/projects\/([^/]+)\/about$/, about],
  [/^\/console\/projects\/([^/]+)\/secrets$/, secrets],
  [/^\/console\/keys$/, keys],
  [/^\/console\/keys\/([^/]+)$/, usage],
];

let renderSeq = 0;

function go(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

async function render() {
  const seq = ++renderSeq;
  const path = location.pathname;
  renderHeader();
  if (!session.token && path !== '/console/signin') {
    go(`/console/signin?next=${enc(path)}`, true);
    return;
  }
  const match = routes.map(([re, view]) => [path.match(re), view]).find(([m]) => m);
  const view = match ? match[1] : notFound;
  const args = match ? match[0].slice(1).map(decodeURIComponent) : [];
  const page = h('div', { class: 'page' }, h('p', { class: 'loading' }, t('page.loading')));
  $main.replaceChildren(page);
  try {
    const content = await view(...args);
    if (seq !== renderSeq) return;
    page.replaceChildren(...[content].flat());
    // The first screen drawn from the API's data, its controls live: time to interactive.
    if (!performance.getEntriesByName('console-ready').length) performance.mark('console-ready');
    const heading = page.querySelector('h1');
    document.title = heading ? `${heading.textContent} · keygate` : t('page.title');
  } catch (err) {
    if (seq !== renderSeq) return;
    const box = messageBox();
    box.show(err);
    page.replaceChildren(h('h1', {}, err.status === 404 ? t('page.not_found') : t('page.failed')), box);
  }
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/console')) return;
  e.preventDefault();
  go(url.pathname + url.search);
});
window.addEventListener('popstate', render);

function renderHeader() {
  const links = session.token
    ? [h('a', { href: '/console' }, t('nav.projects')), h('a', { href: '/console/keys' }, t('nav.keys'))]
    : [];
  for (const a of links) if (location.pathname === a.getAttribute('href')) a.setAttribute('aria-current', 'page');
  $nav.replaceChildren(...links);
  $who.replaceChildren(
    ...(session.user
      ? [h('span', { class: 'user', title: session.user.sub }, session.user.email || session.user.sub),
        h('a', { href: '/console/signin', class: 'button' }, t('nav.switch_user'))]
      : []),
  );
  renderLangSwitch();
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.user = null;
  session.notice = why;
  go(`/console/signin?next=${enc(location.pathname)}`, true);
}

function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  session.token = token;
  session.user = claims(token);
  const next = new URLSearchParams(location.search).get('next');
  const to = next && next.startsWith('/console') && next !== '/console/signin' ? next : '/console';
  followSavedLang(token).finally(() => go(to));
}

/**
 * At sign-in, the language the user saved (`GET /v1/me/settings`, `source: "setting"`: their last
 * choice on the switch, in any browser) becomes this browser's too. Anything else (no saved
 * choice, an API without the route, a failure) leaves the page as it is.
 */
async function followSavedLang(token) {
  try {
    const res = await fetch('/v1/me/settings', {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    if (!res.ok) return;
    const saved = await res.json();
    if (saved.source !== 'setting' || !LANGS.includes(saved.locale) || saved.locale === i18n.lang) return;
    try {
      localStorage.setItem(LANG_KEY, saved.locale);
    } catch {
      // Storage off: the saved language lasts until the page is left.
    }
    applyLang(saved.locale);
  } catch {
    // The console does not depend on the call.
  }
}

function notFound() {
  throw new ApiError(404, {}, t('page.no_such_page', { path: location.pathname }));
}

// ---------------------------------------------------------------------------------------------
// Sign-in: the platform's user token; on a local stack also the dev user switcher.

async function devAvailable() {
  try {
    const res = await fetch('/dev/token', { headers: { accept: 'application/json' } });
    return res.ok && (await res.json()).dev === true;
  } catch {
    return false;
  }
}

async function signin() {
  const out = [h('h1', {}, t('signin.title'))];
  if (session.notice) {
    const n = messageBox('notice');
    n.show(session.notice);
    session.notice = null;
    out.push(n);
  }
  if (await devAvailable()) {
    const box = messageBox();
    const user = field(t('signin.user_id'), h('input', { name: 'user', autocomplete: 'off', required: true, list: 'dev-users' }));
    const email = field(t('signin.email'), h('input', { name: 'email', type: 'email', autocomplete: 'off' }), t('signin.email_hint'));
    const as = async (id, mail) => {
      try {
        const res = await fetch('/dev/token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: id, email: mail || `${id}@example.com` }),
        });
        const data = await res.json();
        if (!res.ok) throw new ApiError(res.status, data);
        signIn(data.token);
      } catch (err) {
        showProblem(err, { user, email }, box);
      }
    };
    out.push(
      h('section', { class: 'card', 'aria-labelledby': 'dev-h' },
        h('h2', { id: 'dev-h' }, t('signin.dev_title')),
        h('p', { class: 'hint' }, t('signin.dev_hint')),
        h('div', { class: 'row' },
          ['alice', 'bob'].map((u) => h('button', { type: 'button', onclick: () => as(u) }, t('signin.as_user', { user: u })))),
        h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); as(user.input.value.trim(), email.input.value.trim()); } },
          user.wrap, email.wrap,
          h('datalist', { id: 'dev-users' }, h('option', { value: 'alice' }), h('option', { value: 'bob' })),
          box, h('button', { type: 'submit' }, t('signin.as_this_user')))));
  }
  const box = messageBox();
  const token = field(t('signin.token'), h('textarea', { name: 'token', rows: 3, spellcheck: 'false', required: true }),
    t('signin.token_hint'));
  out.push(
    h('form', {
      class: 'card stack',
      onsubmit: async (e) => {
        e.preventDefault();
        const tok = token.input.value.trim();
        if (!claims(tok)) return token.set(t('signin.not_jwt'));
        // Asked directly (not through api()): a refused token must not end the current session.
        try {
          const res = await fetch('/v1/me/projects?page_size=1', { headers: { authorization: `Bearer ${tok}` } });
          if (res.ok) return signIn(tok);
          const problem = await res.json().catch(() => ({}));
          const err = new ApiError(res.status, problem);
          if (res.status === 401) token.set(err.message);
          else showProblem(err, { token }, box);
        } catch (err) {
          box.show(err);
        }
      },
    }, h('h2', {}, t('signin.with_token')), token.wrap, box, h('button', { type: 'submit' }, t('signin.submit'))));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Projects

async function home() {
  const projects = await all('/v1/me/projects');
  const list = projects.length
    ? h('ul', { class: 'tiles' }, projects.map((m) => {
      const p = enc(m.project_id);
      const owner = m.membership === 'owner';
      return h('li', { class: 'tile' },
        h('h2', {}, m.project_name, ' ', h('span', { class: 'muted' }, `(${m.project_id})`)),
        h('p', {}, owner ? t('projects.owner') : t('projects.member')),
        h('div', { class: 'row' },
          owner && h('a', { class: 'button', href: `/console/projects/${p}/keys` }, t('tabs.keys')),
          h('a', { class: 'button', href: `/console/projects/${p}/about` }, t('tabs.about')),
          h('a', { class: 'button', href: `/console/projects/${p}/secrets` }, t('tabs.secrets'))));
    }))
    : h('p', {}, t('projects.none'));
  return [h('h1', {}, t('projects.title')), list];
}

async function loadProject(p) {
  const project = await api('GET', `/v1/projects/${enc(p)}`);
  project.mine = session.user && project.owner.id === session.user.sub;
  return project;
}

function projectTabs(project, current, pending) {
  const p = enc(project.id);
  const tabs = [
    project.mine && ['keys', t('tabs.keys'), pending],
    ['about', t('tabs.about')],
    ['secrets', t('tabs.secrets')],
  ].filter(Boolean);
  return [
    h('h1', {}, project.name),
    h('p', { class: 'muted' }, t('project.subtitle', { id: project.id, owner: project.owner.email })),
    h('nav', { class: 'tabs', 'aria-label': t('project.tabs') }, tabs.map(([slug, label, count]) =>
      h('a', { href: `/console/projects/${p}/${slug}`, 'aria-current': slug === current ? 'page' : null },
        label, count ? h('span', { class: 'badge count', 'aria-label': tp('requests.pending', count) }, num(count)) : null))),
  ];
}

async function projectIndex(p) {
  const project = await loadProject(p);
  go(`/console/projects/${enc(p)}/${project.mine ? 'keys' : 'about'}`, true);
  return [];
}

// ---------------------------------------------------------------------------------------------
// Project -> API keys (owner): templates and the requests waiting for a decision.

async function ownerKeys(p, highlight) {
  const [project, roles, nodes, templates, pending] = await Promise.all([
    loadProject(p),
    all(`/v1/projects/${enc(p)}/roles`),
    all(`/v1/projects/${enc(p)}/nodes`),
    all(`/v1/projects/${enc(p)}/templates`),
    all(`/v1/projects/${enc(p)}/requests?status=pending`),
  ]);
  if (!project.mine) {
    go(`/console/projects/${enc(p)}/about`, true);
    return [];
  }
  const ctx = { project, roles, nodes, rerender: () => go(location.pathname, true) };
  const tiles = h('div', { class: 'tiles' }, templates.map((tpl) => templateTile(ctx, tpl)));
  const section = h('section', { 'aria-labelledby': 'tpl-h' },
    h('div', { class: 'toolbar' },
      h('h2', { id: 'tpl-h' }, t('templates.title')),
      h('button', { type: 'button', class: 'primary', 'aria-label': t('templates.new'), onclick: () => newTemplate(ctx) }, `+ ${t('templates.new')}`)),
    templates.length ? tiles : h('p', { class: 'muted' }, t('templates.none')));
  return [...projectTabs(project, 'keys', pending.length), section, requestsSection(ctx, pending, highlight)];
}

function newTemplate(ctx) {
  const box = messageBox();
  const name = field(t('template.name'), h('input', { name: 'name', required: true, maxlength: 100, autocomplete: 'off' }));
  const role = field(t('template.role'), h('select', { name: 'role', required: true },
    ctx.roles.map((r) => h('option', { value: r.name }, r.name))));
  const description = field(t('template.description'), h('textarea', { name: 'description', rows: 2 }));
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('POST', `/v1/projects/${enc(ctx.project.id)}/templates`, {
          name: name.input.value, role: role.input.value, description: description.input.value || undefined,
        });
        d.close();
        ctx.rerender();
      } catch (err) {
        showProblem(err, { name, role, description }, box);
      }
    },
  }, name.wrap, role.wrap, description.wrap, box);
  form.id = nextId('form');
  const d = dialog(t('templates.new_title'), form, [
    h('button', { type: 'submit', form: form.id, class: 'primary' }, t('templates.create')),
    h('button', { type: 'button', onclick: () => d.close() }, t('common.cancel')),
  ]);
  if (!ctx.roles.length) box.show(t('templates.no_roles'));
  name.input.focus();
}

/** Saves one property of a template or field when its control changes; errors stay beside it. */
function autosave(f, save, status) {
  f.input.addEventListener('change', async () => {
    f.set('');
    status.clear();
    try {
      await save(f.input.value);
      status.show(t('common.saved'));
    } catch (err) {
      showProblem(err, { name: f, [f.input.name]: f }, null);
      if (!f.error.textContent) f.set(err.message);
    }
  });
  f.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && f.input.tagName === 'INPUT') f.input.dispatchEvent(new Event('change'));
  });
}

function templateTile(ctx, tpl) {
  const base = templateUrl(ctx, tpl);
  const status = messageBox('notice');
  const patch = async (body) => {
    const updated = await api('PATCH', base, { ...body, version: tpl.version });
    Object.assign(tpl, updated);
  };
  const name = field(t('template.name'), h('input', { name: 'name', value: tpl.name, maxlength: 100 }));
  const description = field(t('template.description'), h('textarea', { name: 'description', rows: 2, value: tpl.description || '' }));
  const role = field(t('template.role'), h('select', { name: 'role', value: tpl.role },
    ctx.roles.map((r) => h('option', { value: r.name }, r.name))));
  autosave(name, (v) => patch({ name: v }), status);
  autosave(description, (v) => patch({ description: v }), status);
  autosave(role, (v) => patch({ role: v }), status);

  const fields = h('ul', { class: 'fields' }, tpl.fields.map((f) => fieldRow(ctx, tpl, f, status)));
  const remove = async () => {
    if (!(await confirmStep(t('template.delete'), t('template.delete_confirm', { name: tpl.name }), t('template.delete')))) return;
    try {
      await api('DELETE', base);
      ctx.rerender();
    } catch (err) {
      status.show(err);
    }
  };
  return h('article', { class: 'tile template', 'aria-label': t('template.label', { name: tpl.name }) },
    h('div', { class: 'grid' }, name.wrap, role.wrap, description.wrap),
    h('p', { class: 'muted' }, tpl.ttl_days ? tp('template.expires', tpl.ttl_days) : t('template.no_expiry')),
    h('h3', {}, t('fields.title')),
    fields,
    addFieldForm(ctx, tpl, fields, status),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'danger', onclick: remove }, t('template.delete'))),
    status);
}

/** The node list of a picker: `hits` as items, or why there are none. */
function noNodes(ctx) {
  return h('li', { class: 'muted' }, ctx.nodes.length ? t('nodes.no_match') : t('nodes.none'));
}

/** "Insert project id" and "Insert node id" (a node picker) for a value input. */
function insertButtons(ctx, value) {
  const set = (v) => {
    value.input.value = v;
    value.input.dispatchEvent(new Event('change'));
    value.input.focus();
  };
  const pickNode = () => {
    const search = field(t('nodes.search'), h('input', { type: 'search', autocomplete: 'off' }));
    const list = h('ul', { class: 'picker', role: 'list' });
    const show = () => {
      const q = search.input.value.trim().toLowerCase();
      const hits = ctx.nodes.filter((n) => !q || n.id.toLowerCase().includes(q) || n.name.toLowerCase().includes(q));
      list.replaceChildren(...(hits.length
        ? hits.map((n) => h('li', {}, h('button', { type: 'button', onclick: () => { d.close(); set(n.id); } },
          `${n.name} (${n.id})`)))
        : [noNodes(ctx)]));
    };
    search.input.addEventListener('input', show);
    show();
    const d = dialog(t('fields.insert_node_title'), h('div', { class: 'stack' }, search.wrap, list),
      [h('button', { type: 'button', onclick: () => d.close() }, t('common.cancel'))]);
    search.input.focus();
  };
  return h('div', { class: 'row tight' },
    h('button', { type: 'button', onclick: () => set(ctx.project.id) }, t('fields.insert_project')),
    h('button', { type: 'button', onclick: pickNode }, t('fields.insert_node')));
}

/** The template's URL; every field change bumps its version (kept in step for the next PATCH). */
const templateUrl = (ctx, tpl) => `/v1/projects/${enc(ctx.project.id)}/templates/${enc(tpl.id)}`;

function fieldRow(ctx, tpl, f, status) {
  const url = `${templateUrl(ctx, tpl)}/fields/${enc(f.id)}`;
  const save = (prop) => async (v) => {
    Object.assign(f, await api('PATCH', url, { [prop]: v }));
    tpl.version += 1;
  };
  const name = field(t('fields.name'), h('input', { name: 'name', value: f.name, maxlength: 64 }));
  const description = field(t('fields.description'), h('input', { name: 'description', value: f.description || '' }));
  const value = field(t('fields.value'), h('input', { name: 'value', value: f.value, spellcheck: 'false' }));
  autosave(name, save('name'), status);
  autosave(description, save('description'), status);
  autosave(value, save('value'), status);
  const row = h('li', { class: 'field-row', 'aria-label': t('fields.label', { name: f.name }) },
    h('div', { class: 'grid' }, name.wrap, description.wrap, value.wrap),
    h('div', { class: 'row' }, insertButtons(ctx, value),
      h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': t('fields.delete_named', { name: f.name }),
        onclick: async () => {
          if (!(await confirmStep(t('fields.delete_title'), t('fields.delete_confirm', { name: f.name }), t('fields.delete')))) return;
          try {
            await api('DELETE', url);
            tpl.version += 1;
            row.remove();
          } catch (err) {
            status.show(err);
          }
        },
      }, t('fields.delete'))));
  return row;
}

function addFieldForm(ctx, tpl, list, status) {
  const box = messageBox();
  const name = field(t('fields.new_name'), h('input', { name: 'name', maxlength: 64, autocomplete: 'off' }));
  const description = field(t('fields.new_description'), h('input', { name: 'description', autocomplete: 'off' }));
  const value = field(t('fields.new_value'), h('input', { name: 'value', spellcheck: 'false', autocomplete: 'off' }));
  const form = h('form', {
    class: 'add-field',
    'aria-label': t('fields.add_label'),
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const created = await api('POST', `${templateUrl(ctx, tpl)}/fields`, {
          name: name.input.value, description: description.input.value || undefined, value: value.input.value,
        });
        tpl.version += 1;
        list.append(fieldRow(ctx, tpl, created, status));
        form.reset();
        for (const f of [name, description, value]) f.set('');
        box.clear();
        name.input.focus();
      } catch (err) {
        showProblem(err, { name, description, value }, box);
      }
    },
  }, h('div', { class: 'grid' }, name.wrap, description.wrap, value.wrap),
  h('div', { class: 'row' }, insertButtons(ctx, value), h('button', { type: 'submit', class: 'primary' }, t('fields.add'))), box);
  return form;
}

function requestsSection(ctx, pending, highlight) {
  const p = enc(ctx.project.id);
  const notice = messageBox('notice');
  const count = h('span', { class: 'badge count', 'aria-label': tp('requests.pending', pending.length) }, num(pending.length));
  const list = h('ul', { class: 'requests' });
  const left = () => {
    const n = list.children.length;
    count.textContent = num(n);
    count.setAttribute('aria-label', tp('requests.pending', n));
    for (const b of document.querySelectorAll('.tabs .badge.count')) {
      b.textContent = num(n);
      b.setAttribute('aria-label', tp('requests.pending', n));
      b.hidden = n === 0;
    }
    if (!n) list.replaceWith(empty);
  };
  const empty = h('p', { class: 'muted' }, t('requests.none'));
  for (const r of pending) {
    const box = messageBox();
    const who = r.requester.email;
    const item = h('li', { class: `request${r.id === highlight ? ' highlight' : ''}`, id: `request-${r.id}`, 'aria-label': t('requests.from', { who }) },
      h('div', {},
        t('requests.asks_before'), h('strong', {}, who), t('requests.asks_middle'), h('strong', {}, r.template_name), t('requests.asks_after'),
        h('div', { class: 'muted' }, when(r.created_at)),
        r.comment ? h('blockquote', {}, r.comment) : null),
      h('div', { class: 'row' },
        h('button', {
          type: 'button',
          class: 'approve',
          'aria-label': t('requests.approve_from', { who }),
          onclick: async () => {
            try {
              const { key } = await api('POST', `/v1/projects/${p}/requests/${enc(r.id)}/approve`);
              item.remove();
              left();
              notice.replaceChildren(`${t('requests.approved', { who, key: key.id })} `,
                h('a', { href: `/console/keys/${enc(key.id)}` }, t('keys.usage_of_this')));
              notice.hidden = false;
            } catch (err) {
              box.show(err);
            }
          },
        }, `✓ ${t('requests.approve')}`),
        h('button', {
          type: 'button',
          class: 'danger',
          'aria-label': t('requests.reject_from', { who }),
          onclick: () => rejectDialog(p, r, () => { item.remove(); left(); notice.show(t('requests.rejected', { who })); }),
        }, `✕ ${t('requests.reject')}`)),
      box);
    list.append(item);
  }
  if (highlight) queueMicrotask(() => document.getElementById(`request-${highlight}`)?.scrollIntoView({ block: 'center' }));
  return h('section', { 'aria-labelledby': 'req-h' },
    h('h2', { id: 'req-h' }, `${t('requests.title')} `, count),
    notice,
    pending.length ? list : empty);
}

function rejectDialog(p, r, done) {
  const box = messageBox();
  const reason = field(t('requests.reason'), h('textarea', { name: 'reason', rows: 3, maxlength: 1000 }));
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('POST', `/v1/projects/${p}/requests/${enc(r.id)}/reject`, { reason: reason.input.value || undefined });
        d.close();
        done();
      } catch (err) {
        showProblem(err, { reason }, box);
      }
    },
  }, h('p', {}, t('requests.reject_text', { who: r.requester.email, template: r.template_name })), reason.wrap, box);
  form.id = nextId('form');
  const d = dialog(t('requests.reject_title'), form, [
    h('button', { type: 'submit', form: form.id, class: 'danger' }, t('requests.reject_title')),
    h('button', { type: 'button', onclick: () => d.close() }, t('common.cancel')),
  ]);
  reason.input.focus();
}

// ---------------------------------------------------------------------------------------------
// Project -> About -> API keys (member): request a key, follow the request.

async function about(p) {
  const [project, templates, mine, myKeys] = await Promise.all([
    loadProject(p),
    all(`/v1/projects/${enc(p)}/templates`),
    all('/v1/me/requests'),
    all('/v1/me/keys'),
  ]);
  const requests = new Map(mine.map((r) => [r.id, r]));
  const keysById = new Map(myKeys.map((k) => [k.id, k]));
  const tiles = templates.map((tpl) => requestTile(p, tpl, requests, keysById));
  return [...projectTabs(project, 'about'),
    h('section', { 'aria-labelledby': 'ak-h' },
      h('h2', { id: 'ak-h' }, t('about.keys')),
      h('p', { class: 'muted' }, t('about.intro')),
      tiles.length ? h('div', { class: 'tiles' }, tiles) : h('p', { class: 'muted' }, t('about.none')))];
}

function requestTile(p, tpl, requests, keysById) {
  const state = h('div', { class: 'request-state' });
  const box = messageBox();
  const tile = h('article', { class: 'tile', 'aria-label': t('about.tile', { name: tpl.name }) },
    h('h3', {}, tpl.name),
    tpl.description ? h('p', {}, tpl.description) : null,
    h('p', { class: 'muted' }, t('about.role', { role: tpl.role }), tpl.ttl_days ? ` · ${tp('about.valid', tpl.ttl_days)}` : ''),
    tpl.fields.length ? h('dl', { class: 'info' }, tpl.fields.flatMap((f) => [h('dt', {}, f.name), h('dd', {}, f.description || '')])) : null,
    state, box);

  const show = (req) => {
    box.clear();
    const full = req && requests.get(req.id);
    if (req && req.status === 'pending') {
      state.replaceChildren(
        h('p', { class: 'status waiting' }, statusBadge('pending'), ` ${t('about.waiting')}`),
        h('button', {
          type: 'button',
          onclick: async () => {
            try {
              await api('DELETE', `/v1/projects/${enc(p)}/requests/${enc(req.id)}`);
              show(null);
            } catch (err) {
              box.show(err);
            }
          },
        }, t('about.cancel_request')));
    } else if (req && req.status === 'approved') {
      const key = keysById.get(req.key_id);
      state.replaceChildren(h('p', { class: 'status approved' },
        statusBadge('approved'), h('span', {}, t('about.approved')),
        key ? [` · ${t('about.key')} `, statusBadge(key.status)] : null, ' ',
        req.key_id ? h('a', { href: `/console/keys/${enc(req.key_id)}` }, t('keys.usage_of_this')) : null));
    } else {
      const rejected = req && req.status === 'rejected';
      const comment = field(t('about.comment'), h('textarea', { name: 'comment', rows: 2, maxlength: 1000 }));
      state.replaceChildren(
        rejected ? h('p', { class: 'status rejected' }, statusBadge('rejected'),
          ` ${full && full.reason ? t('about.rejected_because', { reason: full.reason }) : t('about.rejected')}`) : null,
        h('form', {
          class: 'stack',
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const created = await api('POST', `/v1/projects/${enc(p)}/templates/${enc(tpl.id)}/requests`,
                { comment: comment.input.value || undefined });
              requests.set(created.id, created);
              show(created);
            } catch (err) {
              showProblem(err, { comment }, box);
            }
          },
        }, comment.wrap, h('button', { type: 'submit', class: 'primary' }, rejected ? t('about.request_again') : t('about.request'))));
    }
  };
  show(tpl.my_request);
  return tile;
}

// ---------------------------------------------------------------------------------------------
// Secrets (client project): import a key under a prefix, grant nodes per secret.

async function secrets(c) {
  const [project, list, nodes, myKeys] = await Promise.all([
    loadProject(c),
    all(`/v1/projects/${enc(c)}/secrets`),
    all(`/v1/projects/${enc(c)}/nodes`),
    all('/v1/me/keys'),
  ]);
  const ctx = { c, nodes, rerender: (msg) => { session.flash = msg; go(location.pathname, true); } };
  const active = myKeys.filter((k) => k.status === 'active');
  const flash = messageBox('notice');
  if (session.flash) {
    flash.show(session.flash);
    session.flash = null;
  }
  const menu = h('ul', { class: 'menu', id: nextId('menu'), hidden: true },
    active.length
      ? active.map((k) => h('li', {}, h('button', {
        type: 'button',
        onclick: () => { menu.hidden = true; toggle.setAttribute('aria-expanded', 'false'); importDialog(ctx, k); },
      }, `${k.name} (${k.project_id})`)))
      : h('li', { class: 'muted' }, t('secrets.no_active_keys')));
  const toggle = h('button', {
    type: 'button',
    class: 'primary',
    'aria-expanded': 'false',
    'aria-controls': menu.id,
    onclick: () => {
      menu.hidden = !menu.hidden;
      toggle.setAttribute('aria-expanded', String(!menu.hidden));
      menu.querySelector('button')?.focus();
    },
  }, t('secrets.add_key'));
  menu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { menu.hidden = true; toggle.setAttribute('aria-expanded', 'false'); toggle.focus(); }
  });

  const byPrefix = new Map();
  for (const s of list) {
    const k = s.source.prefix;
    if (!byPrefix.has(k)) byPrefix.set(k, { key_id: s.source.key_id, secrets: [] });
    byPrefix.get(k).secrets.push(s);
  }
  const groups = [...byPrefix.entries()].map(([prefix, g]) => importGroup(ctx, prefix, g));
  return [...projectTabs(project, 'secrets'),
    h('section', { 'aria-labelledby': 'sec-h' },
      h('div', { class: 'toolbar' }, h('h2', { id: 'sec-h' }, t('tabs.secrets')), h('div', { class: 'menu-wrap' }, toggle, menu)),
      flash,
      groups.length ? groups : h('p', { class: 'muted' }, t('secrets.none')))];
}

function importDialog(ctx, key) {
  const box = messageBox();
  const prefix = field(t('import.prefix'), h('input', { name: 'prefix', autocomplete: 'off', spellcheck: 'false', maxlength: 48, required: true }),
    t('import.prefix_hint'));
  const preview = h('p', { class: 'hint', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', disabled: true }, t('import.submit'));
  const names = (x) => [`${x}_token`, ...key.fields.map((f) => `${x}_${f.name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')}`)];
  let rule = null;
  const check = () => {
    const v = prefix.input.value;
    const ok = rule ? rule.test(v) : v.length > 0;
    submit.disabled = !ok;
    if (!v) { prefix.set(''); preview.textContent = ''; return; }
    prefix.set(ok ? '' : t('import.prefix_invalid'));
    preview.textContent = ok ? t('import.creates', { names: names(v).join(', ') }) : '';
  };
  prefix.input.addEventListener('input', check);
  loadPrefixRule().then((r) => { rule = r; check(); });
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const res = await api('POST', `/v1/projects/${enc(ctx.c)}/imports`, { key_id: key.id, prefix: prefix.input.value });
        d.close();
        ctx.rerender(t('import.done', { name: key.name, names: res.secrets.map((s) => s.name).join(', ') }));
      } catch (err) {
        showProblem(err, { prefix, key_id: prefix }, box);
        submit.disabled = false;
      }
    },
  }, h('p', {}, t('import.key', { name: key.name, project: key.project_id, role: key.role })), prefix.wrap, preview, box);
  form.id = nextId('form');
  submit.setAttribute('form', form.id);
  const d = dialog(t('import.title'), form, [submit, h('button', { type: 'button', onclick: () => d.close() }, t('common.cancel'))]);
  prefix.input.focus();
}

function importGroup(ctx, prefix, g) {
  const box = messageBox();
  const rows = g.secrets.map((s) => {
    const cell = h('td', {}, nodeChips(s.nodes));
    return h('tr', {},
      h('th', { scope: 'row' }, h('code', {}, s.name)),
      cell,
      h('td', {}, when(s.updated_at)),
      h('td', {}, h('button', {
        type: 'button',
        'aria-label': t('secrets.choose_nodes', { name: s.name }),
        onclick: () => nodePicker(ctx, s, (nodes) => { s.nodes = nodes; cell.replaceChildren(nodeChips(nodes)); }),
      }, t('secrets.nodes_button'))));
  });
  return h('section', { class: 'tile', 'aria-label': t('secrets.import_label', { prefix }) },
    h('div', { class: 'toolbar' },
      h('h3', {}, `${t('secrets.prefix')} `, h('code', {}, prefix), ' ', h('span', { class: 'muted' }, `· ${t('secrets.key')} `),
        h('a', { href: `/console/keys/${enc(g.key_id)}` }, g.key_id)),
      h('button', {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!(await confirmStep(t('secrets.remove_title'), t('secrets.remove_confirm', { prefix }), t('secrets.remove')))) return;
          try {
            await api('DELETE', `/v1/projects/${enc(ctx.c)}/imports/${enc(prefix)}`);
            ctx.rerender(t('secrets.removed', { prefix }));
          } catch (err) {
            box.show(err);
          }
        },
      }, t('secrets.remove_import'))),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('secrets.col_secret')), h('th', { scope: 'col' }, t('secrets.col_nodes')),
        h('th', { scope: 'col' }, t('secrets.col_updated')), h('th', { scope: 'col' }, h('span', { class: 'sr' }, t('common.actions'))))),
      h('tbody', {}, rows))),
    box);
}

function nodeChips(nodes) {
  return nodes.length ? h('ul', { class: 'chips' }, nodes.map((n) => h('li', {}, n))) : h('span', { class: 'muted' }, t('secrets.no_nodes'));
}

function nodePicker(ctx, secret, saved) {
  const box = messageBox();
  const chosen = new Set(secret.nodes);
  const search = field(t('nodes.search'), h('input', { type: 'search', autocomplete: 'off' }));
  const list = h('ul', { class: 'picker' });
  const show = () => {
    const q = search.input.value.trim().toLowerCase();
    const hits = ctx.nodes.filter((n) => !q || n.id.toLowerCase().includes(q) || n.name.toLowerCase().includes(q));
    list.replaceChildren(...(hits.length ? hits.map((n) => {
      const id = nextId('node');
      return h('li', {},
        h('input', {
          type: 'checkbox', id, checked: chosen.has(n.id),
          onchange: (e) => (e.target.checked ? chosen.add(n.id) : chosen.delete(n.id)),
        }),
        h('label', { for: id }, `${n.name} (${n.id})`));
    }) : [noNodes(ctx)]));
  };
  search.input.addEventListener('input', show);
  show();
  const save = async () => {
    try {
      const res = await api('PUT', `/v1/projects/${enc(ctx.c)}/secrets/${enc(secret.name)}/nodes`,
        { nodes: ctx.nodes.map((n) => n.id).filter((id) => chosen.has(id)).concat([...chosen].filter((id) => !ctx.nodes.some((n) => n.id === id))) });
      d.close();
      saved(res.nodes);
    } catch (err) {
      showProblem(err, { nodes: { set: (m) => (m ? box.show(m) : null) } }, box);
    }
  };
  const d = dialog(t('nodes.picker_title', { name: secret.name }), h('div', { class: 'stack' }, search.wrap, list, box), [
    h('button', { type: 'button', class: 'primary', onclick: save }, t('common.save')),
    h('button', { type: 'button', onclick: () => d.close() }, t('common.cancel')),
  ]);
  search.input.focus();
}

// ---------------------------------------------------------------------------------------------
// Keys and usage

async function keys() {
  const [mine, projects] = await Promise.all([all('/v1/me/keys'), all('/v1/me/projects')]);
  const owned = projects.filter((m) => m.membership === 'owner');
  const projectKeys = await Promise.all(owned.map((m) => all(`/v1/projects/${enc(m.project_id)}/keys`)));
  const out = [h('h1', {}, t('keys.title')),
    h('section', { 'aria-labelledby': 'mine-h' }, h('h2', { id: 'mine-h' }, t('keys.mine')),
      mine.length ? keyTable(mine, { holder: false }) : h('p', { class: 'muted' }, t('keys.mine_none')))];
  owned.forEach((m, i) => {
    const id = nextId('pk');
    out.push(h('section', { 'aria-labelledby': id },
      h('h2', { id }, t('keys.of_project', { name: m.project_name, id: m.project_id })),
      projectKeys[i].length ? keyTable(projectKeys[i], { holder: true }) : h('p', { class: 'muted' }, t('keys.project_none'))));
  });
  return out;
}

function keyTable(list, { holder }) {
  const box = messageBox();
  const rows = list.map((k) => {
    const status = h('td', {}, statusBadge(k.status));
    const actions = h('td', { class: 'row tight' });
    const mineKey = session.user && k.holder.id === session.user.sub;
    const fill = () => actions.replaceChildren(
      h('a', { class: 'button', href: `/console/keys/${enc(k.id)}`, 'aria-label': t('keys.usage_of', { name: k.name, id: k.id }) }, t('keys.usage')),
      k.status === 'active' && mineKey ? h('button', { type: 'button', onclick: () => roll(k) }, t('keys.roll')) : null,
      k.status === 'active' ? h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': t('keys.revoke_named', { name: k.name, holder: k.holder.email }),
        onclick: async () => {
          if (!(await confirmStep(t('keys.revoke_title'), t('keys.revoke_confirm', { id: k.id, name: k.name, holder: k.holder.email }), t('keys.revoke')))) return;
          try {
            Object.assign(k, await api('POST', `/v1/keys/${enc(k.id)}/revoke`));
            status.replaceChildren(statusBadge(k.status));
            fill();
          } catch (err) {
            box.show(err);
          }
        },
      }, t('keys.revoke')) : null);
    fill();
    return h('tr', { 'aria-label': t('keys.row', { id: k.id }) },
      h('th', { scope: 'row' }, k.name, h('div', { class: 'muted' }, h('code', {}, k.id))),
      h('td', {}, k.project_id),
      holder ? h('td', {}, k.holder.email) : null,
      h('td', {}, k.role),
      status,
      h('td', {}, when(k.issued_at)),
      h('td', {}, k.expires_at ? when(k.expires_at) : t('keys.never')),
      h('td', {}, when(k.last_used_at)),
      actions);
  });
  const head = [t('keys.col_key'), t('keys.col_project'), holder && t('keys.col_holder'), t('keys.col_role'), t('keys.col_status'),
    t('keys.col_issued'), t('keys.col_expires'), t('keys.col_last_used'), t('common.actions')].filter(Boolean);
  return h('div', {}, box, h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows))));
}

function roll(k) {
  const box = messageBox();
  const grace = field(t('roll.grace'), h('input', { name: 'grace_seconds', type: 'number', min: 0, value: '3600' }));
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const fresh = await api('POST', `/v1/keys/${enc(k.id)}/roll`, { grace_seconds: Number(grace.input.value) });
        d.close();
        go(`/console/keys/${enc(fresh.id)}`);
      } catch (err) {
        showProblem(err, { grace_seconds: grace }, box);
      }
    },
  }, h('p', {}, t('roll.text', { id: k.id })), grace.wrap, box);
  form.id = nextId('form');
  const d = dialog(t('roll.title'), form, [
    h('button', { type: 'submit', form: form.id, class: 'primary' }, t('roll.title')),
    h('button', { type: 'button', onclick: () => d.close() }, t('common.cancel')),
  ]);
}

async function usage(k) {
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86400000);
  const range = { from: params.get('from') || day(monthAgo), to: params.get('to') || day(today), granularity: params.get('granularity') || 'day' };
  const key = await api('GET', `/v1/keys/${enc(k)}`);
  const box = messageBox();
  const from = field(t('usage.from'), h('input', { type: 'date', name: 'from', value: range.from }));
  const to = field(t('usage.to'), h('input', { type: 'date', name: 'to', value: range.to }));
  const gran = field(t('usage.by'), h('select', { name: 'granularity', value: range.granularity },
    h('option', { value: 'day' }, t('usage.day')), h('option', { value: 'hour' }, t('usage.hour'))));
  const body = h('div', { class: 'usage' });
  const picker = h('form', {
    class: 'row range',
    'aria-label': t('usage.range'),
    onsubmit: (e) => {
      e.preventDefault();
      const q = new URLSearchParams({ from: from.input.value, to: to.input.value, granularity: gran.input.value });
      go(`/console/keys/${enc(k)}?${q}`);
    },
  }, from.wrap, to.wrap, gran.wrap, h('button', { type: 'submit' }, t('usage.show')));
  try {
    const u = await api('GET', `/v1/keys/${enc(k)}/usage?${new URLSearchParams(range)}`);
    body.append(
      h('p', { class: 'totals', 'aria-label': t('usage.totals') },
        h('span', {}, counted(tp('usage.calls', u.total), u.total)),
        h('span', { class: 'allowed' }, counted(t('usage.allowed', { n: num(u.allowed) }), u.allowed)),
        h('span', { class: 'denied' }, counted(t('usage.denied', { n: num(u.denied) }), u.denied)),
        h('span', { class: 'muted' }, t('usage.last_used', { when: when(u.last_used_at) }))),
      chart(u),
      h('div', { class: 'grid two' },
        h('section', { 'aria-labelledby': 'routes-h' }, h('h2', { id: 'routes-h' }, t('usage.by_route')),
          u.routes.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('usage.col_route')), h('th', { scope: 'col', class: 'num' }, t('usage.col_calls')))),
            h('tbody', {}, u.routes.map((r) => h('tr', {}, h('td', {}, h('code', {}, r.route)), h('td', { class: 'num' }, num(r.total))))))
            : h('p', { class: 'muted' }, t('usage.no_calls'))),
        h('section', { 'aria-labelledby': 'reasons-h' }, h('h2', { id: 'reasons-h' }, t('usage.by_reason')),
          (u.denied_by_reason || []).length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('usage.col_reason')), h('th', { scope: 'col', class: 'num' }, t('usage.col_calls')))),
            h('tbody', {}, u.denied_by_reason.map((r) => h('tr', {}, h('td', {}, reasonText(r.reason)), h('td', { class: 'num' }, num(r.total))))))
            : h('p', { class: 'muted' }, t('usage.none_denied')))));
  } catch (err) {
    showProblem(err, { from, to, granularity: gran }, box);
  }
  return [h('h1', {}, t('usage.title', { name: key.name })),
    h('p', { class: 'muted' }, h('code', {}, key.id), ` · ${t('usage.about_key', { project: key.project_id, role: key.role, holder: key.holder.email })} · `, statusBadge(key.status)),
    picker, box, body];
}

/** Calls per period as stacked bars (allowed below, denied above), in SVG with a data table. */
function chart(u) {
  const NS = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, ...kids) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.append(...kids);
    return el;
  };
  const W = 720, H = 220, PAD = 28;
  const n = Math.max(u.series.length, 1);
  const max = Math.max(1, ...u.series.map((p) => p.total));
  const bw = (W - PAD) / n;
  const y = (v) => ((H - PAD) * v) / max;
  const counts = { allowed: num(u.allowed), denied: num(u.denied) };
  const label = u.granularity === 'hour' ? t('chart.label_hour', counts) : t('chart.label_day', counts);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', 'aria-label': label });
  svg.append(s('line', { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, class: 'axis' }));
  svg.append(s('text', { x: 0, y: 12, class: 'tick' }, num(max)));
  svg.append(s('text', { x: 0, y: H - PAD, class: 'tick' }, num(0)));
  u.series.forEach((p, i) => {
    const x = PAD + i * bw + bw * 0.1;
    const w = Math.max(bw * 0.8, 1);
    const g = s('g', { class: 'bar' }, s('title', {}, t('chart.bar', { t: period(p.t), allowed: num(p.allowed), denied: num(p.denied) })));
    const ha = y(p.allowed), hd = y(p.denied);
    if (p.allowed) g.append(s('rect', { x, y: H - PAD - ha, width: w, height: ha, class: 'allowed' }));
    if (p.denied) g.append(s('rect', { x, y: H - PAD - ha - hd, width: w, height: hd, class: 'denied' }));
    svg.append(g);
    const every = Math.ceil(n / 6);
    if (i % every === 0) svg.append(s('text', { x, y: H - 8, class: 'tick' }, period(p.t)));
  });
  const legend = h('p', { class: 'legend' }, h('span', { class: 'allowed' }, t('chart.allowed')), ' ', h('span', { class: 'denied' }, t('chart.denied')));
  const table = h('details', {}, h('summary', {}, t('chart.as_table')),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, [t('chart.col_period'), t('chart.col_total'), t('chart.col_allowed'), t('chart.col_denied')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, u.series.filter((p) => p.total).map((p) => h('tr', {}, h('td', {}, h('time', { datetime: p.t }, period(p.t))), h('td', { class: 'num' }, num(p.total)),
        h('td', { class: 'num' }, num(p.allowed)), h('td', { class: 'num' }, num(p.denied))))))));
  return h('figure', { class: 'chart-wrap' }, svg, h('figcaption', {}, legend), table);
}

render();
