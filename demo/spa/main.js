// The demo's single-page app: `sessionmark` from npm, as an app imports it.
// Routes change with history.pushState, which the tracker counts as page
// views; the Buy button's request gets `X-Session-ID` from the
// `tracingHeaders` option, without code of its own.
import { getSessionId, init, track } from 'sessionmark';

const collector = document.querySelector('meta[name="sessionmark-collector"]')?.content ?? '';
init({
  clientId: 'shop-app',
  endpoint: `${collector}/v1/batch`,
  tracingHeaders: [location.host],
});

const ROUTES = {
  '/spa/': { title: 'Catalog', body: 'Machines, grinders and beans. Pick a page above: each is a page view without a page load.' },
  '/spa/beans': { title: 'Beans', body: 'A washed Ethiopian, a natural Brazilian, and a blend for milk drinks.', buy: true },
  '/spa/cart': { title: 'Cart', body: 'Your cart is empty (this is a demo).' },
};

function render() {
  const route = ROUTES[location.pathname] ?? ROUTES['/spa/'];
  document.title = `${route.title} · Bean There app`;
  document.getElementById('heading').textContent = route.title;
  document.getElementById('body').textContent = route.body;
  document.getElementById('buy').hidden = !route.buy;
  document.getElementById('order').textContent = '';
  document.getElementById('session').textContent = getSessionId() ?? '';
}

document.getElementById('nav').addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-route]');
  if (!a) return;
  ev.preventDefault();
  if (a.pathname !== location.pathname) history.pushState(null, '', a.pathname);
  render();
});
addEventListener('popstate', render);

document.getElementById('buy').addEventListener('click', async () => {
  const out = document.getElementById('order');
  track('add_to_cart', { product: 'beans' });
  const res = await fetch('/api/buy', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ product: 'beans' }) });
  const answer = await res.json();
  out.textContent = res.ok ? `Order ${answer.order_id} for ${answer.amount.toFixed(2)} is confirmed.` : `The order failed: ${answer.error}`;
});

render();
