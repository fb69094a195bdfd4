// api.js: the HTTP calls of docs/protocols.md#http-calls (/.auth/me, /api/users, /api/chats,
// /api/getToken) and the chat history (/api/chats/{id}/messages).

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new HttpError(res.status, `${path}: HTTP ${res.status}`);
  return res.json();
}

// The signed-in user's principal, or null when signed out.
export async function getMe() {
  const body = await getJson('/.auth/me');
  return body.clientPrincipal || null;
}

// {userId: {userId, userName, userProvider, idle}} of the users online now.
export async function getUsers() {
  const body = await getJson('/api/users');
  const users = body.users || {};
  for (const [id, u] of Object.entries(users)) u.userId = u.userId || id;
  return users;
}

// {chatId: {id, name, members, owner}} of the chats this user can see.
export async function getChats() {
  const body = await getJson('/api/chats');
  return body.chats || {};
}

// A page of a chat's stored messages: {value: [envelope, ...] newest first, more: boolean}.
// query: {before, after, limit} (ids; history paging: docs/protocols.md#history).
export async function getMessages(chatId, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
  const body = await getJson(`/api/chats/${encodeURIComponent(chatId)}/messages?${params}`);
  return { value: Array.isArray(body.value) ? body.value : [], more: body.more === true };
}

// {token, baseUrl, url}: a fresh Web PubSub client URL for the signed-in user.
export async function getToken(userId) {
  return getJson(`/api/getToken?userId=${encodeURIComponent(userId)}`);
}

export const LOGIN_PAGE = '/login.html';
export const LOGOUT_URL = '/.auth/logout?post_logout_redirect_uri=/login.html';
