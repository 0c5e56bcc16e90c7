/* CallMesh swap script v1. <script src="https://GATEWAY/dni.js" data-site-key="KEY" async></script>
   Swaps the phone numbers a visitor sees for tracking numbers; the page source, JSON-LD, microdata
   (itemprop=telephone) and [data-callmesh-noswap] regions keep the canonical numbers. */
(function (w, d) {
  'use strict';
  var me = d.currentScript, key = me && me.getAttribute('data-site-key');
  if (!key || w.CallMesh) return;
  var base = new URL(me.src).origin, store = 'callmesh:' + key, pending = null, asked = {};
  // NANP numbers as people write them, or compact E.164: (512) 555-0100, 512.555.0100, +1 512 555 0100, +15125550100
  var NUMBER = /(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}(?!\d)|\+[1-9]\d{7,14}(?!\d)/g;
  var SKIP = /^(SCRIPT|NOSCRIPT|STYLE|TEMPLATE|TEXTAREA|INPUT|SELECT|OPTION|BUTTON|IFRAME|SVG)$/;
  var CLICK = /[?&](gclid|gbraid|wbraid|msclkid|fbclid|utm_[a-z]+)=/;

  function e164(text) {
    var digits = text.replace(/\D/g, '');
    if (text.charAt(0) !== '+' && digits.length === 10) return '+1' + digits;
    return (text.charAt(0) === '+' || (digits.length === 11 && digits.charAt(0) === '1')) ? '+' + digits : null;
  }
  // Keep the page's format: put the tracking number's digits where the original had its digits.
  function format(original, number, display) {
    var from = original.replace(/\D/g, ''), to = number.replace(/\D/g, '');
    if (to.length > from.length) to = to.slice(to.length - from.length);
    if (to.length !== from.length) return display;
    var i = 0;
    return original.replace(/\d/g, function () { return to.charAt(i++); });
  }
  function skipped(el) {
    for (; el && el.nodeType === 1; el = el.parentNode)
      if (SKIP.test(el.nodeName.toUpperCase()) || el.hasAttribute('data-callmesh-noswap') || el.getAttribute('itemprop') === 'telephone') return true;
    return false;
  }
  function walk(root, onText, onLink) {
    var it = d.createTreeWalker(root, 5 /* elements and text */, null), n;
    while ((n = it.nextNode())) {
      if (n.nodeType === 3) { if (n.nodeValue.length > 6 && !skipped(n.parentNode)) onText(n); }
      else if (n.nodeName === 'A' && /^tel:/i.test(n.getAttribute('href') || '') && !skipped(n)) onLink(n);
    }
  }
  function targets(root) {
    var found = {};
    walk(root, function (t) { (t.nodeValue.match(NUMBER) || []).forEach(function (m) { var n = e164(m); if (n) found[n] = 1; }); },
      function (a) { var n = e164(decodeURIComponent(a.getAttribute('href').slice(4))); if (n) found[n] = 1; });
    return Object.keys(found);
  }
  function load() { try { return JSON.parse(w.localStorage.getItem(store)) || {}; } catch (e) { return {}; } }
  function save(s) { try { w.localStorage.setItem(store, JSON.stringify(s)); } catch (e) { /* private mode: this page only */ } }
  function post(path, body) {
    return fetch(base + path + '?siteKey=' + encodeURIComponent(key), {
      method: 'POST', body: JSON.stringify(body), keepalive: true,
      headers: { 'content-type': 'text/plain' } // a simple request: no CORS preflight
    }).then(function (r) { if (!r.ok) throw new Error('CallMesh ' + r.status); return r.json(); });
  }
  // The assignment for these targets: from this browser's store while it lives, else one request.
  // Targets the server already answered (swapped or not) are not asked again, and our own
  // tracking numbers (what a re-scan finds after a swap) are not targets at all.
  function getNumbers(wanted) {
    var s = load(), now = Date.now(), live = s.sessionId && Date.parse(s.expiresAt) > now, ours = {}, t;
    for (t in s.swaps || {}) ours[s.swaps[t].number] = 1;
    var known = live ? s.known || [] : [];
    wanted = (wanted || targets(d.body)).filter(function (t) { return !ours[t]; });
    var missing = wanted.filter(function (t) { return known.indexOf(t) < 0 && !asked[t]; });
    var newClick = CLICK.test(location.search) && s.search !== location.search;
    if (live && !missing.length && !newClick) return Promise.resolve(s);
    if (pending) return pending;
    wanted = known.concat(missing).slice(0, 20);
    wanted.forEach(function (t) { asked[t] = 1; });
    pending = post('/v1/dni/sessions', {
      siteKey: key, visitorId: s.visitorId, sessionId: live ? s.sessionId : undefined,
      url: location.href, referrer: d.referrer || undefined, targets: wanted
    }).then(function (r) {
      var map = {};
      r.swaps.forEach(function (x) { map[x.target] = x; });
      s = { visitorId: r.visitorId, sessionId: r.sessionId, expiresAt: r.expiresAt, swaps: map, known: wanted, search: location.search };
      save(s);
      return s;
    }, function (e) {
      // Not answered (CallMesh unavailable, a 503 during a database outage): these targets may be asked again.
      wanted.forEach(function (t) { delete asked[t]; });
      throw e;
    }).finally(function () { pending = null; });
    return pending;
  }
  function apply(root, s) {
    walk(root, function (t) {
      var v = t.nodeValue, out = v.replace(NUMBER, function (m) { var x = s.swaps[e164(m)]; return x ? format(m, x.number, x.display) : m; });
      if (out !== v) t.nodeValue = out;
    }, function (a) {
      var x = s.swaps[e164(decodeURIComponent(a.getAttribute('href').slice(4)))];
      if (x) a.setAttribute('href', 'tel:' + x.number);
    });
  }
  function swap(root) {
    root = root || d.body;
    var wanted = targets(root);
    if (!wanted.length) return Promise.resolve();
    return getNumbers(wanted).then(function (s) { retries = 0; apply(root, s); }, function () {
      // Keep the page's own numbers (a call to them rings the location) and ask again later: 5 s, 20 s, 80 s.
      if (retries < 3) setTimeout(function () { swap(root); }, 5000 * Math.pow(4, retries++));
    });
  }
  var retries = 0;
  // While the page is visible, keep the numbers leased.
  setInterval(function () {
    var s = load();
    if (d.visibilityState !== 'visible' || !s.sessionId || !(Date.parse(s.expiresAt) > Date.now())) return;
    post('/v1/dni/sessions/' + s.sessionId + '/heartbeat', { siteKey: key, visitorId: s.visitorId })
      .then(function (r) { s.expiresAt = r.expiresAt; save(s); }, function () { });
  }, 60000);

  w.CallMesh = { swap: swap, getNumbers: function (t) { return getNumbers(t); } };
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', function () { swap(); });
  else swap();
})(window, document);
