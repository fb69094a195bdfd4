// login.js: lists the site's OpenID Connect providers on the sign-in page (GET /.auth/providers,
// answered by gateway/auth), and hides the development sign-in when the server has it off.
// Provider names are set as text, never as markup. The page works without this script: guest
// and local accounts are plain forms.
async function listProviders() {
  let list;
  try {
    const r = await fetch('/.auth/providers', { headers: { Accept: 'application/json' } });
    if (!r.ok) return;
    list = await r.json();
  } catch {
    return; // the other ways to sign in are still there
  }
  const names = Array.isArray(list.openIdConnect) ? list.openIdConnect : [];
  const nav = document.getElementById('oidc-providers');
  for (const name of names) {
    if (typeof name !== 'string') continue;
    const a = document.createElement('a');
    a.href = `/.auth/login/${encodeURIComponent(name)}`;
    a.textContent = name;
    a.dataset.provider = name;
    nav.append(a);
  }
  document.getElementById('oidc').hidden = nav.childElementCount === 0;
  if (Array.isArray(list.development) && list.development.length === 0)
    document.getElementById('dev').hidden = true;
}

listProviders();
