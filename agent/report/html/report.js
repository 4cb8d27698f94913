/* report.js - draws the ticktap report from the JSON embedded in the page (#ticktap-data):
 * headline figures, Chart.js charts, sortable tables, and filters applied in the page. */
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('ticktap-data').textContent);
  const S = D.summary;
  const T0 = S.first_ts_ns || 0;
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const num = (v) => (v == null ? '' : Number(v).toLocaleString('en-US'));
  const fix = (v, d) => (v == null ? '' : Number(v).toFixed(d === undefined ? 1 : d));
  const si = (v, unit) => {
    if (v == null || !isFinite(v)) return '';
    const p = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
    for (const [m, s] of p) if (Math.abs(v) >= m) return (v / m).toFixed(2) + ' ' + s + unit;
    return v.toFixed(0) + ' ' + unit;
  };
  const secs = (ns) => (ns - T0) / 1e9;
  const dur = (ns) => ns < 1e3 ? ns + ' ns' : ns < 1e6 ? (ns / 1e3).toPrecision(3) + ' µs' :
    ns < 1e9 ? (ns / 1e6).toPrecision(3) + ' ms' : (ns / 1e9).toPrecision(3) + ' s';
  const sum = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0);
  const durationS = Math.max((S.last_ts_ns - S.first_ts_ns) / 1e9, 1e-9);

  /* ---- headline ------------------------------------------------------------------------ */
  const anomalies = Object.entries(S.events || {})
    .filter(([t]) => !D.info_types.includes(t)).reduce((a, [, n]) => a + n, 0);
  const capLost = (S.capture && S.capture.interfaces || []).reduce((a, i) => a + (i.lost || 0), 0);
  const cards = [
    ['packets', num(S.packets), 'packets'],
    ['rate', si(S.packets / durationS, 'pps'), 'packet rate'],
    ['bits', si(8 * S.bytes / durationS, 'bps'), 'bit rate'],
    ['duration', fix(durationS, 3) + ' s', 'capture span'],
    ['flows', num(S.flows), 'flows'],
    ['anomalies', num(anomalies), 'anomalies (warn, critical)', anomalies > 0],
    ['decode', num(sum(S.decode_errors)), 'decode errors', sum(S.decode_errors) > 0],
    ['drops', num(sum(S.drops)), 'drops (tables, rings)', sum(S.drops) > 0],
    ['loss', num(capLost), 'capture loss', capLost > 0],
    ['incidents', num(D.incidents.length), 'incidents'],
  ];
  $('headline').innerHTML = cards.map(([id, v, k, bad]) =>
    `<div class="card${bad ? ' bad' : ''}" id="h-${id}"><div class="v">${esc(v)}</div>` +
    `<div class="k">${esc(k)}</div></div>`).join('');
  $('title-input').textContent = D.input ? '— ' + D.input : '';
  $('subtitle').textContent = `${new Date(S.first_ts_ns / 1e6).toISOString()} to ` +
    `${new Date(S.last_ts_ns / 1e6).toISOString()} · schema ${S.schema_version}`;
  const blind = [];
  const errs = S.decode_errors || {};
  for (const [k, n] of Object.entries(errs)) blind.push(`${num(n)} frames not decoded: ${k}`);
  for (const [k, n] of Object.entries(S.drops || {})) blind.push(`${num(n)} dropped: ${k}`);
  if (capLost) blind.push(`${num(capLost)} frames lost by the capture before analysis`);
  if (S.interrupted) blind.push('the analysis was interrupted before the end of the input');
  if (S.capture_errors) blind.push(`${S.capture_errors} capture read errors`);
  if (D.events_total > D.events.length)
    blind.push(`the events table holds the first ${num(D.events.length)} of ${num(D.events_total)} ` +
      `events (report cap); the counts above include them all`);
  if (!S.timeline) blind.push('no timeline in this summary: charts over time are empty');
  $('blind-list').innerHTML = blind.length ? blind.map((b) => `<li>${esc(b)}</li>`).join('') :
    '<li>nothing: every frame was decoded and analysed</li>';

  /* ---- charts -------------------------------------------------------------------------- */
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 11;
  Chart.defaults.maintainAspectRatio = false;
  const TL = S.timeline;
  const charts = [];
  const tlx = TL ? TL.packets.map((_, i) => (TL.start_ns + i * TL.bucket_ns - T0) / 1e9) : [];
  const xScale = { type: 'linear', title: { display: true, text: 'seconds from the first frame' } };
  function noData(canvas, why) {
    canvas.replaceWith(Object.assign(document.createElement('div'), { className: 'none', textContent: why }));
  }
  function timeChart(id, series, unit) {
    const c = $(id);
    if (!TL || !series) return noData(c, 'no samples in this capture');
    const pts = (arr) => arr.map((v, i) => ({ x: tlx[i], y: v })).filter((p) => p.y != null);
    charts.push(new Chart(c, {
      type: 'line',
      data: { datasets: [
        { label: 'p50', data: pts(series.p50), borderColor: '#2f6fb3', pointRadius: 0, borderWidth: 1.5 },
        { label: 'p99', data: pts(series.p99), borderColor: '#b26a00', backgroundColor: 'rgba(178,106,0,0.12)',
          fill: '-1', pointRadius: 0, borderWidth: 1.5 },
        { label: 'max', data: pts(series.max), borderColor: '#b3261e', borderDash: [3, 3], pointRadius: 0, borderWidth: 1 },
      ] },
      options: { parsing: false, spanGaps: false, scales: { x: xScale, y: { title: { display: true, text: unit } } } },
    }));
  }
  if (TL) {
    const bw = TL.bucket_ns / 1e9;
    const bursts = D.events.filter((e) => e.type === 'burst.micro')
      .map((e) => ({ x: secs(e.ts_ns), y: e.burst.peak_bps / 1e6 }));
    charts.push(new Chart($('c-throughput'), {
      data: { datasets: [
        { type: 'line', label: `Mbit/s (per ${dur(TL.bucket_ns)} bucket)`,
          data: TL.bytes.map((b, i) => ({ x: tlx[i], y: 8 * b / bw / 1e6 })), borderColor: '#2f6fb3',
          pointRadius: 0, borderWidth: 1.2, fill: true, backgroundColor: 'rgba(47,111,179,0.1)' },
        { type: 'scatter', label: 'microburst peak (Mbit/s)', data: bursts, backgroundColor: '#b3261e', pointRadius: 4 },
      ] },
      options: { parsing: false, scales: { x: xScale, y: { title: { display: true, text: 'Mbit/s' } } } },
    }));
  } else noData($('c-throughput'), 'no timeline');
  timeChart('c-rtt', TL && TL.rtt_us, 'µs');
  timeChart('c-order', TL && TL.order_latency_us, 'µs');
  timeChart('c-feed', TL && TL.feed_latency_us, 'µs');
  const typeEntries = Object.entries(S.events || {}).filter(([t]) => !D.info_types.includes(t))
    .sort((a, b) => b[1] - a[1]);
  if (typeEntries.length)
    charts.push(new Chart($('c-types'), { type: 'bar', data: { labels: typeEntries.map((e) => e[0]),
      datasets: [{ label: 'events', data: typeEntries.map((e) => e[1]), backgroundColor: '#b26a00' }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } } } }));
  else noData($('c-types'), 'no anomaly');
  const sevCount = { critical: 0, warn: 0, info: 0 };
  for (const [t, n] of Object.entries(S.events || {})) sevCount[D.severity_of[t] || 'info'] += n;
  charts.push(new Chart($('c-sev'), { type: 'doughnut', data: { labels: Object.keys(sevCount),
    datasets: [{ data: Object.values(sevCount), backgroundColor: ['#b3261e', '#b26a00', '#2f6fb3'] }] } }));
  const tcp = Object.entries(S.tcp_analysis || {}).filter(([, n]) => n > 0);
  if (tcp.length)
    charts.push(new Chart($('c-tcp'), { type: 'bar', data: { labels: tcp.map((e) => e[0]),
      datasets: [{ label: 'segments', data: tcp.map((e) => e[1]), backgroundColor: '#2f6fb3' }] },
      options: { plugins: { legend: { display: false } } } }));
  else noData($('c-tcp'), 'no TCP analysis flag');

  /* ---- tables -------------------------------------------------------------------------- */
  // cols: [title, get(row) -> value, kind: 'n' number | 's' text | 'h' html-safe text with class]
  // At most SHOWN rows go into the page at once (sorted first, over every matching row): a
  // table of 20000 rows would take the browser seconds to lay out; "show all" lifts it.
  const SHOWN = 1000;
  function table(id, cols, rows, note, deferred) {
    const el = $(id);
    const state = { rows, key: -1, dir: 1, all: false };
    function render() {
      let r = state.rows.slice();
      if (state.key >= 0) {
        const g = cols[state.key][1];
        r.sort((a, b) => { const x = g(a), y = g(b);
          return (x > y ? 1 : x < y ? -1 : 0) * state.dir; });
      }
      const total = r.length;
      if (!state.all && total > SHOWN) r = r.slice(0, SHOWN);
      const head = cols.map((c, i) => `<th data-i="${i}" class="${c[2] === 'n' ? 'n ' : ''}${i === state.key ?
        (state.dir > 0 ? 'sorted-asc' : 'sorted-desc') : ''}">${esc(c[0])}</th>`).join('');
      const body = r.map((row) => '<tr>' + cols.map((c) => {
        const v = c[1](row);
        if (c[2] === 'n') return `<td class="n">${typeof v === 'number' && !Number.isInteger(v) ? fix(v, 1) : num(v)}</td>`;
        if (c[2] === 'sev') return `<td class="sev-${esc(v)}">${esc(v)}</td>`;
        return `<td>${esc(v)}</td>`;
      }).join('') + '</tr>').join('');
      const more = total > r.length ? `<div class="cap">showing ${num(r.length)} of ${num(total)} rows ` +
        `(sorted as asked) <button type="button" class="all">show all</button></div>` : '';
      el.innerHTML = (note ? `<div class="cap">${esc(note)}</div>` : '') + more +
        `<div class="wrap"><table><thead><tr>${head}</tr></thead><tbody>${body || ''}</tbody></table></div>` +
        (total ? '' : '<div class="cap">nothing to show</div>');
      el.querySelectorAll('th').forEach((th) => th.addEventListener('click', () => {
        const i = +th.dataset.i;
        state.dir = state.key === i ? -state.dir : (cols[i][2] === 'n' ? -1 : 1);
        state.key = i;
        render();
      }));
      const all = el.querySelector('button.all');
      if (all) all.addEventListener('click', () => { state.all = true; render(); });
    }
    if (!deferred) render(); // the filtered tables are drawn by the first apply()
    return { set(rows) { state.rows = rows; render(); }, count: () => state.rows.length };
  }
  const lat = (o, k) => (o && o.n ? o[k] : null);
  const fixS = (S.trading && S.trading.fix && S.trading.fix.sessions) || [];
  const soupS = (S.trading && S.trading.soupbintcp && S.trading.soupbintcp.sessions) || [];
  const rejectsBy = {};
  for (const e of D.events)
    if (e.type === 'fix.order_reject' || e.type === 'ouch.reject') {
      const s = e.fix ? [e.fix.sender_comp_id, e.fix.target_comp_id].sort().join('-') : e.ouch.session;
      const r = e.fix ? e.fix.reason : e.ouch.reason;
      (rejectsBy[s] = rejectsBy[s] || {})[r] = ((rejectsBy[s] || {})[r] || 0) + 1;
    }
  const reasonText = (name) => Object.entries(rejectsBy[name] ||
    rejectsBy[name.split('-').sort().join('-')] || {}).sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r}×${n}`).join(', ');
  const orderRows = fixS.map((s) => ({ proto: 'FIX', name: s.name,
    orders: Object.values(s.orders || {}).reduce((a, b) => a + b, 0), rejects: s.order_rejects,
    reasons: reasonText(s.name), gaps: s.seq_gaps, lat: s.order_latency_us }))
    .concat(soupS.map((s) => ({ proto: 'OUCH', name: s.name || s.session,
      orders: Object.values(s.orders || {}).reduce((a, b) => a + b, 0), rejects: s.order_rejects || 0,
      reasons: reasonText(s.name || s.session || ''), gaps: s.seq_gaps || 0, lat: s.order_latency_us })));
  table('t-orders', [['protocol', (r) => r.proto], ['session', (r) => r.name],
    ['orders', (r) => r.orders, 'n'], ['rejects', (r) => r.rejects, 'n'], ['reject reasons', (r) => r.reasons],
    ['seq gaps', (r) => r.gaps, 'n'], ['p50 µs', (r) => lat(r.lat, 'p50'), 'n'],
    ['p99 µs', (r) => lat(r.lat, 'p99'), 'n'], ['p99.9 µs', (r) => lat(r.lat, 'p99.9'), 'n']], orderRows);
  const mdS = (S.trading && S.trading.md && S.trading.md.sessions) || [];
  const missing = {};
  for (const e of D.events)
    if (e.type === 'md.gap') {
      const k = e.md.session;
      (missing[k] = missing[k] || []).push(e.md.count > 1 ?
        `${e.md.first_seq}-${e.md.first_seq + e.md.count - 1}` : String(e.md.first_seq));
    }
  table('t-md', [['protocol', (r) => r.protocol], ['session', (r) => r.name], ['gaps', (r) => r.gaps, 'n'],
    ['missing (seq)', (r) => (missing[r.name] || []).join(', ')], ['lost', (r) => r.lost, 'n'],
    ['A/B skew p99 µs', (r) => lat(r.feed_skew_us, 'p99'), 'n'],
    ['feed latency p99 µs', (r) => lat(r.latency_us, 'p99'), 'n'],
    ['each feed lost', (r) => (r.feeds || []).map((f) => `${f.name}: ${f.lost}`).join('; ')]], mdS);
  table('t-talkers', [['host', (r) => r.host], ['bytes', (r) => r.bytes, 'n'], ['packets', (r) => r.packets, 'n']],
    S.top_talkers || [], `the ${(S.top_talkers || []).length} busiest hosts (report.top_n)`);

  const sev = (e) => e.severity;
  const flowText = (f) => f ? `${f.src}:${f.sport} > ${f.dst}:${f.dport} ${f.proto}` : '';
  const detail = (e) => {
    for (const k of ['tcp', 'fix', 'md', 'ouch', 'failure', 'burst', 'saturated', 'handoff', 'alert', 'handshake',
      'anomaly', 'spike', 'payload_duplicate'])
      if (e[k]) return JSON.stringify(e[k]).slice(0, 160);
    return '';
  };
  const incCols = [['severity', (r) => r.severity, 'sev'], ['incident', (r) => r.key],
    ['events', (r) => r.events, 'n'], ['root cause', (r) => r.diagnosis.cause],
    ['narrative', (r) => (r.narrative ? r.narrative.text : '')]];
  const rank = { critical: 0, warn: 1, info: 2 };
  D.incidents.sort((a, b) => rank[a.severity] - rank[b.severity] || b.events - a.events);
  const incT = table('t-incidents', incCols, D.incidents, D.incidents_source ?
    `from ${D.incidents_source}` : 'incidents as ticktap enrich groups these events (rule-based root cause)', true);
  const flowT = table('t-flows', [['flow', (r) => flowText(r.flow)], ['packets', (r) => r.packets, 'n'],
    ['bytes', (r) => r.bytes, 'n'], ['anomalies', (r) => r.anomalies, 'n'], ['end', (r) => r.end_reason]],
    D.top_flows, `the ${D.top_flows.length} largest flows by bytes`, true);
  const evT = table('t-events', [['t (s)', (r) => +secs(r.ts_ns).toFixed(6), 'n'], ['severity', sev, 'sev'],
    ['type', (r) => r.type], ['flow', (r) => flowText(r.flow)], ['detail', detail]], D.events, '', true);

  /* ---- filters ------------------------------------------------------------------------- */
  const types = [...new Set(D.events.map((e) => e.type))].sort();
  $('f-type').innerHTML += types.map((t) => `<option>${esc(t)}</option>`).join('');
  const fields = ['f-ip', 'f-port', 'f-from', 'f-to', 'f-type', 'f-sev'].map($);
  function matchFlow(f, ip, port) {
    if (ip && (!f || (f.src !== ip && f.dst !== ip && !(f.src + ' ' + f.dst).includes(ip)))) return false;
    if (port && (!f || (String(f.sport) !== port && String(f.dport) !== port))) return false;
    return true;
  }
  function apply() {
    const ip = $('f-ip').value.trim(), port = $('f-port').value.trim();
    const from = $('f-from').value === '' ? -Infinity : +$('f-from').value;
    const to = $('f-to').value === '' ? Infinity : +$('f-to').value;
    const type = $('f-type').value, sv = $('f-sev').value;
    const inTime = (ns) => { const t = secs(ns); return t >= from && t <= to; };
    const ev = D.events.filter((e) => matchFlow(e.flow, ip, port) && inTime(e.ts_ns) &&
      (!type || e.type === type) && (!sv || e.severity === sv));
    evT.set(ev);
    flowT.set(D.top_flows.filter((r) => matchFlow(r.flow, ip, port) &&
      inTime(r.record.start_ns) && inTime(r.record.start_ns)));
    incT.set(D.incidents.filter((r) => (!sv || r.severity === sv) &&
      (!type || (r.counts && r.counts[type])) && inTime(r.first_ns) &&
      (!ip || (r.key + ' ' + (r.flow || '')).includes(ip)) && (!port || (r.key + ' ' + (r.flow || '')).includes(':' + port))));
    for (const c of charts) {
      if (!c.options.scales || !c.options.scales.x || c.options.scales.x.type !== 'linear') continue;
      c.options.scales.x.min = isFinite(from) ? from : undefined;
      c.options.scales.x.max = isFinite(to) ? to : undefined;
      c.update();
    }
    $('f-count').textContent = `${num(ev.length)} of ${num(D.events.length)} events shown`;
  }
  // the filters live in the address too (#ip=10.1.0.1&type=md.gap): a view can be shared
  const keys = ['ip', 'port', 'from', 'to', 'type', 'sev'];
  const params = new URLSearchParams(location.hash.slice(1));
  keys.forEach((k, i) => { if (params.has(k)) fields[i].value = params.get(k); });
  function remember() {
    const p = new URLSearchParams();
    keys.forEach((k, i) => { if (fields[i].value !== '') p.set(k, fields[i].value); });
    history.replaceState(null, '', p.toString() ? '#' + p.toString() : location.pathname);
  }
  fields.forEach((f) => f.addEventListener('input', () => { apply(); remember(); }));
  $('f-clear').addEventListener('click', () => { fields.forEach((f) => { f.value = ''; }); apply(); remember(); });
  apply();
  $('footer').textContent = `ticktap ${D.version} · report written ${D.written} · ` +
    `events: ${num(D.events_total)}, shown up to ${num(D.events_cap)} · charts: Chart.js ${Chart.version}`;
  document.body.dataset.loadMs = Math.round(performance.now());
  document.body.dataset.ready = '1';
})();
