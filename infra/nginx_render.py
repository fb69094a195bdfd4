"""infra/nginx_render.py: renders the nginx configuration of one emulator instance.

Templates live in gateway/nginx/: nginx.conf.in (the frame), http.d/*.conf.in (http-level:
maps, upstreams) and server.d/*.conf.in (locations). Placeholders are @NAME@. The /api/<function>
locations are generated from functions/*/function.json, the declarations of the functions; those
declared "internal" go to internal.d/, which only the internal unix-socket server includes.
"""
import ipaddress
import json
import os
import re

import swa_routes

PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
ROUTE_PARAM = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\??\}")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def nchan_shm():
    """nchan's shared memory (messages in flight, channels, IPC between workers):
    CHATR_NCHAN_SHM, an nginx size such as 512M. Pages are touched only when used."""
    v = os.environ.get("CHATR_NCHAN_SHM", "512M")
    if not re.fullmatch(r"[1-9][0-9]{0,5}[kKmMgG]?", v):
        raise SystemExit(f"CHATR_NCHAN_SHM={v!r}: expected a size such as 512M")
    return v


def real_ip(env=None):
    """realip directives for CHATR_TRUSTED_PROXIES (gateway/nginx/http.d/realip.conf.in), plus
    env.extra_proxies (a node behind the emulator's balancer trusts loopback)."""
    items = re.split(r"[\s,]+", os.environ.get("CHATR_TRUSTED_PROXIES", "").strip())
    items += list(getattr(env, "extra_proxies", ()))
    lines = []
    for item in filter(None, items):
        try:
            lines.append(f"set_real_ip_from {ipaddress.ip_network(item, strict=False)};")
        except ValueError:
            raise SystemExit(f"CHATR_TRUSTED_PROXIES: {item!r} is not an address or CIDR")
    if lines:
        lines += ["real_ip_header X-Forwarded-For;", "real_ip_recursive on;"]
    return "\n".join(lines) or "# (no trusted proxies)"


# CHATR_REDIS_URL: one Redis server, or a Redis Cluster's seed nodes, comma- or space-separated
# (docs/scale-out.md#redis-mode): redis://[:password@]host:port[/db], or host:port.
REDIS_ITEM = re.compile(r"(?:redis://(?::(?P<pw>[A-Za-z0-9._~!*+-]{1,256})@)?)?"
                        r"(?P<host>[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])"
                        r":(?P<port>[0-9]{1,5})(?:/(?P<db>[0-9]{1,2}))?")
REDIS_UPSTREAM = "chatr_redis"


def redis_servers(env):
    """The Redis servers nchan uses (CHATR_REDIS_URL, or env.redis_url), checked: [] when unset."""
    value = getattr(env, "redis_url", None)
    if value is None:
        value = os.environ.get("CHATR_REDIS_URL", "")
    out = []
    for item in filter(None, re.split(r"[\s,]+", value.strip())):
        m = REDIS_ITEM.fullmatch(item)
        if not m or not 0 < int(m.group("port")) < 65536:
            raise SystemExit(f"CHATR_REDIS_URL: {item!r} is not redis://[:password@]host:port[/db]"
                             " or host:port")
        out.append(item if item.startswith("redis://") else f"redis://{item}")
    return out


def redis(env):
    """(http-level upstream, the line each nchan location gets) for CHATR_REDIS_URL."""
    servers = redis_servers(env)
    if not servers:
        return "# (no CHATR_REDIS_URL: nchan keeps its channels in this node's memory)", \
            "# (nchan in memory: no CHATR_REDIS_URL)"
    lines = [f"upstream {REDIS_UPSTREAM} {{"]
    lines += [f"    nchan_redis_server {u};" for u in servers]
    # counts per nginx, checked against Redis' own view of who is connected: a node killed with
    # -9 stops counting at once (the default, fast counts would keep its subscribers forever)
    lines += ["    nchan_redis_accurate_subscriber_count on;", "}"]
    return "\n".join(lines), f"nchan_redis_pass {REDIS_UPSTREAM};"


def own_channel_buffer(env):
    """Messages an own channel keeps until its socket subscribes (docs/nchan.md#first-message).
    Every delivery to a socket is stored in its channel too, so this times the sockets is most of
    nchan's shared memory under load: with 16, groups of 10 at 4,000 in/s ran it out and lost
    most messages; with 8 they passed (tests/bench/run.py). It bounds how many messages may reach
    a connection between its registration and its subscription (milliseconds) before its
    `connected` is pushed out: group sends only in memory mode, where hub and user sends go
    through shared channels; those too with Redis (docs/scale-out.md), hence 16 there."""
    return 16 if redis_servers(env) else 8


def gate_module(root):
    """Our nginx module, the frame gate (gateway/nginx/module), as `make` builds it."""
    return os.path.join(root, "build", "modules", "ngx_http_chatr_gate_module.so")


# TLS settings (docs/tls.md): TLSv1.2 and 1.3 only; for 1.2, forward-secret AEAD suites only
# (Mozilla's "intermediate" list without DHE, which nginx only offers with a dhparam file).
TLS_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
               "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
               "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
HSTS_MAX_AGE = 31536000  # one year; no includeSubDomains: other hosts of the domain are not ours


def listen(env):
    """The listen directive: CHATR_LISTEN (env.listen, an ipaddress) on CHATR_PORT; with a
    certificate, TLS and HTTP/2 on the same port. HTTP/2 is for the page and its files: nginx
    does not offer WebSockets over HTTP/2 (RFC 8441), so browsers open a WebSocket on a
    connection of its own that asks ALPN for http/1.1, and nchan gets its usual upgrade."""
    addr = getattr(env, "listen", "127.0.0.1")
    host = f"[{addr}]" if ":" in str(addr) else str(addr)
    tls = " ssl http2" if getattr(env, "tls_cert", None) else ""
    return f"listen {host}:{env.port}{tls};"


def tls(env):
    """The public server's TLS settings, or a comment when it serves plain http."""
    cert, key = getattr(env, "tls_cert", None), getattr(env, "tls_key", None)
    if not cert:
        return "# plain http (no CHATR_TLS_CERT)"
    for path in (cert, key):
        if any(c in ";{}\"'$" or c.isspace() for c in path):
            raise SystemExit(f"emulator: TLS file name {path!r}: ; {{ }} $ quotes and spaces are not allowed")
    return "\n        ".join([
        f"ssl_certificate {cert};",
        f"ssl_certificate_key {key};",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        f"ssl_ciphers {TLS_CIPHERS};",
        "ssl_prefer_server_ciphers off;",
        "ssl_session_cache shared:chatr_tls:10m;",
        "ssl_session_timeout 1d;",
        # tickets would need their key rotated (nginx keeps one per start): the cache is enough
        "ssl_session_tickets off;",
        # headers_more, not add_header: add_header is not inherited by a location that has one
        # of its own (static.conf's global headers, Retry-After), headers_more's directives are.
        f'more_set_headers "Strict-Transport-Security: max-age={HSTS_MAX_AGE}";',
        # plain http to this port (nginx's 497): sent to the same path on the public origin
        f"error_page 497 =301 {getattr(env, 'url', '')}$request_uri;",
    ])


def substitute(text, values, where, who="emulator"):
    """text with every @NAME@ replaced by values[NAME]; an unknown placeholder ends the program
    (who: the program's name in that message, where: the template's)."""
    def repl(m):
        if m.group(1) not in values:
            raise SystemExit(f"{who}: {where}: unknown placeholder @{m.group(1)}@")
        return str(values[m.group(1)])
    return PLACEHOLDER.sub(repl, text)


def fcgi_keepalive(root, program, decl=None):
    """`keepalive N;` for the upstream of a FastCGI pool (http.d/hub_upstreams.conf.in): the idle
    connections each nginx worker keeps open to it. A libfcgi process serves one connection at a
    time and stays with one nginx keeps, so all workers' idle connections together stay below
    the pool's size (CHATR_POOL, else its program.json, as infra/deploy reads it) and one process
    at least takes new connections; nothing (no keepalive) when the pool is too small for that
    (docs/performance.md#keeping-fastcgi-connections-open)."""
    pool = os.environ.get("CHATR_POOL")
    if not pool:
        with open(decl or os.path.join(root, "gateway", program, "program.json")) as f:
            pool = json.load(f).get("pool", 2)
    workers = int(os.environ.get("CHATR_NGINX_WORKERS", "1") or 1)
    n = (int(pool) - 1) // max(workers, 1)
    # keepalive_timeout: a stopping process serves its kept connections until nginx closes them
    # (gateway/runtime/fn.c, fn_accept_any), so an idle one closed after 3 s bounds a restart's
    # drain, as for hub-router (http.d/hub_router.conf.in)
    return (f"keepalive {n}; keepalive_timeout 3s;" if n >= 1
            else "# no keepalive: the pool is too small for the workers")


def route_regex(route):
    """Azure Functions route template ('chats/{id}/messages') -> nginx location regex."""
    out, pos = "", 0
    for m in ROUTE_PARAM.finditer(route):
        out += re.escape(route[pos:m.start()]).replace("\\/", "/")
        out += f"(?<r_{m.group(1)}>[^/]+)"
        pos = m.end()
    out += re.escape(route[pos:]).replace("\\/", "/")
    return f"^/api/{out}/?$", ROUTE_PARAM.findall(route)


def function_upstream(root, values, name, path):
    """A function's pool as an upstream whose connections nginx keeps open between requests
    (docs/performance.md#the-functions-connections): a call then costs no socket, connect,
    accept, shutdown and close. A function process serves the one connection nginx keeps
    (fn_accept, gateway/runtime/fn.c), so a request on it never waits behind another one, and
    fcgi_keepalive leaves at least one process of the pool to take new connections."""
    return "\n".join([
        f"# {name}: its pool, {path}",
        f"upstream fn_{name} {{",
        # one server: nginx never marks it down (a pool that is away answers 502 -> 503)
        f"    server unix:{values['RUN_DIR']}/fn-{name}.sock max_fails=0;",
        f"    {fcgi_keepalive(root, name, path)}",
        "    keepalive_requests 100000;",
        "}"])


def function_locations(root, values):
    """One location per declared route of every function: (public server, internal server,
    upstreams).

    A function declared "internal": true (the hub's event handler) is served only by the
    internal server on the unix socket (http.d/hub.conf.in); the public server answers its
    routes with 403 (docs/webhooks.md)."""
    blocks, internal_blocks, upstreams = [], [], []
    fdir = os.path.join(root, "functions")
    for name in sorted(os.listdir(fdir)):
        path = os.path.join(fdir, name, "function.json")
        if not os.path.exists(path):
            continue
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise SystemExit(f"emulator: functions/{name}: function names are [A-Za-z0-9_-]")
        with open(path) as f:
            decl = json.load(f)
        upstreams.append(function_upstream(root, values, name, path))
        routes = decl.get("route", name)
        routes = [routes] if isinstance(routes, str) else routes
        methods = [m.upper() for m in decl.get("methods", ["GET"])]
        bad = [m for m in methods if m not in METHODS]
        if bad:
            raise SystemExit(f"emulator: {path}: unknown methods {bad}")
        roles = decl.get("allowedRoles", ["anonymous"])
        if not all(re.fullmatch(r"[A-Za-z0-9_]+", r) for r in roles):
            raise SystemExit(f"emulator: {path}: role names are [A-Za-z0-9_]")
        max_body = int(decl.get("maxBody", 65536))
        internal = decl.get("internal", False)
        if not isinstance(internal, bool):
            raise SystemExit(f"emulator: {path}: internal is true or false")
        for route in routes:
            regex, params = route_regex(route.strip("/"))
            if internal:
                blocks.append("\n".join([
                    f"# {name}: {route}: internal (the hub reaches it on the unix socket only)",
                    f"location ~ {regex} {{",
                    "    default_type application/json;",
                    f"    return 403 '{{\"error\":\"{name} is called by the hub only\"}}\\n';",
                    "}"]))
            lines = [f"# {name}: {route} ({', '.join(methods)}; roles {', '.join(roles)})",
                     f"location ~ {regex} {{",
                     f"    client_max_body_size {max(max_body, 1)};",
                     "    include chatr_internal_api.conf;" if internal else "    include chatr_api.conf;",
                     f"    fastcgi_param FN_NAME {name};",
                     f"    fastcgi_param FN_METHODS \"{','.join(methods)}\";",
                     f"    fastcgi_param FN_ROLES \"{','.join(roles)}\";",
                     f"    fastcgi_param FN_MAX_BODY {max_body};"]
            lines += [f"    fastcgi_param ROUTE_{p} $r_{p};" for p in params]
            lines += [f"    fastcgi_pass fn_{name};", "}"]
            (internal_blocks if internal else blocks).append("\n".join(lines))
    return ("\n\n".join(blocks) + "\n", "\n\n".join(internal_blocks) + "\n",
            "\n\n".join(upstreams) + "\n")


def render(root, env, is_root):
    gw = os.path.join(root, "gateway", "nginx")
    values = {
        "PORT": env.port,
        "STATE_DIR": env.state,
        "RUN_DIR": env.run,
        "LOG_DIR": env.logs,
        # where the access log goes: a file in the emulator; the journal (syslog) in a production
        # install, where infra/systemd/chatr-nginx sets env.access_log (docs/deployment.md)
        "ACCESS_LOG": getattr(env, "access_log", None) or os.path.join(env.logs, "access.log"),
        "NGINX_DIR": env.nginx,
        "ROOT": root,
        "FRONTEND_DIR": getattr(env, "frontend", None) or os.path.join(root, "frontend"),
        "GATEWAY_DIR": os.path.join(root, "gateway"),
        # Never root: started as root, the workers run as the emulator's system user, which can
        # reach the FastCGI sockets and the front end (infra/emulator, docs/operations.md).
        "USER": f"user {getattr(env, 'nginx_user', 'chatr')};" if is_root else "",
        # One worker by default: nchan hands every message between workers through shared memory
        # and pipes, and on 2 cores one worker moved twice the group messages of two at a
        # fraction of the latency (tests/bench, README "Performance").
        "WORKERS": os.environ.get("CHATR_NGINX_WORKERS", "1"),
        "NCHAN_SHM": nchan_shm(),
        "REAL_IP": real_ip(env),
        "GATE_MODULE": gate_module(root),
        "LISTEN": listen(env),
        "REDIS_UPSTREAM": redis(env)[0],
        "REDIS_PASS": redis(env)[1],
        "OWN_CHANNEL_BUFFER": own_channel_buffer(env),
        "TLS": tls(env),
        "HUB_REST_KEEPALIVE": fcgi_keepalive(root, "hub-rest"),
    }
    for d in ("http.d", "server.d", "internal.d", "tmp"):
        os.makedirs(os.path.join(env.nginx, d), exist_ok=True)
    for sub in ("http.d", "server.d", "internal.d"):
        for stale in os.listdir(os.path.join(env.nginx, sub)):
            os.unlink(os.path.join(env.nginx, sub, stale))
    outputs = {"nginx.conf": os.path.join(gw, "nginx.conf.in")}
    for name in os.listdir(gw):
        if name.endswith(".conf.in") and name != "nginx.conf.in":
            outputs[name[:-3]] = os.path.join(gw, name)
    for sub in ("http.d", "server.d"):
        sdir = os.path.join(gw, sub)
        for name in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
            if name.endswith(".conf.in"):
                outputs[os.path.join(sub, name[:-3])] = os.path.join(sdir, name)
    for out, src in outputs.items():
        with open(src) as f:
            text = substitute(f.read(), values, src)
        with open(os.path.join(env.nginx, out), "w") as f:
            f.write(text)
    public, internal, upstreams = function_locations(root, values)
    with open(os.path.join(env.nginx, "http.d", "functions.conf"), "w") as f:
        f.write(upstreams)
    with open(os.path.join(env.nginx, "server.d", "functions.conf"), "w") as f:
        f.write(public)
    # included by the internal server only (http.d/hub.conf.in)
    with open(os.path.join(env.nginx, "internal.d", "functions.conf"), "w") as f:
        f.write(internal)
    swa_routes.render(root, env.nginx, values)  # static routes from frontend/staticwebapp.config.json


def render_balancer(root, env, ports, is_root):
    """The load balancer's nginx.conf (gateway/nginx/balancer/nginx.conf.in) in env.nginx: on
    CHATR_LISTEN:CHATR_PORT (TLS there when set), spreading over the nodes on loopback ports."""
    src = os.path.join(root, "gateway", "nginx", "balancer", "nginx.conf.in")
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in ports)
    values = {
        "USER": f"user {getattr(env, 'nginx_user', 'chatr')};" if is_root else "",
        "RUN_DIR": env.run,
        "NGINX_DIR": env.nginx,
        "LISTEN": listen(env),
        "TLS": tls(env),
        "SERVERS": servers,
    }
    os.makedirs(os.path.join(env.nginx, "tmp"), exist_ok=True)
    with open(src) as f:
        text = substitute(f.read(), values, src)
    with open(os.path.join(env.nginx, "nginx.conf"), "w") as f:
        f.write(text)
