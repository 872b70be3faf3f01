// Who is signed in: the dashboard's sign-in page (user name and password,
// POST /v1/login), the person shown with their roles (at the end of the tabs' row), signing
// out, and what the person's permissions let the page show and offer. The
// session itself is an HttpOnly cookie the browser keeps; this module keeps
// only the session's CSRF token (for api()'s writes) and the answer of
// GET /v1/me. It decides nothing the server does not decide again: a part
// hidden here is also refused by HQ's guard (docs/SECURITY.md).
//
// Its texts are the catalogue's (i18n.js), in the page's language.

import {api, clear, el, fmtDuration, setCsrfToken} from './util.js';
import {has, t} from './i18n.js';

const $ = (id) => document.getElementById(id);

// A role as people read it; the API's names (hqd/auth/roles.h) are the
// keys, and a role this page does not know shows as its name.
export const roleLabel = (role) => (has(`role.${role}`) ? t(`role.${role}`) : role);

// A scope as GET /v1/me writes it: "network", "region/C001", "hall/B01".
function scopeLabel(scope) {
  if (!scope || scope === 'network') return t('scope.network');
  const [kind, id] = scope.split('/');
  if (kind === 'region') return t('scope.region', {id});
  if (kind === 'hall') return t('scope.hall', {id});
  return scope;
}

export function roleText(r) {
  return t('auth.roleIn', {role: roleLabel(r.role), scope: scopeLabel(r.scope)});
}

// The person signed in: GET /v1/me's answer, or null.
export const session = {
  me: null,
  // Set while a sign-out is under way: a 401 that another request gets
  // meanwhile is the sign-out's doing, not a session that ended.
  signingOut: false,
  // Whether the person holds `perm` anywhere (the guard still checks where).
  can(perm) {
    return !!this.me && Array.isArray(this.me.permissions) &&
      this.me.permissions.some((p) => p.permission === perm);
  },
};

// Who the browser is signed in as: {status, me}. 401 means nobody (the
// sign-in page is shown); 0 means HQ did not answer. `asked`: the answer of
// a GET /v1/me already sent (prefetch.js), instead of asking again.
export async function whoAmI(asked) {
  const r = await (asked || api('/v1/me', {quiet401: true}));
  if (r.status === 200 && r.body) {
    session.me = r.body;
    setCsrfToken(r.body.csrf_token);
  }
  return {status: r.status, me: r.status === 200 ? r.body : null};
}

// ---- the sign-in page

const SIGNIN_ERRORS = {401: 'auth.wrong', 415: 'auth.badRequest', 503: 'auth.unavailable'};

function signinError(r) {
  if (r.status === 429) {
    const after = Number(r.headers && r.headers.get('retry-after'));
    const s = Number.isFinite(after) && after > 0 ? after : null;
    return s ? t('auth.throttledFor', {time: fmtDuration(s)}) : t('auth.throttled');
  }
  if (r.status === 0) return t('auth.unreachable');
  if (SIGNIN_ERRORS[r.status]) return t(SIGNIN_ERRORS[r.status]);
  return r.body && r.body.reason
    ? t('auth.failedWhy', {status: r.status, why: r.body.reason})
    : t('auth.failed', {status: r.status});
}

// Shows the sign-in page (and hides the dashboard) until someone signs in,
// then resolves with GET /v1/me's answer. `note` says why it is shown
// (a session that ended, a sign-out).
export function showSignIn(note) {
  document.body.dataset.auth = 'out';
  const form = $('signin-form');
  const name = $('signin-name');
  const password = $('signin-password');
  const submit = $('signin-submit');
  const error = $('signin-error');
  $('signin').hidden = false;
  $('signin-note').textContent = note || '';
  error.textContent = '';
  password.value = '';
  (name.value ? password : name).focus();
  return new Promise((resolve) => {
    const onSubmit = async (e) => {
      e.preventDefault();
      error.textContent = '';
      if (!name.value.trim() || !password.value) {
        error.textContent = t('auth.enterBoth');
        return;
      }
      submit.disabled = true;
      form.setAttribute('aria-busy', 'true');
      const r = await api('/v1/login', {
        method: 'POST', body: {name: name.value.trim(), password: password.value}, quiet401: true,
      });
      submit.disabled = false;
      form.removeAttribute('aria-busy');
      password.value = '';
      if (r.status !== 200 || !r.body) {
        error.textContent = signinError(r);
        password.focus();
        return;
      }
      form.removeEventListener('submit', onSubmit);
      session.me = r.body;
      setCsrfToken(r.body.csrf_token);
      $('signin').hidden = true;
      resolve(r.body);
    };
    form.addEventListener('submit', onSubmit);
  });
}

// ---- the header: who is signed in, and signing out

// Shows the person and their roles in the header and wires the sign-out
// button; `onSignedOut` runs after HQ ended the session.
export function showPerson(me, onSignedOut) {
  document.body.dataset.auth = 'in';
  $('me-name').textContent = me.name;
  const roles = $('me-roles');
  clear(roles);
  for (const r of me.roles || []) {
    roles.append(el('li', {data: {role: r.role, scope: r.scope || ''}, text: roleText(r)}));
  }
  const out = $('signout');
  // A token (not a browser session) cannot be signed out from the page:
  // it is revoked with hqd users token.
  out.hidden = me.via !== 'session';
  out.onclick = async () => {
    out.disabled = true;
    session.signingOut = true;
    const r = await api('/v1/logout', {method: 'POST', body: {}, quiet401: true});
    out.disabled = false;
    // 401: the session had ended anyway.
    if (r.status === 200 || r.status === 401) {
      session.me = null;
      setCsrfToken(null);
      onSignedOut();
    } else {
      session.signingOut = false;
      $('me-error').textContent = t('auth.signOutFailed', {status: r.status || t('app.noAnswer')});
    }
  };
}
