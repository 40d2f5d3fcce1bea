// The web console end to end, in headless Chromium against the local stack (KEYGATE_URL): the key
// flow through the UI as its two users live it, in English (a browser that prefers en-US), with a
// screenshot of each step in tests/e2e/output/; then every screen again in Russian (a browser that
// prefers ru-RU), and the RU | EN switch. Projects and their roles and nodes are set up through the
// API (the console has no screens for them); everything the flow names is done by clicking.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = process.env.KEYGATE_URL;
if (!BASE) throw new Error('KEYGATE_URL is required (make test sets it)');
const OUT = join(dirname(fileURLToPath(import.meta.url)), 'output');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 30_000;

const run = Date.now().toString(36);
const SERVER = `weather-${run}`;
const CLIENT = `bob-client-${run}`;
const TEMPLATE = 'Weather reader';

// ------------------------------------------------------------------------------------------
// API helpers (fixtures and checks; the flow itself goes through the UI)

async function call(method, path, token, body) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return data;
}

// A platform call with an API key, through the local platform gateway (PLATFORM_API_URL), which
// asks the authorizer as API Gateway does and forwards allowed calls to the demo platform: the
// gateway's status.
const PLATFORM = process.env.PLATFORM_API_URL;
if (!PLATFORM) throw new Error('PLATFORM_API_URL is required (make test sets it)');
async function platform(method, path, token) {
  const res = await fetch(PLATFORM + path, { method, headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

// Key k's usage as `token` reads it, once its total is `total`: the decisions' counts reach the
// table in batches (USAGE_FLUSH_SECONDS).
async function usageOnce(k, token, total) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const usage = await call('GET', `/v1/keys/${k}/usage`, token);
    if (usage.total === total) return usage;
    if (Date.now() > deadline) throw new Error(`usage of ${k} stayed at ${usage.total}, not ${total}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

async function devToken(user) {
  return (await call('POST', '/dev/token', null, { user })).token;
}

async function fixtures(alice, bob) {
  await call('POST', '/v1/projects', alice, { id: SERVER, name: 'Weather server' });
  await call('PUT', `/v1/projects/${SERVER}/members/bob`, alice, { email: 'bob@example.com' });
  await call('PUT', `/v1/projects/${SERVER}/members/carol`, alice, { email: 'carol@example.com' });
  await call('PUT', `/v1/projects/${SERVER}/roles/reader`, alice,
    { description: 'Reads data layers and packages', permissions: ['data_layers:read', 'packages:read', 'files:read'] });
  await call('PUT', `/v1/projects/${SERVER}/roles/writer`, alice, { permissions: ['packages:write'] });
  await call('PUT', `/v1/projects/${SERVER}/nodes/input`, alice, { name: 'Input' });
  await call('PUT', `/v1/projects/${SERVER}/nodes/output`, alice, { name: 'Output' });
  await call('POST', '/v1/projects', bob, { id: CLIENT, name: "Bob's client" });
  await call('PUT', `/v1/projects/${CLIENT}/nodes/fetcher`, bob, { name: 'Fetcher' });
  await call('PUT', `/v1/projects/${CLIENT}/nodes/plotter`, bob, { name: 'Plotter' });
}

// ------------------------------------------------------------------------------------------
// Browser helpers

let browser;
let page;
let shot = 0;
const metrics = {};

async function snap(name, on = page) {
  shot += 1;
  await on.screenshot({ path: join(OUT, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function signInAs(user) {
  await page.goto(`${BASE}/console/signin`);
  if (user === 'alice' || user === 'bob') {
    await page.getByRole('button', { name: `Sign in as ${user}` }).click();
  } else {
    await page.getByLabel('User id').fill(user);
    await page.getByRole('button', { name: 'Sign in as this user' }).click();
  }
  await page.getByRole('heading', { name: 'Your projects', level: 1 }).waitFor();
}

async function openProjectTab(id, projectName, tab) {
  await page.getByRole('link', { name: 'Projects', exact: true }).click();
  const tile = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: `(${id})` }) });
  await tile.getByRole('link', { name: tab, exact: true }).click();
  await page.getByRole('heading', { name: projectName, level: 1 }).waitFor();
}

/** Fails when the page scrolls sideways at its current width (a layout break). */
async function assertNoSidewaysScroll(what, on = page) {
  const [scroll, width] = await on.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `${what}: the page is ${scroll}px wide in a ${width}px window`);
}

/** The page at 375 px does not scroll sideways (then back to the desktop width). */
async function assertFitsPhone(what, on = page) {
  await on.setViewportSize({ width: 375, height: 800 });
  await assertNoSidewaysScroll(`${what} at 375 px`, on);
  await on.setViewportSize({ width: 1200, height: 900 });
}

/** Every form control on the page has an accessible label. */
async function assertControlsLabelled(what) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, [], `${what}: controls without a label`);
}

/** Polls `check` (an async predicate) for up to 10 s. */
async function until(what, check) {
  for (let i = 0; i < 40; i += 1) {
    if (await check()) return;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  assert.fail(`timed out waiting until ${what}`);
}

/** The console link in the newest mail to `address` that mentions `needle`. */
async function mailLink(address, needle) {
  const endpoint = process.env.AWS_ENDPOINT_URL_SESV2 || process.env.AWS_ENDPOINT_URL;
  let link = null;
  await until(`a mail to ${address} mentions ${needle}`, async () => {
    const data = await (await fetch(`${endpoint}/moto-api/data.json`)).json();
    const mails = (data.ses?.Message || []).filter((m) => m.destinations?.ToAddresses?.includes(address)
      && m.body?.includes(needle));
    const m = mails.at(-1)?.body.match(/https?:\/\/[^\s"<]+\/console\/[^\s"<]+/);
    link = m ? m[0] : null;
    return link !== null;
  });
  return link;
}

// The Russian walk's own browser tab (a context whose browser prefers ru-RU).
const ru = {};

async function ruSignIn(user) {
  const rp = ru.page;
  await rp.goto(`${BASE}/console/signin`);
  if (user === 'alice' || user === 'bob') {
    await rp.getByRole('button', { name: `Войти как ${user}` }).click();
  } else {
    await rp.getByLabel('Идентификатор пользователя').fill(user);
    await rp.getByRole('button', { name: 'Войти под этим пользователем' }).click();
  }
  await rp.getByRole('heading', { name: 'Ваши проекты', level: 1 }).waitFor();
}

async function ruOpenTab(id, projectName, tab) {
  const rp = ru.page;
  await rp.getByRole('link', { name: 'Проекты', exact: true }).click();
  const tile = rp.getByRole('listitem').filter({ has: rp.getByRole('heading', { name: `(${id})` }) });
  await tile.getByRole('link', { name: tab, exact: true }).click();
  await rp.getByRole('heading', { name: projectName, level: 1 }).waitFor();
}

const template = async () => (await call('GET', `/v1/projects/${SERVER}/templates/${ids.template}`, tokens.alice));

const tokens = {};
const pageErrors = [];
const ids = {};

before(async () => {
  tokens.alice = await devToken('alice');
  tokens.bob = await devToken('bob');
  await fixtures(tokens.alice, tokens.bob);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  // The English flow in a browser that prefers English; the Russian walk opens its own.
  page = await browser.newPage({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

// A script error in the page fails the step it happened in.
afterEach(() => assert.deepEqual(pageErrors.splice(0), [], 'errors in the page'));

after(async () => {
  await browser?.close();
  writeFileSync(join(OUT, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  console.log(`console metrics: ${JSON.stringify(metrics)}`);
});

describe('the API key flow through the console', () => {
  it('alice signs in with the dev user switcher; the first load is small and quick', async () => {
    await page.goto(`${BASE}/console/signin`);
    await snap('sign-in');
    await assertControlsLabelled('sign-in');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.getByRole('button', { name: 'EN: English' }).getAttribute('aria-pressed'), 'true');
    await assertFitsPhone('sign-in');
    // A pasted token is checked by the API; what is wrong shows on the token field.
    const pasted = page.getByLabel('Platform user token');
    await pasted.fill('not a token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('This is not a JWT').waitFor();
    await pasted.fill('eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJtYWxsb3J5In0.c2ln');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('.field-error').filter({ hasText: /token/i }).waitFor();
    assert.equal(await pasted.getAttribute('aria-invalid'), 'true');
    await page.getByRole('button', { name: 'Sign in as alice' }).click();
    await page.getByRole('heading', { name: 'Your projects', level: 1 }).waitFor();
    assert.match(await page.locator('#who').innerText(), /alice@example\.com/);
    await assertFitsPhone('projects');

    // First load of a fresh tab (signed in): bytes over the wire and time until the first
    // screen is drawn from the API's data with its controls live.
    const tab = await browser.newContext({ locale: 'en-US' });
    await tab.addInitScript((t) => sessionStorage.setItem('keygate.console.token', t), tokens.alice);
    const fresh = await tab.newPage();
    await fresh.goto(`${BASE}/console`);
    await fresh.getByRole('link', { name: 'API keys' }).first().waitFor();
    const m = await fresh.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource');
      const own = resources.filter((r) => r.name.includes('/console/'));
      return {
        page_weight_bytes: nav.transferSize + own.reduce((s, r) => s + r.transferSize, 0),
        page_weight_body_bytes: nav.encodedBodySize + own.reduce((s, r) => s + r.encodedBodySize, 0),
        files: 1 + own.length,
        api_calls: resources.length - own.length,
        time_to_interactive_ms: Math.round(performance.getEntriesByName('console-ready')[0].startTime),
      };
    });
    await tab.close();
    Object.assign(metrics, m);
    assert.ok(m.page_weight_body_bytes < 150_000, `first load is ${m.page_weight_body_bytes} bytes`);
  });

  it('alice creates a template; a taken name is shown on the name field', async () => {
    await openProjectTab(SERVER, 'Weather server', 'API keys');
    await page.getByRole('button', { name: 'New template' }).click();
    let dlg = page.getByRole('dialog', { name: 'New API key template' });
    await dlg.getByLabel('Name').fill(TEMPLATE);
    await dlg.getByLabel('Role').selectOption('reader');
    await dlg.getByLabel('Description').fill('Latest data layer and packages of the weather server');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const tile = page.getByRole('article', { name: `Template ${TEMPLATE}` });
    await tile.waitFor();

    // The same name again (other case): the API's 409 lands on the Name field.
    await page.getByRole('button', { name: 'New template' }).click();
    dlg = page.getByRole('dialog', { name: 'New API key template' });
    await dlg.getByLabel('Name').fill(TEMPLATE.toUpperCase());
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.locator('.field-error').filter({ hasText: 'already exists' }).waitFor();
    assert.equal(await dlg.getByLabel('Name').getAttribute('aria-invalid'), 'true');
    await snap('template-name-taken');
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
  });

  it('alice adds three info fields with the insert-id buttons', async () => {
    const tile = page.getByRole('article', { name: `Template ${TEMPLATE}` });
    const add = tile.getByRole('form', { name: 'Add an info field' });
    const addField = async (name, description, insert) => {
      await add.getByLabel('New field name').fill(name);
      await add.getByLabel('New field description').fill(description);
      await insert();
      await add.getByRole('button', { name: 'Add field' }).click();
      await tile.getByRole('listitem', { name: `Info field ${name}` }).waitFor();
    };
    const pickNode = async (label) => {
      await add.getByRole('button', { name: 'Insert node id' }).click();
      const dlg = page.getByRole('dialog', { name: 'Insert a node id' });
      await dlg.getByLabel('Search nodes').fill(label.slice(0, 3));
      await dlg.getByRole('button', { name: new RegExp(`^${label} `) }).click();
      await dlg.waitFor({ state: 'detached' });
    };
    await addField('project', 'The server project', () => add.getByRole('button', { name: 'Insert project id' }).click());
    await addField('input node', 'Node that receives packages', () => pickNode('Input'));
    await addField('output node', 'Node that publishes results', () => pickNode('Output'));
    await snap('template-with-fields');

    const templates = await call('GET', `/v1/projects/${SERVER}/templates`, tokens.alice);
    const t = templates.items.find((x) => x.name === TEMPLATE);
    ids.template = t.id;
    assert.deepEqual(t.fields.map((f) => [f.name, f.value]),
      [['project', SERVER], ['input node', 'input'], ['output node', 'output']]);
    assert.equal(t.role, 'reader');

    // Inline edit: the description is saved when it changes.
    const desc = tile.getByLabel('Description', { exact: true });
    await desc.fill('Latest data layer, packages and files of the weather server');
    await desc.blur();
    await tile.getByText('Saved').waitFor();
    const saved = await call('GET', `/v1/projects/${SERVER}/templates/${t.id}`, tokens.alice);
    assert.equal(saved.description, 'Latest data layer, packages and files of the weather server');
    await assertControlsLabelled('owner API keys');
  });

  it('alice edits name, role and fields inline and deletes a field and a template after confirming', async () => {
    const tile = page.getByRole('article', { name: `Template ${TEMPLATE}` });
    const role = tile.getByLabel('Role', { exact: true });
    await role.selectOption('writer');
    await until('the role is writer', async () => (await template()).role === 'writer');
    await role.selectOption('reader');
    await until('the role is reader again', async () => (await template()).role === 'reader');
    const name = tile.getByLabel('Name', { exact: true });
    await name.fill(`${TEMPLATE} v2`);
    await name.press('Enter');
    await until('the name is changed', async () => (await template()).name === `${TEMPLATE} v2`);
    await name.fill(TEMPLATE);
    await name.press('Enter');
    await until('the name is back', async () => (await template()).name === TEMPLATE);

    const add = tile.getByRole('form', { name: 'Add an info field' });
    await add.getByLabel('New field name').fill('scratch');
    await add.getByLabel('New field value').fill('x');
    await add.getByRole('button', { name: 'Add field' }).click();
    const row = tile.getByRole('listitem', { name: 'Info field scratch' });
    await row.getByLabel('Value').fill('y');
    await row.getByLabel('Value').blur();
    const scratch = async () => (await template()).fields.find((f) => f.name === 'scratch');
    await until('the value is y', async () => (await scratch())?.value === 'y');
    await row.getByRole('button', { name: 'Insert project id' }).click();
    await until('the value is the project id', async () => (await scratch())?.value === SERVER);
    await row.getByRole('button', { name: 'Delete field scratch' }).click();
    await page.getByRole('dialog', { name: 'Delete info field' }).getByRole('button', { name: 'Delete field' }).click();
    await row.waitFor({ state: 'detached' });
    assert.deepEqual((await template()).fields.map((f) => f.name), ['project', 'input node', 'output node']);

    await page.getByRole('button', { name: 'New template' }).click();
    const dlg = page.getByRole('dialog', { name: 'New API key template' });
    await dlg.getByLabel('Name').fill('Scratch template');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const doomed = page.getByRole('article', { name: 'Template Scratch template' });
    await doomed.getByRole('button', { name: 'Delete template' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete template' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await doomed.isVisible(), true, 'cancel keeps the template');
    await doomed.getByRole('button', { name: 'Delete template' }).click();
    await confirm.getByRole('button', { name: 'Delete template' }).click();
    await doomed.waitFor({ state: 'detached' });
    const names = (await call('GET', `/v1/projects/${SERVER}/templates`, tokens.alice)).items.map((t) => t.name);
    assert.deepEqual(names, [TEMPLATE]);
  });

  it('the owner screen is usable from the keyboard and at 375 px', async () => {
    await page.getByRole('button', { name: 'New template' }).focus();
    await page.keyboard.press('Enter');
    const dlg = page.getByRole('dialog', { name: 'New API key template' });
    await dlg.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('name')), 'name');
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    await page.setViewportSize({ width: 375, height: 800 });
    await assertNoSidewaysScroll('owner API keys at 375 px');
    await snap('owner-375px');
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it('bob requests a key and sees it waiting for the owner', async () => {
    await signInAs('bob');
    await openProjectTab(SERVER, 'Weather server', 'About');
    const tile = page.getByRole('article', { name: `API key ${TEMPLATE}` });
    await tile.getByLabel('Comment for the owner (optional)').fill('For the fetcher node of my client project');
    await tile.getByRole('button', { name: 'Request', exact: true }).click();
    await tile.getByText('Waiting for the owner').waitFor();
    await snap('bob-request-waiting');
    await assertControlsLabelled('member about');
    await assertFitsPhone('member about');
  });

  it('alice sees the pending badge and approves', async () => {
    await signInAs('alice');
    await openProjectTab(SERVER, 'Weather server', 'API keys');
    const badge = page.getByRole('navigation', { name: 'Project' }).locator('.badge.count');
    assert.equal((await badge.innerText()).trim(), '1');
    const item = page.getByRole('listitem', { name: 'Request from bob@example.com' });
    assert.match(await item.innerText(), /For the fetcher node of my client project/);
    await snap('alice-pending-request');
    await item.getByRole('button', { name: 'Approve request from bob@example.com' }).click();
    await page.getByText(/Approved: bob@example\.com now holds key/).waitFor();
    assert.equal(await badge.isHidden(), true);
    const keys = await call('GET', `/v1/projects/${SERVER}/keys`, tokens.alice);
    assert.equal(keys.items.length, 1);
    ids.key = keys.items[0].id;
    assert.equal(keys.items[0].holder.id, 'bob');
    await snap('alice-approved');
  });

  it('bob sees "approved" with the key status and a usage link', async () => {
    await signInAs('bob');
    await openProjectTab(SERVER, 'Weather server', 'About');
    const tile = page.getByRole('article', { name: `API key ${TEMPLATE}` });
    await tile.getByText('Approved', { exact: true }).waitFor();
    assert.match(await tile.innerText(), /active/);
    assert.equal(await tile.getByRole('link', { name: 'Usage of this key' }).getAttribute('href'), `/console/keys/${ids.key}`);
    await snap('bob-approved');
  });

  it('carol cancels and requests again; alice opens the mail link and rejects with a reason', async () => {
    await signInAs('carol');
    await openProjectTab(SERVER, 'Weather server', 'About');
    const tile = page.getByRole('article', { name: `API key ${TEMPLATE}` });
    await tile.getByRole('button', { name: 'Request', exact: true }).click();
    await tile.getByRole('button', { name: 'Cancel request' }).click();
    await tile.getByRole('button', { name: 'Request', exact: true }).waitFor();
    await tile.getByLabel('Comment for the owner (optional)').fill('For a dashboard');
    await tile.getByRole('button', { name: 'Request', exact: true }).click();
    await tile.getByText('Waiting for the owner').waitFor();
    const carol = await devToken('carol');
    const mine = (await call('GET', '/v1/me/requests', carol)).items;
    assert.deepEqual(mine.map((r) => r.status).sort(), ['cancelled', 'pending']);
    const pending = mine.find((r) => r.status === 'pending');

    await signInAs('alice');
    const link = await mailLink('alice@example.com', pending.id);
    assert.equal(new URL(link).pathname, `/console/projects/${SERVER}/requests/${pending.id}`);
    await page.goto(link);
    const item = page.getByRole('listitem', { name: 'Request from carol@example.com' });
    await item.waitFor();
    assert.match(await item.getAttribute('class'), /highlight/);
    await item.getByRole('button', { name: 'Reject request from carol@example.com' }).click();
    const dlg = page.getByRole('dialog', { name: 'Reject request' });
    await dlg.getByLabel('Reason (sent to the requester)').fill('Please use the public feed');
    await dlg.getByRole('button', { name: 'Reject request' }).click();
    await page.getByText('Rejected the request from carol@example.com.').waitFor();
    await item.waitFor({ state: 'detached' });

    await signInAs('carol');
    await openProjectTab(SERVER, 'Weather server', 'About');
    await tile.getByText('Rejected: Please use the public feed').waitFor();
    await tile.getByRole('button', { name: 'Request again' }).waitFor();
    await snap('carol-rejected');
    await signInAs('bob');
  });

  it('bob imports the key into his client project under a prefix checked as he types', async () => {
    await openProjectTab(CLIENT, "Bob's client", 'Secrets');
    await page.getByRole('button', { name: 'Add API key' }).click();
    await page.getByRole('button', { name: `${TEMPLATE} (${SERVER})` }).click();
    const dlg = page.getByRole('dialog', { name: 'Import an API key' });
    const prefix = dlg.getByLabel('Prefix');
    await prefix.fill('9x');
    await dlg.locator('.field-error').filter({ hasText: 'lower-case letter' }).waitFor();
    assert.equal(await dlg.getByRole('button', { name: 'Import' }).isDisabled(), true);
    await prefix.fill('wx');
    await dlg.getByText('Creates wx_token, wx_project, wx_input_node, wx_output_node').waitFor();
    await snap('bob-import-prefix');
    await dlg.getByRole('button', { name: 'Import' }).click();
    await page.getByText(/^Imported Weather reader as wx_token/).waitFor();
    const group = page.getByRole('region', { name: 'Import wx' });
    for (const name of ['wx_token', 'wx_project', 'wx_input_node', 'wx_output_node']) {
      await group.getByRole('rowheader', { name }).waitFor();
    }
  });

  it('bob grants a node access to the token secret with the node picker', async () => {
    await page.getByRole('button', { name: 'Choose nodes for wx_token' }).click();
    const dlg = page.getByRole('dialog', { name: 'Nodes with access to wx_token' });
    await dlg.getByLabel('Search nodes').fill('fetch');
    assert.equal(await dlg.getByRole('checkbox').count(), 1);
    await dlg.getByLabel('Fetcher (fetcher)').check();
    await snap('bob-node-picker');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'wx_token' }) });
    await row.getByText('fetcher', { exact: true }).waitFor();
    const secrets = await call('GET', `/v1/projects/${CLIENT}/secrets`, tokens.bob);
    const token = secrets.items.find((s) => s.name === 'wx_token');
    assert.deepEqual(token.nodes, ['fetcher']);
    assert.equal(token.source.key_id, ids.key);
    assert.equal(token.source.prefix, 'wx');
    await snap('bob-secrets');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertNoSidewaysScroll('secrets at 375 px');
    await page.setViewportSize({ width: 1200, height: 900 });
    await assertControlsLabelled('secrets');
  });

  it('calls made with the token show in bob\'s and alice\'s usage charts', async () => {
    const { token } = await call('GET', `/v1/keys/${ids.key}/token`, tokens.bob);
    ids.token = token;
    for (let i = 0; i < 3; i += 1) {
      assert.equal(await platform('GET', `/projects/${SERVER}/data_layers/last`, token), 200);
    }
    // The reader role lacks packages:write: the gateway answers 403.
    assert.equal(await platform('POST', `/projects/${SERVER}/nodes/input/packages`, token), 403);
    await usageOnce(ids.key, tokens.bob, 4);

    const expectUsage = async () => {
      await page.getByRole('heading', { name: `Usage of ${TEMPLATE}`, level: 1 }).waitFor();
      const totals = await page.getByLabel('Totals').innerText();
      assert.match(totals, /4\s+calls/);
      assert.match(totals, /3\s+allowed/);
      assert.match(totals, /1\s+denied/);
      const chart = page.getByRole('img', { name: /^Calls per day/ });
      assert.equal(await chart.getAttribute('aria-label'), 'Calls per day: 3 allowed, 1 denied');
      assert.equal(await chart.locator('rect.allowed').count(), 1);
      assert.equal(await chart.locator('rect.denied').count(), 1);
      await page.getByRole('cell', { name: 'GET /projects/{p}/data_layers/last' }).waitFor();
      await page.getByRole('cell', { name: 'POST /projects/{p}/nodes/{n}/packages' }).waitFor();
      await page.getByRole('cell', { name: 'Permission missing (permission_missing)', exact: true }).waitFor();
    };

    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await page.getByRole('link', { name: `Usage of ${TEMPLATE} (${ids.key})` }).click();
    await expectUsage();
    await snap('bob-usage');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertNoSidewaysScroll('usage at 375 px');
    await page.setViewportSize({ width: 1200, height: 900 });

    await signInAs('alice');
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    const mine = page.getByRole('region', { name: `Keys of Weather server (${SERVER})` });
    await mine.waitFor();
    await assertFitsPhone('keys');
    await mine.getByRole('link', { name: `Usage of ${TEMPLATE} (${ids.key})` }).click();
    await expectUsage();
    await snap('alice-usage');

    // Another range: the day before yesterday to yesterday had no calls.
    const d = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);
    await page.getByLabel('From', { exact: true }).fill(d(2));
    await page.getByLabel('To', { exact: true }).fill(d(1));
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(`**/console/keys/${ids.key}?from=${d(2)}&to=${d(1)}&granularity=day`);
    const chart = page.getByRole('img', { name: /^Calls per day/ });
    await until('the chart shows the other range', async () => (await chart.getAttribute('aria-label')) === 'Calls per day: 0 allowed, 0 denied');
    assert.match(await page.getByLabel('Totals').innerText(), /0\s+calls/);
  });

  // ----------------------------------------------------------------------------------------
  // Every screen again in Russian: a browser that prefers Russian gets the Russian console, in
  // the platform manual's words (Шаблоны API ключей, СОЗДАТЬ, ЗАПРОСИТЬ, О проекте, Секреты,
  // Запросы, Узлы, Статистика использования).

  it('in Russian (the browser prefers ru-RU): sign-in, projects and the owner\'s templates, with a localized error', async () => {
    ru.context = await browser.newContext({ locale: 'ru-RU', viewport: { width: 1200, height: 900 } });
    ru.page = await ru.context.newPage();
    ru.page.setDefaultTimeout(TIMEOUT);
    ru.page.on('pageerror', (e) => pageErrors.push(e.message));
    const rp = ru.page;
    await rp.goto(`${BASE}/console/signin`);
    await rp.getByRole('heading', { name: 'Вход', level: 1 }).waitFor();
    assert.equal(await rp.getAttribute('html', 'lang'), 'ru');
    const langs = rp.getByRole('group', { name: 'Язык' });
    assert.equal(await langs.getByRole('button', { name: 'RU: Русский' }).getAttribute('aria-pressed'), 'true');
    assert.equal(await langs.getByRole('button', { name: 'EN: English' }).getAttribute('aria-pressed'), 'false');
    await rp.getByRole('heading', { name: 'Вход по токену' }).waitFor();
    await rp.getByLabel('Токен пользователя платформы').fill('не токен');
    await rp.getByRole('button', { name: 'Войти', exact: true }).click();
    await rp.getByText('Это не JWT (три части через точку).').waitFor();
    await assertFitsPhone('Russian sign-in', rp);
    await ruSignIn('alice');
    await rp.getByRole('link', { name: 'Проекты', exact: true }).waitFor();
    await rp.getByRole('link', { name: 'Ключи', exact: true }).waitFor();
    await rp.getByText('Вы владелец проекта.').first().waitFor();
    await assertFitsPhone('Russian projects', rp);

    const tile = rp.getByRole('listitem').filter({ has: rp.getByRole('heading', { name: `(${SERVER})` }) });
    await tile.getByRole('link', { name: 'API ключи', exact: true }).click();
    await rp.getByRole('heading', { name: 'Weather server', level: 1 }).waitFor();
    const tabs = rp.getByRole('navigation', { name: 'Разделы проекта' });
    for (const tab of ['API ключи', 'О проекте', 'Секреты']) await tabs.getByRole('link', { name: tab, exact: true }).waitFor();
    await rp.getByRole('heading', { name: 'Шаблоны API ключей', level: 2 }).waitFor();
    await rp.getByRole('heading', { name: 'Запросы', level: 2 }).waitFor();
    await rp.getByText('Запросов, ожидающих решения, нет.').waitFor();
    const tpl = rp.getByRole('article', { name: `Шаблон ${TEMPLATE}` });
    await tpl.getByRole('heading', { name: 'Информационные поля' }).waitFor();
    await tpl.getByRole('listitem', { name: 'Информационное поле input node' }).waitFor();
    await tpl.getByRole('button', { name: 'Вставить идентификатор проекта' }).first().waitFor();
    await tpl.getByRole('button', { name: 'Вставить идентификатор узла' }).first().waitFor();
    await tpl.getByRole('button', { name: 'Удалить шаблон' }).waitFor();
    await assertControlsLabelled('Russian owner API keys');

    // A known problem type in the console's Russian words: the name is taken (409 conflict).
    await rp.getByRole('button', { name: 'Новый шаблон' }).click();
    const dlg = rp.getByRole('dialog', { name: 'Новый шаблон API ключа' });
    await dlg.getByLabel('Название').fill(TEMPLATE);
    await dlg.getByLabel('Роль').selectOption('reader');
    await dlg.getByRole('button', { name: 'СОЗДАТЬ', exact: true }).click();
    await dlg.locator('.field-error').filter({ hasText: 'Шаблон с таким названием уже есть' }).waitFor();
    assert.equal(await dlg.getByLabel('Название').getAttribute('aria-invalid'), 'true');
    await snap('ru-template-name-taken', rp);
    await rp.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    // A field error in Russian: an info field without a name.
    const add = tpl.getByRole('form', { name: 'Добавление информационного поля' });
    await add.getByRole('button', { name: 'Добавить поле' }).click();
    await add.locator('.field-error').filter({ hasText: 'Не может быть пустым.' }).first().waitFor();
    assert.equal(await add.getByLabel('Название нового поля').getAttribute('aria-invalid'), 'true');
    await snap('ru-template-with-fields', rp);
    await assertFitsPhone('Russian owner API keys', rp);
    await rp.setViewportSize({ width: 375, height: 800 });
    await snap('ru-owner-375px', rp);
    await rp.setViewportSize({ width: 1200, height: 900 });
  });

  it('in Russian: the member asks again (ЗАПРОСИТЬ СНОВА), the owner sees "1 запрос ожидает" and rejects', async () => {
    const rp = ru.page;
    await ruSignIn('carol');
    await ruOpenTab(SERVER, 'Weather server', 'О проекте');
    await rp.getByRole('heading', { name: 'API ключи', level: 2 }).waitFor();
    const tile = rp.getByRole('article', { name: `API ключ ${TEMPLATE}` });
    await tile.getByText('Отклонён: Please use the public feed').waitFor();
    await tile.getByText('отклонён', { exact: true }).waitFor();
    await tile.getByLabel('Комментарий для владельца (необязательно)').fill('Для панели мониторинга');
    await tile.getByRole('button', { name: 'ЗАПРОСИТЬ СНОВА', exact: true }).click();
    await tile.getByText('Ожидает подтверждения владельца').waitFor();
    await tile.getByRole('button', { name: 'Отменить запрос' }).waitFor();
    await snap('ru-member-waiting', rp);
    await assertFitsPhone('Russian member about', rp);

    await ruSignIn('alice');
    await ruOpenTab(SERVER, 'Weather server', 'API ключи');
    const badge = rp.getByRole('navigation', { name: 'Разделы проекта' }).locator('.badge.count');
    assert.equal(await badge.getAttribute('aria-label'), '1 запрос ожидает');
    const item = rp.getByRole('listitem', { name: 'Запрос от carol@example.com' });
    assert.match(await item.innerText(), /carol@example\.com запрашивает «Weather reader»/);
    await item.getByRole('button', { name: 'Подтвердить запрос от carol@example.com' }).waitFor();
    await snap('ru-pending-request', rp);
    await assertFitsPhone('Russian pending request', rp);
    await item.getByRole('button', { name: 'Отклонить запрос от carol@example.com' }).click();
    const dlg = rp.getByRole('dialog', { name: 'Отклонить запрос' });
    await dlg.getByLabel('Причина (будет отправлена автору запроса)').fill('Please use the public feed');
    await dlg.getByRole('button', { name: 'Отклонить запрос' }).click();
    await rp.getByText('Запрос от carol@example.com отклонён.').waitFor();
    await rp.getByText('Запросов, ожидающих решения, нет.').waitFor();
  });

  it('in Russian: secrets with the import check, keys, and usage with Russian plurals, numbers and dates', async () => {
    const rp = ru.page;
    await ruSignIn('bob');
    await ruOpenTab(CLIENT, "Bob's client", 'Секреты');
    await rp.getByRole('heading', { name: 'Секреты', level: 2 }).waitFor();
    const group = rp.getByRole('region', { name: 'Импорт wx' });
    await group.getByRole('columnheader', { name: 'Узлы', exact: true }).waitFor();
    await group.getByRole('button', { name: 'Выбрать узлы для wx_token' }).waitFor();
    await rp.getByRole('button', { name: 'Добавить API ключ' }).click();
    await rp.getByRole('button', { name: `${TEMPLATE} (${SERVER})` }).click();
    const dlg = rp.getByRole('dialog', { name: 'Импорт API ключа' });
    await dlg.getByLabel('Префикс').fill('9x');
    await dlg.locator('.field-error').filter({ hasText: 'Должен начинаться со строчной латинской буквы' }).waitFor();
    await dlg.getByLabel('Префикс').fill('wy');
    await dlg.getByText('Будут созданы: wy_token, wy_project, wy_input_node, wy_output_node').waitFor();
    await snap('ru-import-prefix', rp);
    await rp.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    await snap('ru-secrets', rp);
    await assertFitsPhone('Russian secrets', rp);

    await rp.getByRole('link', { name: 'Ключи', exact: true }).click();
    await rp.getByRole('heading', { name: 'Ключи', level: 1 }).waitFor();
    await rp.getByRole('heading', { name: 'Ваши ключи', level: 2 }).waitFor();
    const row = rp.getByRole('row', { name: `Ключ ${ids.key}` });
    await row.getByText('действует', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Заменить' }).waitFor();
    await assertFitsPhone('Russian keys', rp);
    await row.getByRole('link', { name: `Статистика использования ${TEMPLATE} (${ids.key})` }).click();
    await rp.getByRole('heading', { name: `Статистика использования: ${TEMPLATE}`, level: 1 }).waitFor();
    const totals = await rp.getByLabel('Итоги').innerText();
    assert.match(totals, /4\s+вызова/);
    assert.match(totals, /разрешено:\s+3/);
    assert.match(totals, /отклонено:\s+1/);
    // A date and time as Russian writes them (e.g. "7 дек. 2026 г., 10:42").
    assert.match(totals, /последний вызов: \d{1,2}\s[а-я]+\.?\s\d{4}\s?г\.,\s\d{1,2}:\d{2}/);
    const chart = rp.getByRole('img', { name: /^Вызовы по дням/ });
    assert.equal(await chart.getAttribute('aria-label'), 'Вызовы по дням: разрешено 3, отклонено 1');
    // The periods on the axis as Russian writes days ("7 дек.").
    assert.match(await chart.locator('text.tick').nth(2).textContent(), /^\d{1,2}\s[а-я]+\.?$/);
    await rp.getByRole('heading', { name: 'Вызовы по маршрутам' }).waitFor();
    await rp.getByRole('heading', { name: 'Отказы по причинам' }).waitFor();
    await snap('ru-usage', rp);
    await assertFitsPhone('Russian usage', rp);
    const d = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);
    await rp.getByLabel('С', { exact: true }).fill(d(2));
    await rp.getByLabel('По', { exact: true }).fill(d(1));
    await rp.getByRole('button', { name: 'Показать' }).click();
    await until('the Russian chart shows the other range', async () => (await chart.getAttribute('aria-label')) === 'Вызовы по дням: разрешено 0, отклонено 0');
    assert.match(await rp.getByLabel('Итоги').innerText(), /0\s+вызовов/);
    await rp.getByText('За этот период вызовов не было.').waitFor();
  });

  it('the RU | EN switch: the choice is shown at once, remembered over the browser\'s language and sent to the API', async () => {
    const rp = ru.page;
    const sent = [];
    rp.on('request', (r) => { if (r.url().endsWith('/v1/me/settings')) sent.push([r.method(), r.postDataJSON()]); });
    const settled = rp.waitForResponse((r) => r.url().endsWith('/v1/me/settings'));
    await rp.getByRole('button', { name: 'EN: English' }).click();
    await rp.getByRole('heading', { name: `Usage of ${TEMPLATE}`, level: 1 }).waitFor();
    assert.equal(await rp.getAttribute('html', 'lang'), 'en');
    assert.equal(await rp.getByRole('button', { name: 'EN: English' }).getAttribute('aria-pressed'), 'true');
    // The API may not have the route yet (404/405): the console goes on all the same.
    const res = await settled;
    assert.ok(res.ok() || [404, 405].includes(res.status()), `PUT /v1/me/settings: ${res.status()}`);
    assert.deepEqual(sent, [['PUT', { locale: 'en' }]]);
    assert.equal(await rp.evaluate(() => localStorage.getItem('keygate.console.lang')), 'en');
    await rp.reload();
    await rp.getByRole('heading', { name: `Usage of ${TEMPLATE}`, level: 1 }).waitFor();
    assert.equal(await rp.getAttribute('html', 'lang'), 'en', 'the choice beats the browser\'s ru-RU');
    await rp.getByRole('link', { name: 'Keys', exact: true }).click();
    await rp.getByRole('heading', { name: 'Keys you hold', level: 2 }).waitFor();
    await rp.getByRole('button', { name: 'RU: Русский' }).click();
    await rp.getByRole('heading', { name: 'Ваши ключи', level: 2 }).waitFor();
    assert.equal(await rp.getAttribute('html', 'lang'), 'ru');
    await until('the Russian choice is sent', async () => sent.length === 2);
    assert.deepEqual(sent[1], ['PUT', { locale: 'ru' }]);

    // The saved choice follows bob to another browser, one that prefers English and has no
    // choice of its own: the sign-in reads it and the console turns Russian.
    const other = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
    const op = await other.newPage();
    op.setDefaultTimeout(TIMEOUT);
    op.on('pageerror', (e) => pageErrors.push(e.message));
    await op.goto(`${BASE}/console/signin`);
    await op.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    assert.equal(await op.getAttribute('html', 'lang'), 'en');
    await op.getByRole('button', { name: 'Sign in as bob' }).click();
    await op.getByRole('heading', { name: 'Ваши проекты', level: 1 }).waitFor();
    assert.equal(await op.getAttribute('html', 'lang'), 'ru');
    assert.equal(await op.evaluate(() => localStorage.getItem('keygate.console.lang')), 'ru');
    // Cleared again (`null`), so that bob's English walk below starts from the browser's language.
    const cleared = await op.evaluate(async () => {
      const token = sessionStorage.getItem('keygate.console.token');
      const res = await fetch('/v1/me/settings', {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ locale: null }),
      });
      return [res.status, (await res.json()).source];
    });
    assert.deepEqual(cleared, [200, 'default']);
    await other.close();
    await ru.context.close();
  });

  it('bob rolls his key: a new key replaces it', async () => {
    await signInAs('bob');
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    const row = page.getByRole('row', { name: `Key ${ids.key}` });
    await row.getByRole('button', { name: 'Roll' }).click();
    const dlg = page.getByRole('dialog', { name: 'Roll key' });
    await dlg.getByLabel(/Grace period/).fill('0');
    await dlg.getByRole('button', { name: 'Roll key' }).click();
    await page.waitForURL((url) => /\/console\/keys\/[^/]+$/.test(url.pathname) && !url.pathname.endsWith(ids.key));
    const rolled = new URL(page.url()).pathname.split('/').pop();
    await page.getByRole('heading', { name: `Usage of ${TEMPLATE}`, level: 1 }).waitFor();
    assert.match(await page.getByLabel('Totals').innerText(), /0\s+calls/);
    const fresh = await call('GET', `/v1/keys/${rolled}`, tokens.bob);
    assert.equal(fresh.status, 'active');
    ids.key = rolled;
    ids.token = (await call('GET', `/v1/keys/${rolled}/token`, tokens.bob)).token;
    await signInAs('alice');
  });

  it('alice revokes the key; verification refuses it', async () => {
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    const section = page.getByRole('region', { name: `Keys of Weather server (${SERVER})` });
    await section.getByRole('row', { name: `Key ${ids.key}` })
      .getByRole('button', { name: `Revoke ${TEMPLATE} held by bob@example.com` }).click();
    const dlg = page.getByRole('dialog', { name: 'Revoke key' });
    await dlg.getByRole('button', { name: 'Revoke' }).click();
    const row = section.getByRole('row', { name: `Key ${ids.key}` });
    await row.getByText('revoked', { exact: true }).waitFor();
    await snap('alice-revoked');
    const key = await call('GET', `/v1/keys/${ids.key}`, tokens.alice);
    assert.equal(key.status, 'revoked');
    // Decisions trust a cached key record for DECISION_CACHE_TTL_SECONDS (2 s locally).
    let status;
    for (let i = 0; i < 20; i += 1) {
      status = await platform('GET', `/projects/${SERVER}/data_layers/last`, ids.token);
      if (status !== 200) break;
      await new Promise((ok) => setTimeout(ok, 500));
    }
    assert.equal(status, 403);
    const r = await call('POST', '/v1/verify', null, { token: ids.token, method: 'GET', path: `/projects/${SERVER}/data_layers/last` });
    assert.equal(r.reason, 'revoked');
  });
});
