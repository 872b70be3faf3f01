// The page's first requests, sent as soon as this module and api.js are
// in: who is signed in (GET /v1/me, unless hqd wrote its answer into the
// page) and, for a person who may read the
// live network, the snapshot's first page of tiles and the region
// aggregates. They are answered while the other modules and the catalogues
// of texts load and run, instead of after (app.js takes the answers for
// its first load; docs/DASHBOARD.md, "The first paint"). It imports only
// api.js; index.html runs it as a script of its own (async), and app.js
// imports it first, the same module either way. Nothing else
// is asked here: a person without the permission asks for no tiles, and a
// page not signed in for nothing but GET /v1/me.

import {api, getJSON, served} from './api.js';

export const PAGE = 20000; // tiles per request of the snapshot

// hqd wrote the session's GET /v1/me answer into the page (api.js: served)
// when the request carried one: nothing is asked before the tiles then. A
// page served without it (no cookie: signed out, or a SameSite=Strict
// cookie not sent on a navigation from another site) asks.
const me = served.me && typeof served.me === 'object'
  ? Promise.resolve({status: 200, body: served.me, headers: null})
  : api('/v1/me', {quiet401: true});

// The same test as auth.js's session.can(), on the answer itself.
const mayReadLive = (body) => !!body && Array.isArray(body.permissions) &&
  body.permissions.some((p) => p.permission === 'live.read');

// GET /v1/me was answered before these were asked, so its server_started
// is of the server they come from (or of one before it: then the stream
// tells the restart, as after any load).
const snapshot = me.then((r) => (r.status === 200 && mayReadLive(r.body)
  ? {regions: getJSON('/v1/regions'), firstPage: getJSON(`/v1/live/halls?offset=0&limit=${PAGE}`)}
  : null));

const taken = {me: false, snapshot: false};

// GET /v1/me's answer as api() gives it, the first time it is asked for;
// null after (each later question is a new request).
export function firstMe() {
  if (taken.me) return null;
  taken.me = true;
  return me;
}

// {regions, firstPage}, promises of the answers, for the first load after
// the first GET /v1/me; null when none was asked or it was taken already.
export async function firstSnapshot() {
  if (taken.snapshot) return null;
  taken.snapshot = true;
  return snapshot;
}
