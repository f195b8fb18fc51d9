(function () {
  'use strict';
  var PAGE = 100;
  function $(id) { return document.getElementById(id); }
  var table = $('targets'), body = table && table.tBodies[0], bar = $('filters'), q = $('q');
  var shown = $('shown'), more = $('more'), only = $('grouponly');
  if (!table || !body || !bar || !q) { return; }
  var meta, rows;
  try {
    meta = JSON.parse($('meta').textContent);
    rows = JSON.parse($('rows').textContent);
  } catch (e) { return; }
  var text = meta.text || {}, names = meta.names || {}, groups = meta.groups || [];
  var ths = table.tHead.rows[0].cells, heads = {}, order = [];
  for (var i = 0; i < ths.length; i++) {
    var k = ths[i].getAttribute('data-k');
    heads[k] = ths[i].textContent;
    order.push(k);
  }
  for (i = 0; i < rows.length; i++) { rows[i].i = i; }
  var buttons = bar.getElementsByTagName('button');
  var state = { f: 'all', q: '', sort: '', dir: 'asc', g: 0 };
  var list = [], drawn = 0, sorted = {};

  function fmt(s, a, b) { return String(s).replace('{0}', a).replace('{1}', b); }
  function tailOf(r) { return r.o || (r.g && groups[r.g - 1] ? groups[r.g - 1].o : ''); }
  function statusName(r) { return names[r.s] || String(r.s); }
  function hay(r) {
    if (r.h === undefined) {
      r.h = [r.l, statusName(r), r.x === null || r.x === undefined ? '' : 'exit=' + r.x + ' ' + r.x, r.t || '', r.k, tailOf(r)].join('\n').toLowerCase();
    }
    return r.h;
  }
  function natural(s) { return String(s).toLowerCase().replace(/\d+/g, function (d) { return ('0000000000' + d).slice(-Math.max(10, d.length)); }); }
  function dur(ms) {
    if (ms === null || ms === undefined || ms < 0) { return '–'; }
    if (ms < 1000) { return ms + 'ms'; }
    if (ms < 60000) { return (ms / 1000).toFixed(1) + 's'; }
    var s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + 'h' + m + 'm' : m + 'm') + (s % 60) + 's';
  }
  var keyOf = {
    label: function (r) { return r.nl || (r.nl = natural(r.l)); },
    kind: function (r) { return r.k; },
    status: function (r) { return statusName(r); },
    exit: function (r) { return r.x === null || r.x === undefined ? null : r.x; },
    duration: function (r) { return r.d === null || r.d === undefined ? null : r.d; },
    tag: function (r) { return r.t || ''; },
    log: function (r) { return tailOf(r); }
  };
  function sortedRows() {
    if (!state.sort || !keyOf[state.sort]) { return rows; }
    var id = state.sort + ' ' + state.dir;
    if (sorted[id]) { return sorted[id]; }
    var key = keyOf[state.sort], sign = state.dir === 'desc' ? -1 : 1;
    var keys = new Array(rows.length);
    for (var i = 0; i < rows.length; i++) { keys[i] = key(rows[i]); }
    var idx = rows.map(function (r, i) { return i; });
    idx.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (x === y) { return a - b; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return (x < y ? -1 : 1) * sign;
    });
    sorted[id] = idx.map(function (i) { return rows[i]; });
    return sorted[id];
  }
  function matches(r, needle) {
    var f = state.f;
    if (f === 'success') { if (r.c !== 0) { return false; } }
    else if (f === 'failed') { if (r.c !== 1) { return false; } }
    else if (f === 'notstarted') { if (r.c !== 2) { return false; } }
    else if (f !== 'all' && String(r.s) !== f) { return false; }
    if (state.g && r.g !== state.g) { return false; }
    return !needle || hay(r).indexOf(needle) >= 0;
  }
  function cell(tr, k, cls) {
    var td = document.createElement('td');
    td.setAttribute('data-h', heads[k]);
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  function link(parent, href, label, g) {
    var a = document.createElement('a');
    a.setAttribute('href', href);
    a.textContent = label;
    if (g) { a.setAttribute('data-g', g); }
    parent.appendChild(a);
    return a;
  }
  function row(r) {
    var tr = document.createElement('tr');
    tr.className = ['ok', 'ng', 'ns'][r.c] + ' s' + r.s;
    for (var i = 0; i < order.length; i++) {
      var k = order[i], td;
      switch (k) {
        case 'label': td = cell(tr, k, 'lb'); td.textContent = r.l; break;
        case 'kind': cell(tr, k).textContent = r.k; break;
        case 'status': cell(tr, k, 'st').textContent = statusName(r); break;
        case 'exit': cell(tr, k, 'num').textContent = r.x === null || r.x === undefined ? '–' : String(r.x); break;
        case 'duration': cell(tr, k, 'num').textContent = dur(r.d); break;
        case 'tag': cell(tr, k).textContent = r.t || ''; break;
        case 'log':
          td = cell(tr, k, 'lg');
          var box = document.createElement('div'), tail = tailOf(r);
          if (tail) {
            var d = document.createElement('details'), s = document.createElement('summary');
            s.textContent = text.show_log;
            d.appendChild(s);
            d.tail = tail;
            box.appendChild(d);
          }
          var links = document.createElement('div');
          links.className = 'links';
          if (r.f && /^logs\/[A-Za-z0-9._-]+$/.test(r.f)) { link(links, r.f, text.full_log).className = 'full'; }
          if (r.g && groups[r.g - 1]) { link(links, '#group=' + r.g, fmt(text.same_as, groups[r.g - 1].n.toLocaleString('en-US')), r.g).className = 'same'; }
          if (links.firstChild) { box.appendChild(links); }
          if (!box.firstChild) { box.textContent = '–'; box.className = 'none'; }
          td.appendChild(box);
          break;
      }
    }
    return tr;
  }
  function drawMore() {
    var frag = document.createDocumentFragment(), end = Math.min(list.length, drawn + PAGE);
    for (; drawn < end; drawn++) { frag.appendChild(row(list[drawn])); }
    body.appendChild(frag);
    var left = list.length - drawn;
    if (more) {
      more.hidden = left <= 0;
      more.textContent = fmt(text.more, Math.min(left, PAGE));
    }
  }
  function apply() {
    var src = sortedRows(), needle = state.q.toLowerCase().trim();
    list = [];
    for (var i = 0; i < src.length; i++) { if (matches(src[i], needle)) { list.push(src[i]); } }
    body.textContent = '';
    drawn = 0;
    drawMore();
    if (shown) { shown.textContent = list.length || !rows.length ? fmt(text.showing, list.length, rows.length) : text.no_match; }
    for (i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', buttons[i].getAttribute('data-f') === state.f ? 'true' : 'false');
    }
    for (i = 0; i < ths.length; i++) {
      var k = ths[i].getAttribute('data-k');
      ths[i].setAttribute('aria-sort', k === state.sort ? (state.dir === 'desc' ? 'descending' : 'ascending') : 'none');
    }
    document.body.setAttribute('data-filter', state.f);
    if (only) {
      only.textContent = '';
      only.hidden = !state.g;
      if (state.g && groups[state.g - 1]) {
        only.appendChild(document.createTextNode(fmt(text.group_only, groups[state.g - 1].n.toLocaleString('en-US')) + ' '));
        var clear = document.createElement('button');
        clear.type = 'button';
        clear.textContent = text.clear;
        clear.addEventListener('click', function () { state.g = 0; apply(); save(); });
        only.appendChild(clear);
      }
    }
    if (q.value !== state.q) { q.value = state.q; }
  }
  function known(f) {
    if (f === 'all' || f === 'success' || f === 'failed' || f === 'notstarted') { return true; }
    for (var i = 0; i < buttons.length; i++) { if (buttons[i].getAttribute('data-f') === f) { return true; } }
    return false;
  }
  function fromHash() {
    var h = location.hash.replace(/^#/, ''), out = { f: 'all', q: '', sort: '', dir: 'asc', g: 0 };
    h.split('&').forEach(function (p) {
      var kv = p.split('='), k = kv[0], v;
      try { v = decodeURIComponent((kv.slice(1).join('=') || '').replace(/\+/g, ' ')); } catch (e) { return; }
      if (k === 'status' && known(v)) { out.f = v; }
      else if (k === 'q') { out.q = v; }
      else if (k === 'sort' && keyOf[v] && heads[v] !== undefined) { out.sort = v; }
      else if (k === 'dir' && (v === 'asc' || v === 'desc')) { out.dir = v; }
      else if (k === 'group' && /^\d+$/.test(v) && +v >= 1 && +v <= groups.length) { out.g = +v; }
    });
    return out;
  }
  function hash() {
    var p = [];
    if (state.f !== 'all') { p.push('status=' + encodeURIComponent(state.f)); }
    if (state.q) { p.push('q=' + encodeURIComponent(state.q)); }
    if (state.sort) { p.push('sort=' + state.sort, 'dir=' + state.dir); }
    if (state.g) { p.push('group=' + state.g); }
    return '#' + p.join('&');
  }
  function save() {
    var h = hash();
    if (h === '#' && !location.hash) { return; }
    try { history.replaceState(null, '', h); } catch (err) { location.hash = h; }
  }
  bar.addEventListener('click', function (e) {
    var b = e.target;
    while (b && b !== bar && b.tagName !== 'BUTTON') { b = b.parentNode; }
    if (!b || b === bar) { return; }
    state.f = b.getAttribute('data-f');
    apply();
    save();
  });
  table.tHead.addEventListener('click', function (e) {
    var th = e.target;
    while (th && th.tagName !== 'TH') { th = th.parentNode; }
    if (!th) { return; }
    var k = th.getAttribute('data-k');
    if (state.sort === k) { state.dir = state.dir === 'asc' ? 'desc' : 'asc'; } else { state.sort = k; state.dir = 'asc'; }
    apply();
    save();
  });
  q.addEventListener('input', function () { state.q = q.value; apply(); save(); });
  document.addEventListener('click', function (e) {
    var a = e.target;
    while (a && a.tagName !== 'A') { a = a.parentNode; }
    if (!a || !a.getAttribute('data-g')) { return; }
    e.preventDefault();
    state.g = +a.getAttribute('data-g');
    apply();
    save();
    table.scrollIntoView();
  });
  /* A row's log <pre> is made when the row is opened, not for every row drawn. */
  body.addEventListener('toggle', function (e) {
    var d = e.target;
    if (d.tagName === 'DETAILS' && d.open && d.tail !== undefined && !d.querySelector('pre')) {
      var pre = document.createElement('pre');
      pre.textContent = d.tail;
      d.appendChild(pre);
    }
  }, true);
  if (more) { more.addEventListener('click', drawMore); }
  if (more && window.IntersectionObserver) {
    new IntersectionObserver(function (es) {
      if (es[0].isIntersecting && drawn < list.length) { drawMore(); }
    }, { rootMargin: '600px' }).observe(more);
  }
  window.addEventListener('hashchange', function () { state = fromHash(); apply(); });
  /* The search text and label sort key of every row are built in slices after the first rows are
     drawn, so that the first search or sort does not pay for them (one before the end builds the rest). */
  function index(from) {
    var end = Math.min(rows.length, from + 2000);
    for (var i = from; i < end; i++) { hay(rows[i]); keyOf.label(rows[i]); }
    if (end < rows.length) { setTimeout(function () { index(end); }, 0); }
    else { document.body.setAttribute('data-indexed', String(Math.round(performance.now()))); }
  }
  state = fromHash();
  apply();
  document.body.setAttribute('data-ready', String(Math.round(performance.now())));
  setTimeout(function () { index(0); }, 0);
})();
