// api.js: the HTTP calls of docs/protocols.md#http-calls (/.auth/me, /api/users, /api/chats,
// /api/getToken), the chat history (/api/chats/{id}/messages), search (/api/search) and file
// uploads (/api/chats/{id}/files) of docs/chat-features.md.

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

// The server's own words for a refusal ({"error": "..."}), or the status alone.
async function errorOf(res, what) {
  let detail = '';
  try {
    const body = await res.json();
    if (typeof body?.error === 'string') detail = body.error.slice(0, 200);
  } catch {
    // not JSON (nginx's own pages)
  }
  return new HttpError(res.status, detail ? `${what}: ${detail}` : `${what}: HTTP ${res.status}`);
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

export const SEARCH_QUERY_MAX = 200; // characters (the server refuses longer)

// Full-text search over the user's chats, newest first:
// {value: [{chatId, id, time, fromUserId, fromUserName, text, highlight}], more}.
export async function search(q, { chatId, before } = {}) {
  const params = new URLSearchParams({ q });
  if (chatId) params.set('chatId', chatId);
  if (before !== undefined && before !== null) params.set('before', String(before));
  const res = await fetch(`/api/search?${params}`, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw await errorOf(res, 'Search failed');
  const body = await res.json();
  return { value: Array.isArray(body.value) ? body.value : [], more: body.more === true };
}

// Uploads a file into a chat (multipart, field `file`); onProgress(fraction) as it goes.
// Resolves to {id, url, name, size, contentType}; rejects with an HttpError whose message
// says why (too large, over quota, type not allowed).
export function uploadFile(chatId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/chats/${encodeURIComponent(chatId)}/files`);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable && onProgress) onProgress(ev.loaded / ev.total);
    };
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // nginx's own error pages are HTML
      }
      if (xhr.status === 201 || xhr.status === 200) return resolve(body || {});
      const detail = typeof body?.error === 'string' ? body.error.slice(0, 200) : '';
      const why = xhr.status === 413 ? 'the file is too large' : detail || `HTTP ${xhr.status}`;
      reject(new HttpError(xhr.status, detail && xhr.status === 413 ? `${why} (${detail})` : why));
    };
    xhr.onerror = () => reject(new HttpError(0, 'the upload was cut off (too large, or the connection dropped)'));
    const form = new FormData();
    form.append('file', file, file.name || 'pasted-file');
    xhr.send(form);
  });
}

export const LOGIN_PAGE = '/login.html';
export const LOGOUT_URL = '/.auth/logout?post_logout_redirect_uri=/login.html';
