// The charting library for the views that draw charts (reports.js,
// typical.js, trends.js): Debian's Chart.js, which hqd serves as /chart.min.js from
// its install path (the `chartjs` setting). It is loaded once, when a view
// first needs it, so that the live board's first load does not wait for
// it. Without it (not installed) the views show their tables only. Also
// what the small chart views (typical.js, trends.js) share: the colours,
// their reset for another subject and their fetch.

import {getJSON, routeMissing} from './util.js';

let loading = null;

// Resolves to the Chart constructor, or null when the file is not served.
export function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((resolve) => {
      const s = document.createElement('script');
      s.src = 'chart.min.js';
      s.onload = () => {
        const C = window.Chart || null;
        // Charts drawn at once: figures that change are drawn again, and a
        // test or a screenshot sees the final picture.
        if (C) {
          C.defaults.animation = false;
          C.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
        }
        resolve(C);
      };
      s.onerror = () => resolve(null);
      document.head.append(s);
    });
  }
  return loading;
}

// The colours of the series, the same in every chart.
export const SERIES = {
  issued: '#5b8def', served: '#2e9e5b', p50: '#e0a210', p90: '#d6332c', satisfaction: '#7b4fc9',
  typical: '#8a98a8', good: '#2e9e5b', bad: '#d6332c',
};

// A small chart view `v` (as below, with `chart` and `summary`) made ready
// for another subject, which its section's data-`key` names (`value`): the
// last answer and chart dropped, the summary emptied, the note saying
// `waiting` until the answer is drawn.
export function resetChartView(v, key, value, waiting) {
  v.fetched = 0;
  v.body = null;
  if (v.chart) v.chart.destroy();
  v.chart = null;
  v.summary.textContent = '';
  v.note.textContent = waiting;
  v.section.dataset[key] = value;
  delete v.section.dataset.loaded;
}

// One fetch of a small chart view `v` (typical.js, trends.js): an object
// with `note`, `box`, `section`, `body`, `inflight`, `fetched` and
// `_draw(body, Chart)`. The answer of `path` is drawn while `current()`
// says the view still wants it; else the note says why not (`notServed`
// when hqd has no such route, `failed(why)` otherwise).
export async function fetchChartView(v, path, current, notServed, failed) {
  v.inflight = true;
  v.fetched = Date.now();
  try {
    const [r, Chart] = await Promise.all([getJSON(path), loadChart()]);
    if (!current()) return;
    if (r.status !== 200 || !r.body) {
      v.note.textContent = routeMissing(r) ? notServed : failed((r.body && r.body.reason) || r.status);
      v.box.hidden = true;
      return;
    }
    v.body = r.body;
    v._draw(r.body, Chart);
    v.section.dataset.loaded = 'true';
  } finally {
    v.inflight = false;
  }
}
