// Who is signed in: the dashboard's sign-in page (user name and password,
// POST /v1/login), the person shown with their roles (at the end of the tabs' row), signing
// out, and what the person's permissions let the page show and offer. The
// session itself is an HttpOnly cookie the browser keeps; this module keeps
// only the session's CSRF token (for api()'s writes) and the answer of
// GET /v1/me. It decides nothing the server does not decide again: a part
// hidden here is also refused by HQ's guard (docs/SECURITY.md).
//
// Texts are Chinese first, then English, as head-office staff read them.

import {api, clear, el, setCsrfToken} from './util.js';

const $ = (id) => document.getElementById(id);

// Role names as people read them ([Chinese, English]); the API's names
// (hqd/auth/roles.h) are the keys.
export const ROLE_LABEL = {
  admin: ['管理员', 'admin'],
  operator: ['运营值班', 'operator'],
  marketer: ['营销', 'marketer'],
  reviewer: ['审核', 'reviewer'],
  policy_editor: ['政策编辑', 'policy editor'],
  analyst: ['分析', 'analyst'],
  viewer: ['只读', 'viewer'],
};

// A scope as GET /v1/me writes it: "network", "region/C001", "hall/B01".
function scopeLabel(scope) {
  if (!scope || scope === 'network') return '全网 whole network';
  const [kind, id] = scope.split('/');
  if (kind === 'region') return `区域 region ${id}`;
  if (kind === 'hall') return `网点 hall ${id}`;
  return scope;
}

export function roleText(r) {
  const label = ROLE_LABEL[r.role] || [r.role, r.role];
  return `${label[0]} ${label[1]} · ${scopeLabel(r.scope)}`;
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
// sign-in page is shown); 0 means HQ did not answer.
export async function whoAmI() {
  const r = await api('/v1/me', {quiet401: true});
  if (r.status === 200 && r.body) {
    session.me = r.body;
    setCsrfToken(r.body.csrf_token);
  }
  return {status: r.status, me: r.status === 200 ? r.body : null};
}

// ---- the sign-in page

const SIGNIN_ERRORS = {
  401: '用户名或密码错误。Wrong user name or password.',
  415: '浏览器发送的请求不被接受。The browser sent a request HQ does not take.',
  503: '总部暂时无法登录,请稍后再试。Head office cannot sign anyone in now; try again shortly.',
};

function signinError(r) {
  if (r.status === 429) {
    const after = Number(r.headers && r.headers.get('retry-after'));
    const s = Number.isFinite(after) && after > 0 ? after : null;
    return s
      ? `登录失败次数过多,请 ${s} 秒后再试。Too many failed sign-ins; try again in ${s} s.`
      : '登录失败次数过多,请稍后再试。Too many failed sign-ins; try again shortly.';
  }
  if (r.status === 0) return '无法连接总部。Head office cannot be reached.';
  return SIGNIN_ERRORS[r.status] ||
    `登录失败(${r.status})。Signing in failed (${r.status})${r.body && r.body.reason ? `: ${r.body.reason}` : ''}.`;
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
        error.textContent = '请输入用户名和密码。Enter your user name and password.';
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
      $('me-error').textContent = `退出失败(${r.status || '无应答'})。Signing out failed (${r.status || 'no answer'}).`;
    }
  };
}
