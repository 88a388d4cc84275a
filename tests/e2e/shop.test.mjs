// The demo a newcomer sees on `npm start`, end to end: the shop pages with
// the script tag, the shop's own Node backend recording purchases through
// the server SDK, and the single-page app Vite built from the packed
// package. What arrived is asserted on the collector's storage.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_ID_RE, startShop, useSuite, waitFor } from './harness.mjs';

const T = { timeout: 90_000 };
const suite = useSuite();
let shop;

/** Waits until the page's tracker has started; returns its session id. */
const sessionOf = (page) => page.waitForFunction(() => window.sessionmark && window.sessionmark.getSessionId()).then((h) => h.jsonValue());

/** The events of `sessionId`, once `done(events)` holds; `tick()` runs before each look. */
function eventsWhen(sessionId, done, what, tick = async () => {}) {
  return waitFor(
    async () => {
      await tick();
      const events = await suite.collector.events(sessionId);
      return done(events) && events;
    },
    { what, timeout: 20_000 },
  );
}

describe('the demo shop', () => {
  // Inside the describe: the suite's collector is started by then.
  before(async () => {
    shop = await startShop(suite.collector);
  });
  after(async () => {
    await shop?.stop();
  });

  it('browse three pages, buy: the purchase is in the same browser session, with its amount', T, async () => {
    const page = await suite.t.newPage();
    await page.goto(`${shop.url}/`);
    const sessionId = await sessionOf(page);
    assert.match(sessionId, SESSION_ID_RE);
    await page.getByRole('link', { name: 'See the espresso machine' }).click();
    await page.waitForURL('**/product.html');
    await page.getByRole('button', { name: 'Buy' }).click();
    await page.getByText(/Thank you! Order order-\S+ for 249\.00 is confirmed\./).waitFor();
    await page.getByRole('link', { name: 'About' }).click();
    await page.waitForURL('**/about.html');
    assert.equal(await sessionOf(page), sessionId, 'one visit across the three pages');
    await page.close(); // pagehide: the last page's events go by beacon

    const events = await eventsWhen(
      sessionId,
      (es) => es.some((e) => e.name === 'purchase') && es.filter((e) => e.name === 'page_exit').length === 3,
      'three page views, their exits and the purchase',
    );
    const views = events.filter((e) => e.name === 'screen_view');
    assert.deepEqual(views.map((e) => e.path), ['/', '/product.html', '/about.html']);
    assert.ok(views.every((e) => e.client_id === 'shop'));
    const purchases = events.filter((e) => e.name === 'purchase');
    assert.equal(purchases.length, 1);
    assert.equal(purchases[0].source, 'server', 'recorded by the shop backend, not the page');
    assert.equal(purchases[0].properties.amount, 249);
    assert.equal(purchases[0].properties.product, 'espresso');
    assert.equal(purchases[0].anonymous_id, views[0].anonymous_id, 'the buyer is the visitor who browsed');

    // The site owner's side: the visit's timeline on the dashboard, the purchase marked as the backend's.
    const dashboard = await suite.t.newPage();
    await dashboard.goto(`${suite.collector.url}/dashboard.html#session=${sessionId}`);
    const row = dashboard.locator('#events tbody tr.server');
    await row.waitFor();
    assert.deepEqual(await row.locator('td').nth(2).innerText(), 'purchase server');
    assert.match(await row.locator('td').nth(4).innerText(), /"amount":249/);
    assert.equal(await dashboard.locator(`#sessions tr[data-session="${sessionId}"]`).getAttribute('class'), 'picked');

    // And the figures: this suite's shop visits so far, one of them bought for 249.00.
    // Waited for before the navigation: the answer may come before goto() returns.
    const answered = dashboard.waitForResponse((r) => {
      const url = new URL(r.url());
      return url.pathname === '/v1/metrics' && url.searchParams.get('client_id') === 'shop';
    });
    await dashboard.goto(`${suite.collector.url}/dashboard.html?site#site=shop`);
    const m = await (await answered).json();
    assert.equal(m.conversions, 1);
    assert.equal(m.revenue, 249);
    await dashboard.waitForFunction(() => Number(document.documentElement.dataset.refreshes) >= 1);
    assert.equal(await dashboard.locator('[data-figure="conversions"] .figure-value').innerText(), '1');
    assert.equal(await dashboard.locator('[data-figure="revenue"] .figure-value').innerText(), '249.00');
    assert.equal(await dashboard.locator('[data-figure="visits"] .figure-value').innerText(), String(m.visits));
  });

  it('signing in names the user to the backend and, through identify(), to later events', T, async () => {
    const page = await suite.t.newPage();
    await page.goto(`${shop.url}/about.html`);
    const sessionId = await sessionOf(page);
    const login = page.waitForResponse('**/api/login');
    await page.getByLabel('User name').fill('Ada');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const answer = await (await login).json();
    assert.deepEqual(answer, { user_id: 'user_ada' });
    await page.getByText('Signed in as ada').waitFor();
    await page.evaluate(() => window.sessionmark.track('after_login'));
    await page.evaluate(() => window.sessionmark.flush());
    const events = await eventsWhen(sessionId, (es) => es.some((e) => e.name === 'after_login'), 'the event after sign-in');
    // The backend's side of the link: an identify event of this session with the user id.
    const identify = events.find((e) => e.name === 'identify');
    assert.equal(identify?.source, 'server');
    assert.equal(identify.user_id, 'user_ada');
    assert.equal(events.find((e) => e.name === 'after_login').user_id, 'user_ada');
    // Signing out is the tracker's clear(): a new visitor from here on.
    const before = await page.evaluate(() => window.sessionmark.getAnonymousId());
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.notEqual(await page.evaluate(() => window.sessionmark.getAnonymousId()), before);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('the single-page app from the packed package counts its routes and pairs its purchase', T, async () => {
    const page = await suite.t.newPage();
    // The app's batches wait for their timer (5 s) and a failed one for its
    // retry: the fake clock moves them on, with the page open.
    await page.clock.install();
    await page.goto(`${shop.url}/`);
    await page.getByRole('link', { name: 'Single-page app' }).click();
    await page.waitForURL('**/spa/');
    const sessionId = await page.locator('#session').innerText();
    assert.match(sessionId, SESSION_ID_RE);
    await page.getByRole('link', { name: 'Beans' }).click();
    await page.getByRole('heading', { name: 'Beans' }).waitFor();
    const buy = page.waitForRequest('**/api/buy');
    await page.getByRole('button', { name: 'Buy a bag of beans' }).click();
    assert.equal((await buy).headers()['x-session-id'], sessionId, 'tracingHeaders added the session id');
    await page.getByText(/Order order-\S+ for 18\.90 is confirmed\./).waitFor();

    const events = await eventsWhen(
      sessionId,
      (es) => es.some((e) => e.name === 'purchase') && es.some((e) => e.name === 'add_to_cart'),
      'the app\'s events',
      () => page.clock.runFor(10_000),
    );
    // Same origin, same tab: the shop page and the app share one session.
    const views = events.filter((e) => e.name === 'screen_view').map((e) => [e.client_id, e.path]);
    assert.deepEqual(views, [['shop', '/'], ['shop-app', '/spa/'], ['shop-app', '/spa/beans']]);
    assert.equal(events.find((e) => e.name === 'purchase').properties.amount, 18.9);
  });

  it('the shop refuses what it does not sell and odd requests, and keeps serving', T, async () => {
    const post = (path, body, headers = {}) =>
      fetch(`${shop.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    assert.equal((await post('/api/buy', '{"product":"toString"}')).status, 400);
    assert.equal((await post('/api/buy', 'not json')).status, 400);
    assert.equal((await post('/api/login', '{"user":"<script>"}')).status, 400);
    assert.equal((await fetch(`${shop.url}/..%2f..%2fpackage.json`)).status, 404);
    const home = await fetch(`${shop.url}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-security-policy'), /script-src 'self' http:\/\/127\.0\.0\.1:\d+ 'wasm-unsafe-eval'/);
    assert.match(await home.text(), new RegExp(`<script src="${suite.collector.url}/dist/sessionmark.js" data-client-id="shop" async>`));
  });
});
