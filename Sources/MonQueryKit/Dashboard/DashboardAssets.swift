import MonCore

// swift-format-ignore-file
/// The dashboard's style sheet and script, served from memory under `/ui/assets/` (no CDN,
/// works offline). The script only refreshes fragments every 5 s, pauses, and runs the live
/// log pane over Server-Sent Events; the pages work without it.
public enum DashboardAssets {
    public static let css = #"""
        :root {
          --bg: #111217; --panel: #181b1f; --panel2: #1f2329; --border: #2c3235; --text: #d8d9da; --muted: #9fa3a8;
          --ok: #73bf69; --warn: #ff9830; --crit: #f2495c; --none: #8e8e8e; --link: #6e9fff;
          --c1: #5794f2; --c2: #b877d9; --c3: #fade2a; --c4: #37c8c8; --c5: #ff7383; --c6: #8ab8ff;
          font-family: "Inter", "Segoe UI", "Helvetica Neue", Arial, sans-serif; font-size: 14px;
        }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--text); line-height: 1.4; }
        a { color: var(--link); text-decoration: none; }
        a:hover, a:focus { text-decoration: underline; }
        :focus-visible { outline: 2px solid var(--link); outline-offset: 2px; }
        code { font-family: "JetBrains Mono", "DejaVu Sans Mono", monospace; font-size: 12px; }
        .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; padding: 8px 16px;
          background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 2; }
        .brand { color: var(--text); font-weight: 600; font-size: 16px; white-space: nowrap; }
        .logo { color: var(--c1); }
        nav { display: flex; gap: 2px; flex-wrap: wrap; }
        nav a { color: var(--muted); padding: 6px 10px; border-radius: 4px; }
        nav a[aria-current="page"] { color: var(--text); background: var(--panel2); box-shadow: inset 0 -2px 0 var(--c1); }
        .controls { margin-left: auto; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
        .period { display: flex; align-items: center; gap: 6px; color: var(--muted); }
        select, input, button { font: inherit; color: var(--text); background: var(--panel2); border: 1px solid var(--border);
          border-radius: 4px; padding: 4px 8px; }
        button { cursor: pointer; }
        button:hover { border-color: var(--muted); }
        button[aria-pressed="true"] { background: #3d2f14; border-color: var(--warn); }
        .updated { color: var(--muted); font-size: 12px; }
        .period label { font-size: 12px; }
        .custom-range { color: var(--muted); font-size: 12px; }
        .custom-range summary { cursor: pointer; }
        .custom-range form { display: inline-flex; align-items: center; gap: 6px; flex-wrap: wrap; margin: 0; }
        .gauge-wrap .gauge { margin-top: 4px; }
        h3.sub { font-size: 13px; font-weight: 500; margin: 0 0 4px; color: var(--muted); }
        .logout { margin: 0; }
        .open-note { color: var(--warn); font-size: 12px; border: 1px solid var(--warn); border-radius: 4px; padding: 2px 6px; }
        .banner { margin: 12px 16px 0; padding: 8px 12px; border: 1px solid var(--warn); border-radius: 4px; background: #2a2216; }
        .health { display: inline-flex; gap: 6px; align-items: center; padding: 4px 10px; border-radius: 14px;
          border: 1px solid currentColor; font-weight: 600; white-space: nowrap; }
        .health-alerts { font-weight: 400; color: var(--text); font-size: 12px; }
        main { padding: 12px 16px 24px; }
        .page-title { font-size: 18px; font-weight: 500; margin: 4px 0 12px; }
        .period-note { color: var(--muted); font-size: 13px; font-weight: 400; }
        footer { color: var(--muted); font-size: 12px; padding: 8px 16px 16px; }
        .st-ok { color: var(--ok); } .st-warn { color: var(--warn); } .st-crit { color: var(--crit); } .st-none { color: var(--none); }
        .badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px;
          border: 1px solid currentColor; white-space: nowrap; }
        .cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; margin-bottom: 12px; }
        .card, .panel { background: var(--panel); border: 1px solid var(--border); border-radius: 4px; padding: 10px 12px; min-width: 0; }
        .card { border-top: 3px solid currentColor; color: var(--text); display: flex; flex-direction: column; }
        .card.st-ok { border-top-color: var(--ok); } .card.st-warn { border-top-color: var(--warn); }
        .card.st-crit { border-top-color: var(--crit); } .card.st-none { border-top-color: var(--none); }
        .card header { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
        .card h2, .panel h2 { font-size: 14px; font-weight: 600; margin: 0; color: var(--text); }
        .headline { margin: 6px 0 4px; }
        .big { font-size: 28px; font-weight: 500; letter-spacing: -0.5px; }
        .unit { color: var(--muted); }
        .figures { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 2px 12px; margin: 4px 0; }
        .figures div { display: flex; justify-content: space-between; gap: 6px; border-bottom: 1px dotted var(--border); padding: 2px 0; }
        .figures dt { color: var(--muted); } .figures dd { margin: 0; font-variant-numeric: tabular-nums; text-align: right; }
        .spark { margin-top: 6px; }
        .small-multiples.two { grid-template-columns: repeat(2, minmax(0, 1fr)); }
        .reasons { margin: 6px 0 0; padding-left: 18px; font-size: 12px; }
        .card.st-warn .reasons { color: var(--warn); } .card.st-crit .reasons { color: var(--crit); }
        .more { margin-top: auto; padding-top: 6px; font-size: 12px; align-self: flex-end; }
        .grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; margin-bottom: 12px; }
        .panel.wide { grid-column: 1 / -1; }
        .stack > .panel { margin-bottom: 12px; }
        .panel-head { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 8px; flex-wrap: wrap; }
        .small-multiples { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px 16px; }
        .chart { margin: 0; min-width: 0; }
        .chart h3 { font-size: 13px; font-weight: 500; margin: 0 0 4px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .chart h3 .meta { color: var(--muted); font-weight: 400; }
        .chart-svg { width: 100%; height: auto; display: block; }
        .grid line { stroke: var(--border); stroke-width: 1; }
        .axis { fill: var(--muted); font-size: 11px; font-family: inherit; }
        .line { fill: none; stroke-width: 1.8; stroke-linejoin: round; stroke-linecap: round; }
        .line-1 { stroke: var(--c1); } .line-2 { stroke: var(--c2); } .line-3 { stroke: var(--c3); }
        .line-4 { stroke: var(--c4); } .line-5 { stroke: var(--c5); } .line-6 { stroke: var(--c6); }
        .legend { list-style: none; display: flex; flex-wrap: wrap; gap: 2px 14px; padding: 0; margin: 4px 0 0; font-size: 12px; color: var(--muted); }
        .legend b { color: var(--text); font-weight: 500; font-variant-numeric: tabular-nums; }
        .swatch { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 5px; }
        .sw-1 { background: var(--c1); } .sw-2 { background: var(--c2); } .sw-3 { background: var(--c3); }
        .sw-4 { background: var(--c4); } .sw-5 { background: var(--c5); } .sw-6 { background: var(--c6); }
        .no-data { display: flex; align-items: center; justify-content: center; min-height: 120px; color: var(--muted);
          border: 1px dashed var(--border); border-radius: 4px; font-style: italic; }
        .no-data-small { min-height: 36px; font-size: 12px; }
        .gauge-wrap { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
        .gauge { width: 220px; max-width: 100%; height: auto; flex: none; }
        .gauge-track { fill: none; stroke: var(--panel2); stroke-width: 16; }
        .gauge-value { fill: none; stroke: currentColor; stroke-width: 16; }
        .gauge-text { fill: var(--text); font-size: 26px; font-weight: 500; }
        .gauge-label { fill: var(--muted); font-size: 13px; }
        .gauge-side { flex: 1; min-width: 200px; }
        .bar { fill: var(--c1); } .bar.st-ok { fill: var(--ok); } .bar.st-warn { fill: var(--warn); }
        .bar.st-crit { fill: var(--crit); } .bar.st-none { fill: var(--none); }
        code.redis-key { word-break: break-all; }
        .heat-cell { stroke: var(--bg); stroke-width: 1; } .heat-none { fill: var(--none); opacity: .15; }
        .heat-0 { fill: #1a7f37; } .heat-1 { fill: #73bf69; } .heat-2 { fill: #c8d96f; } .heat-3 { fill: #fade2a; }
        .heat-4 { fill: #ff9830; } .heat-5 { fill: #f2495c; }
        th a.sort { color: inherit; text-decoration: none; } th[aria-sort] a.sort { color: var(--text); }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: 13px; }
        th { text-align: left; color: var(--muted); font-weight: 500; border-bottom: 1px solid var(--border); padding: 4px 8px; white-space: nowrap; }
        td { border-bottom: 1px solid var(--panel2); padding: 4px 8px; vertical-align: top; }
        .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .query { font-family: "JetBrains Mono", "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-word; }
        details summary { cursor: pointer; color: var(--link); font-size: 12px; }
        pre { white-space: pre-wrap; word-break: break-word; background: var(--bg); border: 1px solid var(--border); border-radius: 4px;
          padding: 6px; font-size: 11px; max-height: 260px; overflow: auto; }
        .suggestion { color: var(--ok); font-size: 12px; }
        .alerts { list-style: none; padding: 0; margin: 0; display: grid; gap: 6px; }
        .alert { display: flex; gap: 10px; align-items: flex-start; padding: 6px 8px; border-left: 3px solid currentColor; background: var(--panel2); }
        .alert p { margin: 0; color: var(--text); }
        .alert-meta { color: var(--muted) !important; font-size: 12px; }
        .hint { font-size: 12px; color: var(--muted) !important; }
        .quiet { margin: 0; color: var(--muted); }
        .filters { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
        .filters label { color: var(--muted); font-size: 12px; }
        .log-tools { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; font-size: 12px; color: var(--muted); }
        .log-pane { height: 320px; overflow: auto; background: var(--bg); border: 1px solid var(--border); border-radius: 4px; margin-top: 8px; }
        body[data-section="logs"] .log-pane { height: 62vh; }
        .log-pane table { font-family: "JetBrains Mono", "DejaVu Sans Mono", monospace; font-size: 12px; }
        .log-pane td { border: 0; padding: 1px 8px; white-space: nowrap; }
        .log-pane td.msg { white-space: pre-wrap; word-break: break-word; width: 100%; }
        .waterfall-wrap { overflow-x: auto; } .waterfall { min-width: 800px; background: #fff; border-radius: 4px; }
        .legend { display: flex; flex-wrap: wrap; gap: .8em; font-size: .85em; } .trace-link { font-size: .85em; }
        .log-pane .ts { color: var(--muted); }
        .lvl { font-weight: 600; }
        .log-pane a.filter-link { color: inherit; text-decoration: none; } .log-pane a.filter-link:hover { text-decoration: underline; }
        .log-pane button { font-size: 11px; padding: 0 4px; margin-left: 2px; }
        .log-pane tr.log-detail td { white-space: normal; background: var(--panel); }
        .log-fields a { display: inline-block; margin: 2px 4px 2px 0; padding: 0 4px; border: 1px solid var(--border); border-radius: 3px; max-width: 40em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
        .log-json { margin: 4px 0; white-space: pre-wrap; word-break: break-word; max-height: 40vh; overflow: auto; }
        .lv-debug .lvl, .lv-trace .lvl { color: var(--muted); } .lv-info .lvl { color: var(--c1); }
        .lv-warning .lvl { color: var(--warn); } .lv-error .lvl, .lv-critical .lvl { color: var(--crit); }
        .lv-error, .lv-critical { background: rgba(242, 73, 92, 0.08); }
        body.standalone { display: flex; align-items: center; justify-content: center; min-height: 100vh; }
        .login { background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: 24px; width: 360px; max-width: 92vw; display: grid; gap: 10px; }
        .login h1 { font-size: 18px; margin: 0; }
        .login p { margin: 0; color: var(--muted); }
        .form-error { color: var(--crit) !important; }
        @media (max-width: 1100px) {
          .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
          .small-multiples { grid-template-columns: repeat(2, minmax(0, 1fr)); }
        }
        @media (max-width: 720px) {
          .cards, .grid, .small-multiples, .small-multiples.two { grid-template-columns: minmax(0, 1fr); }
          .controls { margin-left: 0; }
          header.top { position: static; }
          .figures { grid-template-columns: minmax(0, 1fr); }
          .log-pane td:nth-child(4) { display: none; }
        }
        """#

    public static let javascript = #"""
        // MnemoLite Monitoring: refresh every fragment every 5 s, pause, and the live log pane.
        (function () {
          'use strict';
          var REFRESH_MS = 5000;
          var paused = false;
          var pauseButton = document.getElementById('pause');
          var updated = document.getElementById('updated');
          var periodSelect = document.getElementById('period');
          if (periodSelect) {
            periodSelect.addEventListener('change', function () {
              // "Custom range" is the range already shown: open its form instead of leaving it.
              if (periodSelect.value === '') {
                var custom = document.querySelector('.custom-range');
                if (custom) custom.open = true;
                return;
              }
              periodSelect.form.submit();
            });
            var apply = periodSelect.form.querySelector('.apply');
            if (apply) apply.hidden = true;
          }
          function two(n) { return (n < 10 ? '0' : '') + n; }
          function clock(date) {
            return two(date.getUTCHours()) + ':' + two(date.getUTCMinutes()) + ':' + two(date.getUTCSeconds());
          }
          function refresh() {
            if (paused || document.hidden) return;
            fetch(location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
              .then(function (response) {
                if (response.redirected && response.url.indexOf('/ui/login') >= 0) { location.reload(); return null; }
                if (!response.ok) throw new Error('HTTP ' + response.status);
                return response.text();
              })
              .then(function (text) {
                if (text === null) return;
                var fresh = new DOMParser().parseFromString(text, 'text/html');
                fresh.querySelectorAll('[data-fragment]').forEach(function (element) {
                  if (element.hasAttribute('data-live')) return;
                  var current = document.getElementById(element.id);
                  if (current && !current.contains(document.activeElement)) {
                    current.replaceWith(document.importNode(element, true));
                  }
                });
                if (updated) updated.textContent = 'Updated ' + clock(new Date()) + ' UTC';
              })
              .catch(function (error) { if (updated) updated.textContent = 'Update failed (' + error.message + '), retrying'; });
          }
          setInterval(refresh, REFRESH_MS);
          if (pauseButton) {
            pauseButton.addEventListener('click', function () {
              paused = !paused;
              pauseButton.setAttribute('aria-pressed', paused ? 'true' : 'false');
              pauseButton.textContent = paused ? 'Resume' : 'Pause';
              if (updated && paused) updated.textContent = 'Paused';
              if (!paused) refresh();
            });
          }

          document.querySelectorAll('.log-pane[data-stream]').forEach(function (pane) {
            var panel = pane.closest('.panel');
            var body = pane.querySelector('tbody');
            var autoscroll = panel.querySelector('.log-autoscroll');
            var pause = panel.querySelector('.log-pause');
            var status = panel.querySelector('.log-status');
            var held = [];
            var holding = false;
            var MAX_ROWS = 1000;
            function cell(row, text, className) {
              var td = document.createElement('td');
              if (className) td.className = className;
              td.textContent = text;
              row.appendChild(td);
              return td;
            }
            function message(record) {
              var text = record.event || '';
              var fields = record.fields || {};
              Object.keys(fields).forEach(function (key) {
                var value = fields[key];
                if (value === null) return;
                text += ' ' + key + '=' + (typeof value === 'string' ? value : JSON.stringify(value));
              });
              return text.length > 400 ? text.slice(0, 399) + '…' : text;
            }
            // The logs page with this pane's filters and range, and name set to value (the
            // server renders its rows' links the same way).
            var filterBase = pane.getAttribute('data-filter-base') || '/ui/monitoring/logs';
            function filterURL(name, value) {
              var url = new URL(filterBase, location.href);
              url.searchParams.set(name, value);
              return url.pathname + url.search;
            }
            function filterLink(name, value, title) {
              var link = document.createElement('a');
              link.className = 'filter-link';
              link.href = filterURL(name, value);
              link.title = title;
              return link;
            }
            function button(className, text, title) {
              var b = document.createElement('button');
              b.type = 'button';
              b.className = className;
              b.textContent = text;
              b.title = title;
              return b;
            }
            function validTrace(value) {
              var trace = String(value || '').toLowerCase();
              return /^[0-9a-f]{32}$/.test(trace) && /[1-9a-f]/.test(trace) ? trace : null;
            }
            function append(record) {
              var row = document.createElement('tr');
              var level = String(record.level || 'info').toLowerCase();
              row.className = 'lv-' + level.replace(/[^a-z]/g, '');
              row.setAttribute('data-id', String(record.id || ''));
              row.logRecord = record;
              cell(row, clock(new Date(record.timestamp)), 'ts');
              var levelLink = filterLink('level', level, 'Only ' + level + ' and above');
              var span = document.createElement('span');
              span.className = 'lvl';
              span.textContent = level.toUpperCase();
              levelLink.appendChild(span);
              cell(row, '').appendChild(levelLink);
              var service = String(record.service || '');
              var serviceLink = filterLink('service', service, 'Only service ' + service);
              serviceLink.textContent = service;
              cell(row, '').appendChild(serviceLink);
              var host = String(record.host || '');
              var hostLink = filterLink('host', host, 'Only host ' + host);
              hostLink.textContent = host;
              cell(row, '').appendChild(hostLink);
              var msg = cell(row, message(record), 'msg');
              var trace = validTrace(record.trace_id);
              if (trace) {
                var link = document.createElement('a');
                link.className = 'trace-link';
                link.href = '/ui/monitoring/traces/' + trace;
                link.title = "This request's trace";
                link.textContent = 'trace';
                msg.appendChild(document.createTextNode(' '));
                msg.appendChild(link);
                var copy = button('copy-trace', 'copy id', 'Copy the trace id ' + trace);
                copy.setAttribute('data-trace', trace);
                msg.appendChild(document.createTextNode(' '));
                msg.appendChild(copy);
              }
              var expand = button('log-expand', 'JSON', 'The whole record as JSON, with its fields to filter on');
              expand.setAttribute('aria-expanded', 'false');
              msg.appendChild(document.createTextNode(' '));
              msg.appendChild(expand);
              body.appendChild(row);
              while (body.rows.length > MAX_ROWS) {
                var first = body.rows[0];
                var next = first.nextElementSibling;
                body.deleteRow(0);
                if (next && next.classList.contains('log-detail')) body.removeChild(next);
              }
            }
            // A row's whole record under it: the fields (and the trace) as filters, then the
            // JSON. Rows from the page are fetched by id; rows from the stream have it already.
            function detail(row, record) {
              var box = document.createElement('tr');
              box.className = 'log-detail';
              var td = document.createElement('td');
              td.colSpan = 5;
              box.appendChild(td);
              if (typeof record === 'string') {
                td.textContent = record;
                return box;
              }
              var chips = document.createElement('div');
              chips.className = 'log-fields';
              chips.appendChild(document.createTextNode('Filter on: '));
              function chip(name, value, label) {
                var link = filterLink(name, value, 'Only records with ' + label);
                link.textContent = label;
                chips.appendChild(link);
                chips.appendChild(document.createTextNode(' '));
              }
              var trace = validTrace(record.trace_id);
              if (trace) chip('trace_id', trace, 'trace_id=' + trace);
              if (record.event) chip('q', '"' + String(record.event).replace(/"/g, ' ') + '"', 'event=' + record.event);
              var fields = record.fields || {};
              Object.keys(fields).forEach(function (key) {
                var value = fields[key];
                if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return;
                var text = String(value);
                if (text === '' || text.length > 200) return;
                chip('q', '"' + text.replace(/"/g, ' ') + '"', key + '=' + text);
              });
              td.appendChild(chips);
              var pre = document.createElement('pre');
              pre.className = 'log-json';
              pre.textContent = JSON.stringify(record, null, 2);
              td.appendChild(pre);
              return box;
            }
            function copyText(text) {
              if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
              return new Promise(function (resolve, reject) {
                var area = document.createElement('textarea');
                area.value = text;
                area.setAttribute('readonly', '');
                area.style.position = 'fixed';
                area.style.opacity = '0';
                document.body.appendChild(area);
                area.select();
                var copied = false;
                try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
                document.body.removeChild(area);
                if (copied) resolve(); else reject(new Error('the browser refused to copy'));
              });
            }
            pane.addEventListener('click', function (event) {
              var copy = event.target.closest('.copy-trace');
              if (copy) {
                copyText(copy.getAttribute('data-trace')).then(
                  function () { copy.textContent = 'copied'; },
                  function () { copy.textContent = 'copy failed'; });
                setTimeout(function () { copy.textContent = 'copy id'; }, 3000);
                return;
              }
              var expand = event.target.closest('.log-expand');
              if (!expand) return;
              var row = expand.closest('tr');
              var open = row.nextElementSibling;
              if (open && open.classList.contains('log-detail')) {
                row.parentNode.removeChild(open);
                expand.setAttribute('aria-expanded', 'false');
                return;
              }
              function show(record) {
                var next = row.nextElementSibling;
                if (next && next.classList.contains('log-detail')) row.parentNode.removeChild(next);
                row.parentNode.insertBefore(detail(row, record), row.nextSibling);
                expand.setAttribute('aria-expanded', 'true');
              }
              if (row.logRecord) { show(row.logRecord); return; }
              var id = row.getAttribute('data-id');
              show('Loading the record…');
              fetch('/ui/monitoring/logs/' + encodeURIComponent(id), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
                .then(function (response) {
                  if (!response.ok) throw new Error('HTTP ' + response.status);
                  return response.json();
                })
                .then(function (record) { row.logRecord = record; show(record); })
                .catch(function (error) { show('Could not load record ' + id + ': ' + error.message + ' (reload the page if the session ended)'); });
            });
            function scroll() { if (!autoscroll || autoscroll.checked) pane.scrollTop = pane.scrollHeight; }
            scroll();
            if (!window.EventSource) { if (status) status.textContent = 'live stream not supported by this browser'; return; }
            var source = new EventSource(pane.getAttribute('data-stream'));
            source.addEventListener('open', function () { if (status) status.textContent = holding ? 'paused' : 'live'; });
            source.addEventListener('error', function () { if (status) status.textContent = 'reconnecting…'; });
            source.addEventListener('log', function (event) {
              var record;
              try { record = JSON.parse(event.data); } catch (e) { return; }
              if (holding) { held.push(record); if (status) status.textContent = 'paused, ' + held.length + ' new'; return; }
              append(record);
              scroll();
            });
            source.addEventListener('dropped', function () { if (status) status.textContent = 'live (some records skipped: too fast)'; });
            if (pause) {
              pause.addEventListener('click', function () {
                holding = !holding;
                pause.setAttribute('aria-pressed', holding ? 'true' : 'false');
                pause.textContent = holding ? 'Resume' : 'Pause';
                if (!holding) { held.forEach(append); held = []; scroll(); }
                if (status) status.textContent = holding ? 'paused' : 'live';
              });
            }
          });
        })();
        """#
}
