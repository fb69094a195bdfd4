"""infra/swa_routes.py: renders frontend/staticwebapp.config.json (docs/protocols.md#route-rules)
into nginx.

Output (into the instance's nginx directory):
  http.d/swa_routes.conf   maps: request -> rule, fallback exclusions, try_files candidates
  server.d/static.conf     `location /` and one internal location per rule

How a static request flows:
  location /            saves the path in $swa_path, asks the volatile map $swa_rule for the first
                        matching rule (routes in order; `route` and `methods` take part) and
                        rewrites to /.swa/<rule>
  location /.swa/rN     internal: allowedRoles -> auth_request to the auth program
                        (/.chatr/auth/check answers 204, 401 or 403), then the rule's action:
                        redirect, rewrite (an internal redirect: the target's own rules apply),
                        statusCode, or serve the file; headers = globalHeaders + the rule's
  @swa_fallback         no such file: navigationFallback (unless excluded), else 404
  @swa_override_NNN     responseOverrides for 400/401/403/404 (redirect, rewrite, statusCode)

Matching (docs/protocols.md#route-rules): an exact route matches that path; a route ending in
/index.html also matches its folder with and without the trailing slash (so "/index.html" protects
"/", but "/" does not protect "/index.html"); a wildcard route is a glob (`*` any characters,
`{a,b}` alternatives). Matching is case-insensitive. Routes under /api/ and /.auth/ are not static
and are ignored here (function roles come from function.json). Not supported: mimeTypes, statusCode
together with rewrite (the rewrite wins), .referrer encoding beyond the raw request path.
"""
import json
import os
import re

ROUTE_CHARS = re.compile(r"^/[A-Za-z0-9/_.\-~*{},@+]*$")
ROLE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
OVERRIDE_CODES = ("400", "401", "403", "404")
REDIRECT_CODES = {301, 302, 303, 307, 308}
PASS_THROUGH = ("/api/", "/.auth/")


class ConfigError(SystemExit):
    pass


def fail(where, msg):
    raise ConfigError(f"emulator: staticwebapp.config.json: {where}: {msg}")


def literal(s):
    """A regex matching s literally, without backslashes (they are awkward in nginx strings)."""
    out = ""
    for c in s:
        out += c if re.fullmatch(r"[A-Za-z0-9/_\-~@,]", c) else f"[{c}]"
    return out


def glob_regex(pattern, where):
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out += ".*"
        elif c == "{":
            j = pattern.find("}", i)
            if j < 0:
                fail(where, f"unclosed '{{' in {pattern!r}")
            out += "(?:" + "|".join(literal(a) for a in pattern[i + 1:j].split(",")) + ")"
            i = j
        else:
            out += literal(c)
        i += 1
    return out


def path_regex(route, where):
    """The regex (without anchors) of the request paths a route matches."""
    if not isinstance(route, str) or not ROUTE_CHARS.match(route):
        fail(where, f"route {route!r} must start with / and use only URL path characters")
    if "*" in route:
        return glob_regex(route, where)
    alts = [route]
    if route.endswith("/index.html"):
        folder = route[:-len("index.html")]
        alts += [folder] + ([folder.rstrip("/")] if folder.rstrip("/") else [])
    return "(?:" + "|".join(literal(a) for a in alts) + ")"


def quote(value, where):
    if not isinstance(value, str) or re.search(r'[\x00-\x1f\x7f"\\$]', value):
        fail(where, f"{value!r}: use a string without quotes, backslashes, '$' or control characters")
    return f'"{value}"'


def site_path(value, where):
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        fail(where, f"{value!r} must be a site-relative path")
    return value


def header_lines(global_headers, route_headers, where):
    merged = dict(global_headers)
    for k, v in (route_headers or {}).items():
        merged = {mk: mv for mk, mv in merged.items() if mk.lower() != k.lower()}
        merged[k] = v
    lines = []
    for name, value in merged.items():
        if not HEADER_NAME.match(name):
            fail(where, f"header name {name!r}")
        if value != "":  # "" removes a global header
            lines.append(f"add_header {name} {quote(value, where)} always;")
    return lines


def roles_of(rule, where):
    roles = rule.get("allowedRoles")
    if roles is None:
        return None
    if not isinstance(roles, list) or not all(isinstance(r, str) and ROLE.match(r) for r in roles):
        fail(where, "allowedRoles must be a list of names of [A-Za-z0-9_]")
    return None if "anonymous" in roles or not roles else roles


def indent(lines, n=4):
    return [" " * n + line for line in lines]


class Renderer:
    def __init__(self, config, frontend_dir):
        if not isinstance(config, dict):
            fail("top level", "must be a JSON object")
        self.cfg = config
        self.frontend = frontend_dir
        self.globals = config.get("globalHeaders") or {}
        if not isinstance(self.globals, dict):
            fail("globalHeaders", "must be an object")
        self.overrides = config.get("responseOverrides") or {}
        self.maps, self.locations = [], []

    def common(self, where, route_headers=None):
        """Lines every generated location carries: headers and the override error pages."""
        lines = header_lines(self.globals, route_headers, where)
        for code in OVERRIDE_CODES:
            if code in self.overrides:
                o = self.overrides[code]
                if "rewrite" in o and "redirect" not in o:
                    status = o.get("statusCode")
                    eq = f"={int(status)} " if status else ""
                    lines.append(f"error_page {code} {eq}{site_path(o['rewrite'], 'responseOverrides')};")
                else:
                    lines.append(f"error_page {code} = @swa_override_{code};")
        return lines

    def override_locations(self):
        for code, o in self.overrides.items():
            where = f"responseOverrides.{code}"
            if code not in OVERRIDE_CODES or not isinstance(o, dict):
                fail(where, f"only {', '.join(OVERRIDE_CODES)} with an object are supported")
            if "rewrite" in o and "redirect" not in o:
                continue  # an error_page URI, see common()
            body = ["absolute_redirect off;"] + header_lines(self.globals, None, where)
            if "redirect" in o:
                status = int(o.get("statusCode", 302))
                if status not in REDIRECT_CODES:
                    status = 302
                target = quote(site_path(o["redirect"], where), where).replace(".referrer", "$swa_referrer")
                body.append(f"return {status} {target};")
            elif "statusCode" in o:
                body.append(f"return {int(o['statusCode'])};")
            else:
                fail(where, "needs redirect, rewrite or statusCode")
            self.locations.append(f"location @swa_override_{code} {{\n" + "\n".join(indent(body)) + "\n}")

    def rule_location(self, i, rule):
        where = f"routes[{i}] ({rule.get('route')!r})"
        name = f"r{i}"
        body = ["internal;", f"root {self.frontend};", "absolute_redirect off;"]
        roles = roles_of(rule, where)
        if roles:
            body += [f'set $swa_roles "{",".join(roles)}";', "auth_request /.chatr/auth/check;"]
        body += self.common(where, rule.get("headers"))
        named = None
        if "redirect" in rule:
            status = int(rule.get("statusCode", 302))
            if status not in REDIRECT_CODES:
                fail(where, f"statusCode {status} is not a redirect")
            named = f"return {status} {quote(site_path(rule['redirect'], where), where)};"
        elif "rewrite" in rule:
            body.append(f"try_files /.swa-none {site_path(rule['rewrite'], where)};")
        elif "statusCode" in rule and int(rule["statusCode"]) != 200:
            named = f"return {int(rule['statusCode'])};"
        else:
            body.append("try_files $swa_try1 $swa_try2 @swa_fallback;")
        if named:
            # After the access phase (auth_request) comes try_files: the action runs only then.
            body.append(f"try_files /.swa-none @swa_{name}_action;")
            action = ["absolute_redirect off;"] + self.common(where, rule.get("headers")) + [named]
            self.locations.append(f"location @swa_{name}_action {{\n" + "\n".join(indent(action)) + "\n}")
        route = rule.get("route")
        comment = f"# {where}: roles {','.join(roles) if roles else 'anonymous'}"
        self.locations.append(f"{comment}\nlocation = /.swa/{name} {{\n" + "\n".join(indent(body)) + "\n}")
        return route

    def render(self):
        routes = self.cfg.get("routes") or []
        if not isinstance(routes, list):
            fail("routes", "must be a list")
        entries = ['"~*^[A-Z]+:/staticwebapp[.]config[.]json$" notfound;  # never served']
        for i, rule in enumerate(routes):
            where = f"routes[{i}]"
            if not isinstance(rule, dict) or "route" not in rule:
                fail(where, "needs a route")
            if rule["route"].startswith(PASS_THROUGH):
                continue
            methods = rule.get("methods")
            if methods is not None:
                methods = [m.upper() for m in methods]
                if not methods or any(m not in METHODS for m in methods):
                    fail(where, f"methods {methods}")
                method_re = "(?:" + "|".join(methods + (["HEAD"] if "GET" in methods and "HEAD" not in methods else [])) + ")"
            else:
                method_re = "[A-Z]+"
            regex = path_regex(rule["route"], where)
            self.rule_location(i, rule)
            entries.append(f'"~*^{method_re}:{regex}$" r{i};  # {rule["route"]}')
        self.override_locations()
        self.maps.append("map \"$request_method:$swa_path\" $swa_rule {\n    volatile;\n"
                         + "\n".join(indent(entries)) + "\n    default files;\n}")
        # try_files candidates: the file itself, then its folder's index.html.
        self.maps.append('map $swa_path $swa_try1 {\n    volatile;\n    "~/$" "${swa_path}index.html";\n'
                         '    default $swa_path;\n}')
        self.maps.append('map $swa_path $swa_try2 {\n    volatile;\n    "~/$" "${swa_path}index.html";\n'
                         '    default "${swa_path}/index.html";\n}')
        # .referrer in override redirects: the request's path as the client sent it (encoded).
        self.maps.append('map $request_uri $swa_referrer {\n    "~^(?<p>[^?]*)" $p;\n    default /;\n}')
        self.fallback()
        self.locations.append("location = /.swa/files {\n" + "\n".join(indent(
            ["internal;", f"root {self.frontend};", "absolute_redirect off;"] + self.common("files")
            + ["try_files $swa_try1 $swa_try2 @swa_fallback;"])) + "\n}")
        self.locations.append("location = /.swa/notfound {\n" + "\n".join(indent(
            ["internal;", f"root {self.frontend};"] + self.common("notfound")
            + ["try_files /.swa-none @swa_notfound;"])) + "\n}")
        self.locations.append("location @swa_notfound {\n" + "\n".join(indent(
            self.common("notfound") + ["return 404;"])) + "\n}")
        entry = ("# Every static request: remember the path, pick the first matching rule.\n"
                 "location / {\n    set $swa_path $uri;\n    set $swa_roles \"\";\n"
                 "    rewrite ^ /.swa/$swa_rule last;\n}")
        header = "# Generated by infra/swa_routes.py from frontend/staticwebapp.config.json; do not edit.\n"
        return header + "\n".join(self.maps) + "\n", header + "\n\n".join([entry] + self.locations) + "\n"

    def fallback(self):
        nav = self.cfg.get("navigationFallback")
        body = ["absolute_redirect off;"] + self.common("navigationFallback")
        if nav:
            where = "navigationFallback"
            if not isinstance(nav, dict) or "rewrite" not in nav:
                fail(where, "needs rewrite")
            excl = nav.get("exclude") or []
            if not isinstance(excl, list):
                fail(where, "exclude must be a list")
            entries = []
            for p in excl:
                if not isinstance(p, str) or not ROUTE_CHARS.match(p):
                    fail(where, f"exclude {p!r}")
                entries.append(f'"~*^{glob_regex(p, where)}$" 1;')
            self.maps.append("map $swa_path $swa_fallback_excluded {\n    volatile;\n"
                             + "\n".join(indent(entries)) + "\n    default 0;\n}")
            # The rewrite is an internal redirect, so the target's own route rules apply.
            body += ["if ($swa_fallback_excluded) {\n        return 404;\n    }",
                     f"rewrite ^ {site_path(nav['rewrite'], where)} last;"]
        else:
            body.append("return 404;")
        self.locations.append("location @swa_fallback {\n" + "\n".join(indent(body)) + "\n}")


def render(root, nginx_dir, values):
    """Writes http.d/swa_routes.conf and server.d/static.conf for this instance."""
    frontend = values["FRONTEND_DIR"]
    path = os.path.join(root, "frontend", "staticwebapp.config.json")
    config = {}
    if os.path.exists(path):
        with open(path) as f:
            try:
                config = json.load(f)
            except ValueError as e:
                raise ConfigError(f"emulator: {path}: {e}")
    http, server = Renderer(config, frontend).render()
    with open(os.path.join(nginx_dir, "http.d", "swa_routes.conf"), "w") as f:
        f.write(http)
    with open(os.path.join(nginx_dir, "server.d", "static.conf"), "w") as f:
        f.write(server)
