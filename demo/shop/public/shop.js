// The demo shop's pages: the Buy button and the sign-in form. Both call the
// shop's own backend with the tab's session id in `X-Session-ID`, so the
// backend can record what happened in this browser session.
(function () {
  'use strict';
  // Display only: the backend has the prices that count (catalog.mjs).
  var PRODUCTS = {
    espresso: { name: 'Espresso machine', price: '249.00' },
    grinder: { name: 'Burr grinder', price: '89.50' },
    beans: { name: 'Coffee beans, 1 kg', price: '18.90' },
  };
  var USER_KEY = 'shop_user';

  /** The tracker's API once its (async) script has run, else null. */
  function tracker() {
    var sm = window.sessionmark;
    return sm && typeof sm.getSessionId === 'function' ? sm : null;
  }

  /** POSTs JSON to the shop backend; the session id goes along when the tracker has one. */
  function post(path, body) {
    var headers = { 'content-type': 'application/json' };
    var sm = tracker();
    var id = sm && sm.getSessionId();
    // Without it (the script not loaded yet) the backend reads the ss_sid cookie.
    if (id) headers['X-Session-ID'] = id;
    return fetch(path, { method: 'POST', headers: headers, body: JSON.stringify(body) }).then(function (res) {
      return res.json().then(function (answer) {
        if (!res.ok) throw new Error(answer.error || 'HTTP ' + res.status);
        return answer;
      });
    });
  }

  // --- product page ----------------------------------------------------------
  var select = document.getElementById('product');
  if (select) {
    var show = function () {
      var p = PRODUCTS[select.value] || PRODUCTS.espresso;
      document.getElementById('product-name').textContent = p.name;
      document.getElementById('product-price').textContent = p.price;
    };
    var asked = new URLSearchParams(location.search).get('item');
    if (asked && Object.prototype.hasOwnProperty.call(PRODUCTS, asked)) select.value = asked;
    show();
    select.addEventListener('change', show);
    var order = document.getElementById('order');
    document.getElementById('buy').addEventListener('click', function () {
      order.className = 'order';
      order.textContent = 'Placing the order…';
      post('/api/buy', { product: select.value })
        .then(function (o) {
          order.textContent = 'Thank you! Order ' + o.order_id + ' for ' + o.amount.toFixed(2) + ' is confirmed.';
        })
        .catch(function (e) {
          order.className = 'order error';
          order.textContent = 'The order failed: ' + e.message;
        });
    });
  }

  // --- sign in / out ----------------------------------------------------------
  var form = document.getElementById('login');
  var who = document.getElementById('who');
  var input = document.getElementById('user');
  var signIn = document.getElementById('sign-in');
  var signOut = document.getElementById('sign-out');

  function stored() {
    try {
      return localStorage.getItem(USER_KEY);
    } catch (e) {
      return null;
    }
  }
  function showUser(userId) {
    who.textContent = userId ? 'Signed in as ' + userId.replace(/^user_/, '') : '';
    input.hidden = signIn.hidden = !!userId;
    signOut.hidden = !userId;
  }
  showUser(stored());

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    post('/api/login', { user: input.value })
      .then(function (answer) {
        // The browser side of the link: later events carry user_id (the
        // backend above links the session on its side too).
        var sm = tracker();
        if (sm) sm.identify(answer.user_id);
        try {
          localStorage.setItem(USER_KEY, answer.user_id);
        } catch (e) {
          // private mode: signed in for this page only
        }
        showUser(answer.user_id);
      })
      .catch(function (e) {
        who.textContent = 'Sign-in failed: ' + e.message;
      });
  });
  signOut.addEventListener('click', function () {
    // clear() is the tracker's logout: a new visitor and session from here on.
    var sm = tracker();
    if (sm) sm.clear();
    try {
      localStorage.removeItem(USER_KEY);
    } catch (e) {
      // nothing stored
    }
    showUser(null);
  });
})();
