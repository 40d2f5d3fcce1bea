// The keygate console: a single-page app over the public API (API.md), no framework, no build step.
// Pages live under /console/...; the path is the state, so every screen has a link (mails use them).

const TOKEN_KEY = 'keygate.console.token';
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

const session = { token: sessionStorage.getItem(TOKEN_KEY), user: null, dev: false };
session.user = claims(session.token);

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

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
  /** Field errors as {field: message}. */
  get fields() {
    const out = {};
    for (const e of this.problem.errors || []) out[e.field] = e.message;
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
    throw new ApiError(0, { title: 'Network error', detail: `keygate could not be reached (${e.message})` });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data && typeof data === 'object' ? data : { detail: text || res.statusText });
    if (res.status === 401 && session.token) signOut('Your sign-in is no longer valid; sign in again.');
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
const when = (t) => (t ? new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');
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
    fields.name.set(err.problem.detail);
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
      h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'),
    ]);
    d.addEventListener('close', () => resolve(ok));
  });
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
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
  const page = h('div', { class: 'page' }, h('p', { class: 'loading' }, 'Loading…'));
  $main.replaceChildren(page);
  try {
    const content = await view(...args);
    if (seq !== renderSeq) return;
    page.replaceChildren(...[content].flat());
    // The first screen drawn from the API's data, its controls live: time to interactive.
    if (!performance.getEntriesByName('console-ready').length) performance.mark('console-ready');
    const heading = page.querySelector('h1');
    document.title = heading ? `${heading.textContent} · keygate` : 'keygate console';
  } catch (err) {
    if (seq !== renderSeq) return;
    const box = messageBox();
    box.show(err);
    page.replaceChildren(h('h1', {}, err.status === 404 ? 'Not found' : 'Something went wrong'), box);
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
    ? [h('a', { href: '/console' }, 'Projects'), h('a', { href: '/console/keys' }, 'Keys')]
    : [];
  for (const a of links) if (location.pathname === a.getAttribute('href')) a.setAttribute('aria-current', 'page');
  $nav.replaceChildren(...links);
  $who.replaceChildren(
    ...(session.user
      ? [h('span', { class: 'user', title: session.user.sub }, session.user.email || session.user.sub),
        h('a', { href: '/console/signin', class: 'button' }, 'Switch user')]
      : []),
  );
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
  go(next && next.startsWith('/console') && next !== '/console/signin' ? next : '/console');
}

function notFound() {
  throw new ApiError(404, { detail: `There is no console page at ${location.pathname}.` });
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
  const out = [h('h1', {}, 'Sign in')];
  if (session.notice) {
    const n = messageBox('notice');
    n.show(session.notice);
    session.notice = null;
    out.push(n);
  }
  if (await devAvailable()) {
    const box = messageBox();
    const user = field('User id', h('input', { name: 'user', autocomplete: 'off', required: true, list: 'dev-users' }));
    const email = field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'off' }), 'Defaults to <user id>@example.com');
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
        h('h2', { id: 'dev-h' }, 'Local stack: sign in as a dev user'),
        h('p', { class: 'hint' }, 'Dev tokens come from a route that exists only on the local stack.'),
        h('div', { class: 'row' },
          ['alice', 'bob'].map((u) => h('button', { type: 'button', onclick: () => as(u) }, `Sign in as ${u}`))),
        h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); as(user.input.value.trim(), email.input.value.trim()); } },
          user.wrap, email.wrap,
          h('datalist', { id: 'dev-users' }, h('option', { value: 'alice' }), h('option', { value: 'bob' })),
          box, h('button', { type: 'submit' }, 'Sign in as this user'))));
  }
  const box = messageBox();
  const token = field('Platform user token', h('textarea', { name: 'token', rows: 3, spellcheck: 'false', required: true }),
    'The bearer token the platform\'s identity provider gave you.');
  out.push(
    h('form', {
      class: 'card stack',
      onsubmit: async (e) => {
        e.preventDefault();
        const t = token.input.value.trim();
        if (!claims(t)) return token.set('This is not a JWT (three dot-separated parts).');
        // Asked directly (not through api()): a refused token must not end the current session.
        try {
          const res = await fetch('/v1/me/projects?page_size=1', { headers: { authorization: `Bearer ${t}` } });
          if (res.ok) return signIn(t);
          const problem = await res.json().catch(() => ({}));
          const err = new ApiError(res.status, problem);
          if (res.status === 401) token.set(err.message);
          else showProblem(err, { token }, box);
        } catch (err) {
          box.show(err);
        }
      },
    }, h('h2', {}, 'Sign in with a token'), token.wrap, box, h('button', { type: 'submit' }, 'Sign in')));
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
        h('p', {}, owner ? 'You own this project.' : 'You are a member of this project.'),
        h('div', { class: 'row' },
          owner && h('a', { class: 'button', href: `/console/projects/${p}/keys` }, 'API keys'),
          h('a', { class: 'button', href: `/console/projects/${p}/about` }, 'About'),
          h('a', { class: 'button', href: `/console/projects/${p}/secrets` }, 'Secrets')));
    }))
    : h('p', {}, 'You are not in any project yet.');
  return [h('h1', {}, 'Your projects'), list];
}

async function loadProject(p) {
  const project = await api('GET', `/v1/projects/${enc(p)}`);
  project.mine = session.user && project.owner.id === session.user.sub;
  return project;
}

function projectTabs(project, current, pending) {
  const p = enc(project.id);
  const tabs = [
    project.mine && ['keys', 'API keys', pending],
    ['about', 'About'],
    ['secrets', 'Secrets'],
  ].filter(Boolean);
  return [
    h('h1', {}, project.name),
    h('p', { class: 'muted' }, `Project ${project.id} · owner ${project.owner.email}`),
    h('nav', { class: 'tabs', 'aria-label': 'Project' }, tabs.map(([slug, label, count]) =>
      h('a', { href: `/console/projects/${p}/${slug}`, 'aria-current': slug === current ? 'page' : null },
        label, count ? h('span', { class: 'badge count', 'aria-label': `${count} pending` }, count) : null))),
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
  const tiles = h('div', { class: 'tiles' }, templates.map((t) => templateTile(ctx, t)));
  const section = h('section', { 'aria-labelledby': 'tpl-h' },
    h('div', { class: 'toolbar' },
      h('h2', { id: 'tpl-h' }, 'API key templates'),
      h('button', { type: 'button', class: 'primary', 'aria-label': 'New template', onclick: () => newTemplate(ctx) }, '+ New template')),
    templates.length ? tiles : h('p', { class: 'muted' }, 'No templates yet: add one with + to let members request keys.'));
  return [...projectTabs(project, 'keys', pending.length), section, requestsSection(ctx, pending, highlight)];
}

function newTemplate(ctx) {
  const box = messageBox();
  const name = field('Name', h('input', { name: 'name', required: true, maxlength: 100, autocomplete: 'off' }));
  const role = field('Role', h('select', { name: 'role', required: true },
    ctx.roles.map((r) => h('option', { value: r.name }, r.name))));
  const description = field('Description', h('textarea', { name: 'description', rows: 2 }));
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
  const d = dialog('New API key template', form, [
    h('button', { type: 'submit', form: form.id, class: 'primary' }, 'Create'),
    h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'),
  ]);
  if (!ctx.roles.length) box.show('This project has no roles yet; a template needs one.');
  name.input.focus();
}

/** Saves one property of a template or field when its control changes; errors stay beside it. */
function autosave(f, save, status) {
  f.input.addEventListener('change', async () => {
    f.set('');
    status.clear();
    try {
      await save(f.input.value);
      status.show('Saved');
    } catch (err) {
      showProblem(err, { name: f, [f.input.name]: f }, null);
      if (!f.error.textContent) f.set(err.message);
    }
  });
  f.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && f.input.tagName === 'INPUT') f.input.dispatchEvent(new Event('change'));
  });
}

function templateTile(ctx, t) {
  const base = templateUrl(ctx, t);
  const status = messageBox('notice');
  const patch = async (body) => {
    const updated = await api('PATCH', base, { ...body, version: t.version });
    Object.assign(t, updated);
  };
  const name = field('Name', h('input', { name: 'name', value: t.name, maxlength: 100 }));
  const description = field('Description', h('textarea', { name: 'description', rows: 2, value: t.description || '' }));
  const role = field('Role', h('select', { name: 'role', value: t.role },
    ctx.roles.map((r) => h('option', { value: r.name }, r.name))));
  autosave(name, (v) => patch({ name: v }), status);
  autosave(description, (v) => patch({ description: v }), status);
  autosave(role, (v) => patch({ role: v }), status);

  const fields = h('ul', { class: 'fields' }, t.fields.map((f) => fieldRow(ctx, t, f, status)));
  const remove = async () => {
    if (!(await confirmStep('Delete template', `Delete the template “${t.name}”? Members can no longer request keys from it.`, 'Delete template'))) return;
    try {
      await api('DELETE', base);
      ctx.rerender();
    } catch (err) {
      status.show(err);
    }
  };
  return h('article', { class: 'tile template', 'aria-label': `Template ${t.name}` },
    h('div', { class: 'grid' }, name.wrap, role.wrap, description.wrap),
    h('p', { class: 'muted' }, t.ttl_days ? `Keys expire ${t.ttl_days} days after approval.` : 'Keys do not expire.'),
    h('h3', {}, 'Info fields'),
    fields,
    addFieldForm(ctx, t, fields, status),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete template')),
    status);
}

/** "Insert project id" and "Insert node id" (a node picker) for a value input. */
function insertButtons(ctx, value) {
  const set = (v) => {
    value.input.value = v;
    value.input.dispatchEvent(new Event('change'));
    value.input.focus();
  };
  const pickNode = () => {
    const search = field('Search nodes', h('input', { type: 'search', autocomplete: 'off' }));
    const list = h('ul', { class: 'picker', role: 'list' });
    const show = () => {
      const q = search.input.value.trim().toLowerCase();
      const hits = ctx.nodes.filter((n) => !q || n.id.toLowerCase().includes(q) || n.name.toLowerCase().includes(q));
      list.replaceChildren(...(hits.length
        ? hits.map((n) => h('li', {}, h('button', { type: 'button', onclick: () => { d.close(); set(n.id); } },
          `${n.name} (${n.id})`)))
        : [h('li', { class: 'muted' }, ctx.nodes.length ? 'No node matches.' : 'This project has no nodes.')]));
    };
    search.input.addEventListener('input', show);
    show();
    const d = dialog('Insert a node id', h('div', { class: 'stack' }, search.wrap, list),
      [h('button', { type: 'button', onclick: () => d.close() }, 'Cancel')]);
    search.input.focus();
  };
  return h('div', { class: 'row tight' },
    h('button', { type: 'button', onclick: () => set(ctx.project.id) }, 'Insert project id'),
    h('button', { type: 'button', onclick: pickNode }, 'Insert node id'));
}

/** The template's URL; every field change bumps its version (kept in step for the next PATCH). */
const templateUrl = (ctx, t) => `/v1/projects/${enc(ctx.project.id)}/templates/${enc(t.id)}`;

function fieldRow(ctx, t, f, status) {
  const url = `${templateUrl(ctx, t)}/fields/${enc(f.id)}`;
  const save = (prop) => async (v) => {
    Object.assign(f, await api('PATCH', url, { [prop]: v }));
    t.version += 1;
  };
  const name = field('Field name', h('input', { name: 'name', value: f.name, maxlength: 64 }));
  const description = field('Field description', h('input', { name: 'description', value: f.description || '' }));
  const value = field('Value', h('input', { name: 'value', value: f.value, spellcheck: 'false' }));
  autosave(name, save('name'), status);
  autosave(description, save('description'), status);
  autosave(value, save('value'), status);
  const row = h('li', { class: 'field-row', 'aria-label': `Info field ${f.name}` },
    h('div', { class: 'grid' }, name.wrap, description.wrap, value.wrap),
    h('div', { class: 'row' }, insertButtons(ctx, value),
      h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': `Delete field ${f.name}`,
        onclick: async () => {
          if (!(await confirmStep('Delete info field', `Delete the info field “${f.name}”?`, 'Delete field'))) return;
          try {
            await api('DELETE', url);
            t.version += 1;
            row.remove();
          } catch (err) {
            status.show(err);
          }
        },
      }, 'Delete field')));
  return row;
}

function addFieldForm(ctx, t, list, status) {
  const box = messageBox();
  const name = field('New field name', h('input', { name: 'name', maxlength: 64, autocomplete: 'off' }));
  const description = field('New field description', h('input', { name: 'description', autocomplete: 'off' }));
  const value = field('New field value', h('input', { name: 'value', spellcheck: 'false', autocomplete: 'off' }));
  const form = h('form', {
    class: 'add-field',
    'aria-label': 'Add an info field',
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const created = await api('POST', `${templateUrl(ctx, t)}/fields`, {
          name: name.input.value, description: description.input.value || undefined, value: value.input.value,
        });
        t.version += 1;
        list.append(fieldRow(ctx, t, created, status));
        form.reset();
        for (const f of [name, description, value]) f.set('');
        box.clear();
        name.input.focus();
      } catch (err) {
        showProblem(err, { name, description, value }, box);
      }
    },
  }, h('div', { class: 'grid' }, name.wrap, description.wrap, value.wrap),
  h('div', { class: 'row' }, insertButtons(ctx, value), h('button', { type: 'submit', class: 'primary' }, 'Add field')), box);
  return form;
}

function requestsSection(ctx, pending, highlight) {
  const p = enc(ctx.project.id);
  const notice = messageBox('notice');
  const count = h('span', { class: 'badge count', 'aria-label': `${pending.length} pending` }, pending.length);
  const list = h('ul', { class: 'requests' });
  const left = () => {
    const n = list.children.length;
    count.textContent = n;
    count.setAttribute('aria-label', `${n} pending`);
    for (const b of document.querySelectorAll('.tabs .badge.count')) {
      b.textContent = n;
      b.setAttribute('aria-label', `${n} pending`);
      b.hidden = n === 0;
    }
    if (!n) list.replaceWith(empty);
  };
  const empty = h('p', { class: 'muted' }, 'No requests are waiting.');
  for (const r of pending) {
    const box = messageBox();
    const who = r.requester.email;
    const item = h('li', { class: `request${r.id === highlight ? ' highlight' : ''}`, id: `request-${r.id}`, 'aria-label': `Request from ${who}` },
      h('div', {},
        h('strong', {}, who), ' requests ', h('strong', {}, r.template_name),
        h('div', { class: 'muted' }, when(r.created_at)),
        r.comment ? h('blockquote', {}, r.comment) : null),
      h('div', { class: 'row' },
        h('button', {
          type: 'button',
          class: 'approve',
          'aria-label': `Approve request from ${who}`,
          onclick: async () => {
            try {
              const { key } = await api('POST', `/v1/projects/${p}/requests/${enc(r.id)}/approve`);
              item.remove();
              left();
              notice.replaceChildren(`Approved: ${who} now holds key ${key.id}. `,
                h('a', { href: `/console/keys/${enc(key.id)}` }, 'Usage of this key'));
              notice.hidden = false;
            } catch (err) {
              box.show(err);
            }
          },
        }, '✓ Approve'),
        h('button', {
          type: 'button',
          class: 'danger',
          'aria-label': `Reject request from ${who}`,
          onclick: () => rejectDialog(p, r, () => { item.remove(); left(); notice.show(`Rejected the request from ${who}.`); }),
        }, '✕ Reject')),
      box);
    list.append(item);
  }
  if (highlight) queueMicrotask(() => document.getElementById(`request-${highlight}`)?.scrollIntoView({ block: 'center' }));
  return h('section', { 'aria-labelledby': 'req-h' },
    h('h2', { id: 'req-h' }, 'Requests ', count),
    notice,
    pending.length ? list : empty);
}

function rejectDialog(p, r, done) {
  const box = messageBox();
  const reason = field('Reason (sent to the requester)', h('textarea', { name: 'reason', rows: 3, maxlength: 1000 }));
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
  }, h('p', {}, `${r.requester.email} asked for “${r.template_name}”.`), reason.wrap, box);
  form.id = nextId('form');
  const d = dialog('Reject request', form, [
    h('button', { type: 'submit', form: form.id, class: 'danger' }, 'Reject request'),
    h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'),
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
  const tiles = templates.map((t) => requestTile(p, t, requests, keysById));
  return [...projectTabs(project, 'about'),
    h('section', { 'aria-labelledby': 'ak-h' },
      h('h2', { id: 'ak-h' }, 'API keys'),
      h('p', { class: 'muted' }, 'Request a key to call this project\'s API from your own project\'s scripts.'),
      tiles.length ? h('div', { class: 'tiles' }, tiles) : h('p', { class: 'muted' }, 'This project offers no API keys yet.'))];
}

function requestTile(p, t, requests, keysById) {
  const state = h('div', { class: 'request-state' });
  const box = messageBox();
  const tile = h('article', { class: 'tile', 'aria-label': `API key ${t.name}` },
    h('h3', {}, t.name),
    t.description ? h('p', {}, t.description) : null,
    h('p', { class: 'muted' }, `Role ${t.role}`, t.ttl_days ? ` · valid ${t.ttl_days} days` : ''),
    t.fields.length ? h('dl', { class: 'info' }, t.fields.flatMap((f) => [h('dt', {}, f.name), h('dd', {}, f.description || '')])) : null,
    state, box);

  const show = (req) => {
    box.clear();
    const full = req && requests.get(req.id);
    if (req && req.status === 'pending') {
      state.replaceChildren(
        h('p', { class: 'status waiting' }, h('span', { class: 'badge status-pending' }, 'pending'), ' Waiting for the owner'),
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
        }, 'Cancel request'));
    } else if (req && req.status === 'approved') {
      const key = keysById.get(req.key_id);
      state.replaceChildren(h('p', { class: 'status approved' },
        h('span', { class: 'badge status-approved' }, 'approved'), h('span', {}, 'Approved'),
        key ? [' · key ', statusBadge(key.status)] : null, ' ',
        req.key_id ? h('a', { href: `/console/keys/${enc(req.key_id)}` }, 'Usage of this key') : null));
    } else {
      const rejected = req && req.status === 'rejected';
      const comment = field('Comment for the owner (optional)', h('textarea', { name: 'comment', rows: 2, maxlength: 1000 }));
      state.replaceChildren(
        rejected ? h('p', { class: 'status rejected' }, h('span', { class: 'badge status-rejected' }, 'rejected'),
          ` Rejected${full && full.reason ? `: ${full.reason}` : ''}`) : null,
        h('form', {
          class: 'stack',
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const created = await api('POST', `/v1/projects/${enc(p)}/templates/${enc(t.id)}/requests`,
                { comment: comment.input.value || undefined });
              requests.set(created.id, created);
              show(created);
            } catch (err) {
              showProblem(err, { comment }, box);
            }
          },
        }, comment.wrap, h('button', { type: 'submit', class: 'primary' }, rejected ? 'Request again' : 'Request')));
    }
  };
  show(t.my_request);
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
      : h('li', { class: 'muted' }, 'You hold no active keys. Request one from a project\'s About page.'));
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
  }, 'Add API key');
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
      h('div', { class: 'toolbar' }, h('h2', { id: 'sec-h' }, 'Secrets'), h('div', { class: 'menu-wrap' }, toggle, menu)),
      flash,
      groups.length ? groups : h('p', { class: 'muted' }, 'No secrets yet: add an API key you hold to give this project\'s nodes its token and info.'))];
}

function importDialog(ctx, key) {
  const box = messageBox();
  const prefix = field('Prefix', h('input', { name: 'prefix', autocomplete: 'off', spellcheck: 'false', maxlength: 48, required: true }),
    'Lower case letters, digits and _, starting with a letter.');
  const preview = h('p', { class: 'hint', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Import');
  const names = (x) => [`${x}_token`, ...key.fields.map((f) => `${x}_${f.name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')}`)];
  let rule = null;
  const check = () => {
    const v = prefix.input.value;
    const ok = rule ? rule.test(v) : v.length > 0;
    submit.disabled = !ok;
    if (!v) { prefix.set(''); preview.textContent = ''; return; }
    prefix.set(ok ? '' : 'Must start with a lower-case letter and use only a–z, 0–9 and _ (at most 48).');
    preview.textContent = ok ? `Creates ${names(v).join(', ')}` : '';
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
        ctx.rerender(`Imported ${key.name} as ${res.secrets.map((s) => s.name).join(', ')}.`);
      } catch (err) {
        showProblem(err, { prefix, key_id: prefix }, box);
        submit.disabled = false;
      }
    },
  }, h('p', {}, `Key “${key.name}” of project ${key.project_id} (role ${key.role}).`), prefix.wrap, preview, box);
  form.id = nextId('form');
  submit.setAttribute('form', form.id);
  const d = dialog('Import an API key', form, [submit, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel')]);
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
        'aria-label': `Choose nodes for ${s.name}`,
        onclick: () => nodePicker(ctx, s, (nodes) => { s.nodes = nodes; cell.replaceChildren(nodeChips(nodes)); }),
      }, 'Nodes…')));
  });
  return h('section', { class: 'tile', 'aria-label': `Import ${prefix}` },
    h('div', { class: 'toolbar' },
      h('h3', {}, 'Prefix ', h('code', {}, prefix), ' ', h('span', { class: 'muted' }, '· key '),
        h('a', { href: `/console/keys/${enc(g.key_id)}` }, g.key_id)),
      h('button', {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!(await confirmStep('Remove import', `Delete the secrets of prefix ${prefix} from this project? Scripts reading them stop working.`, 'Remove'))) return;
          try {
            await api('DELETE', `/v1/projects/${enc(ctx.c)}/imports/${enc(prefix)}`);
            ctx.rerender(`Removed the secrets of prefix ${prefix}.`);
          } catch (err) {
            box.show(err);
          }
        },
      }, 'Remove import')),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Secret'), h('th', { scope: 'col' }, 'Nodes with access'),
        h('th', { scope: 'col' }, 'Updated'), h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'Actions')))),
      h('tbody', {}, rows))),
    box);
}

function nodeChips(nodes) {
  return nodes.length ? h('ul', { class: 'chips' }, nodes.map((n) => h('li', {}, n))) : h('span', { class: 'muted' }, 'none');
}

function nodePicker(ctx, secret, saved) {
  const box = messageBox();
  const chosen = new Set(secret.nodes);
  const search = field('Search nodes', h('input', { type: 'search', autocomplete: 'off' }));
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
    }) : [h('li', { class: 'muted' }, ctx.nodes.length ? 'No node matches.' : 'This project has no nodes.')]));
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
  const d = dialog(`Nodes with access to ${secret.name}`, h('div', { class: 'stack' }, search.wrap, list, box), [
    h('button', { type: 'button', class: 'primary', onclick: save }, 'Save'),
    h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'),
  ]);
  search.input.focus();
}

// ---------------------------------------------------------------------------------------------
// Keys and usage

async function keys() {
  const [mine, projects] = await Promise.all([all('/v1/me/keys'), all('/v1/me/projects')]);
  const owned = projects.filter((m) => m.membership === 'owner');
  const projectKeys = await Promise.all(owned.map((m) => all(`/v1/projects/${enc(m.project_id)}/keys`)));
  const out = [h('h1', {}, 'Keys'),
    h('section', { 'aria-labelledby': 'mine-h' }, h('h2', { id: 'mine-h' }, 'Keys you hold'),
      mine.length ? keyTable(mine, { holder: false }) : h('p', { class: 'muted' }, 'You hold no keys. Request one from a project\'s About page.'))];
  owned.forEach((m, i) => {
    const id = nextId('pk');
    out.push(h('section', { 'aria-labelledby': id },
      h('h2', { id }, `Keys of ${m.project_name} (${m.project_id})`),
      projectKeys[i].length ? keyTable(projectKeys[i], { holder: true }) : h('p', { class: 'muted' }, 'No keys issued yet.')));
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
      h('a', { class: 'button', href: `/console/keys/${enc(k.id)}`, 'aria-label': `Usage of ${k.name} (${k.id})` }, 'Usage'),
      k.status === 'active' && mineKey ? h('button', { type: 'button', onclick: () => roll(k) }, 'Roll') : null,
      k.status === 'active' ? h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': `Revoke ${k.name} held by ${k.holder.email}`,
        onclick: async () => {
          if (!(await confirmStep('Revoke key', `Revoke key ${k.id} (${k.name}, held by ${k.holder.email})? Calls with it are refused from now on and its imported token is deleted.`, 'Revoke'))) return;
          try {
            Object.assign(k, await api('POST', `/v1/keys/${enc(k.id)}/revoke`));
            status.replaceChildren(statusBadge(k.status));
            fill();
          } catch (err) {
            box.show(err);
          }
        },
      }, 'Revoke') : null);
    fill();
    return h('tr', { 'aria-label': `Key ${k.id}` },
      h('th', { scope: 'row' }, k.name, h('div', { class: 'muted' }, h('code', {}, k.id))),
      h('td', {}, k.project_id),
      holder ? h('td', {}, k.holder.email) : null,
      h('td', {}, k.role),
      status,
      h('td', {}, when(k.issued_at)),
      h('td', {}, k.expires_at ? when(k.expires_at) : 'never'),
      h('td', {}, when(k.last_used_at)),
      actions);
  });
  const head = ['Key', 'Project', holder && 'Holder', 'Role', 'Status', 'Issued', 'Expires', 'Last used', 'Actions'].filter(Boolean);
  return h('div', {}, box, h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows))));
}

function roll(k) {
  const box = messageBox();
  const grace = field('Grace period (seconds the old key keeps working)', h('input', { name: 'grace_seconds', type: 'number', min: 0, value: '3600' }));
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
  }, h('p', {}, `A new key replaces ${k.id}; imported secrets are rewritten with the new token.`), grace.wrap, box);
  form.id = nextId('form');
  const d = dialog('Roll key', form, [
    h('button', { type: 'submit', form: form.id, class: 'primary' }, 'Roll key'),
    h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'),
  ]);
}

async function usage(k) {
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86400000);
  const range = { from: params.get('from') || day(monthAgo), to: params.get('to') || day(today), granularity: params.get('granularity') || 'day' };
  const key = await api('GET', `/v1/keys/${enc(k)}`);
  const box = messageBox();
  const from = field('From', h('input', { type: 'date', name: 'from', value: range.from }));
  const to = field('To', h('input', { type: 'date', name: 'to', value: range.to }));
  const gran = field('By', h('select', { name: 'granularity', value: range.granularity },
    h('option', { value: 'day' }, 'day'), h('option', { value: 'hour' }, 'hour')));
  const body = h('div', { class: 'usage' });
  const picker = h('form', {
    class: 'row range',
    'aria-label': 'Date range',
    onsubmit: (e) => {
      e.preventDefault();
      const q = new URLSearchParams({ from: from.input.value, to: to.input.value, granularity: gran.input.value });
      go(`/console/keys/${enc(k)}?${q}`);
    },
  }, from.wrap, to.wrap, gran.wrap, h('button', { type: 'submit' }, 'Show'));
  try {
    const u = await api('GET', `/v1/keys/${enc(k)}/usage?${new URLSearchParams(range)}`);
    body.append(
      h('p', { class: 'totals', 'aria-label': 'Totals' },
        h('span', {}, h('strong', {}, u.total), ' calls'),
        h('span', { class: 'allowed' }, h('strong', {}, u.allowed), ' allowed'),
        h('span', { class: 'denied' }, h('strong', {}, u.denied), ' denied'),
        h('span', { class: 'muted' }, `last used ${when(u.last_used_at)}`)),
      chart(u),
      h('div', { class: 'grid two' },
        h('section', { 'aria-labelledby': 'routes-h' }, h('h2', { id: 'routes-h' }, 'Calls by route'),
          u.routes.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Route'), h('th', { scope: 'col', class: 'num' }, 'Calls'))),
            h('tbody', {}, u.routes.map((r) => h('tr', {}, h('td', {}, h('code', {}, r.route)), h('td', { class: 'num' }, r.total)))))
            : h('p', { class: 'muted' }, 'No calls in this range.')),
        h('section', { 'aria-labelledby': 'reasons-h' }, h('h2', { id: 'reasons-h' }, 'Denied by reason'),
          (u.denied_by_reason || []).length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col', class: 'num' }, 'Calls'))),
            h('tbody', {}, u.denied_by_reason.map((r) => h('tr', {}, h('td', {}, r.reason), h('td', { class: 'num' }, r.total)))))
            : h('p', { class: 'muted' }, 'Nothing denied in this range.'))));
  } catch (err) {
    showProblem(err, { from, to, granularity: gran }, box);
  }
  return [h('h1', {}, `Usage of ${key.name}`),
    h('p', { class: 'muted' }, h('code', {}, key.id), ` · project ${key.project_id} · role ${key.role} · held by ${key.holder.email} · `, statusBadge(key.status)),
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
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', 'aria-label': `Calls per ${u.granularity}: ${u.allowed} allowed, ${u.denied} denied` });
  svg.append(s('line', { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, class: 'axis' }));
  svg.append(s('text', { x: 0, y: 12, class: 'tick' }, String(max)));
  svg.append(s('text', { x: 0, y: H - PAD, class: 'tick' }, '0'));
  u.series.forEach((p, i) => {
    const x = PAD + i * bw + bw * 0.1;
    const w = Math.max(bw * 0.8, 1);
    const g = s('g', { class: 'bar' }, s('title', {}, `${p.t}: ${p.allowed} allowed, ${p.denied} denied`));
    const ha = y(p.allowed), hd = y(p.denied);
    if (p.allowed) g.append(s('rect', { x, y: H - PAD - ha, width: w, height: ha, class: 'allowed' }));
    if (p.denied) g.append(s('rect', { x, y: H - PAD - ha - hd, width: w, height: hd, class: 'denied' }));
    svg.append(g);
    const every = Math.ceil(n / 6);
    if (i % every === 0) svg.append(s('text', { x, y: H - 8, class: 'tick' }, p.t.slice(5, 16).replace('T', ' ')));
  });
  const legend = h('p', { class: 'legend' }, h('span', { class: 'allowed' }, 'allowed'), ' ', h('span', { class: 'denied' }, 'denied'));
  const table = h('details', {}, h('summary', {}, 'Data as a table'),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Period', 'Total', 'Allowed', 'Denied'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, u.series.filter((p) => p.total).map((p) => h('tr', {}, h('td', {}, p.t), h('td', { class: 'num' }, p.total),
        h('td', { class: 'num' }, p.allowed), h('td', { class: 'num' }, p.denied)))))));
  return h('figure', { class: 'chart-wrap' }, svg, h('figcaption', {}, legend), table);
}

render();
