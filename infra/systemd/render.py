#!/usr/bin/python3
"""infra/systemd/render.py: renders Chatr's systemd units for `make install`.

    render.py <repo> <out> NAME=VALUE...

Writes into <out>: one socket and one service unit per FastCGI program (every functions/<name>/
function.json: chatr-fn-<name>; every gateway/<name>/program.json: chatr-<name>), each with the
pool size from its declaration, plus chatr-setup, chatr-migrate, chatr-log-redactor, chatr-nginx,
chatr.target listing them all, and chatr.sysusers / chatr.tmpfiles / chatr.env. The NAME=VALUE
pairs are the install paths (LIBEXECDIR, SHAREDIR, ...) that replace @NAME@ in the templates.
An unknown placeholder is an error, so a template can never ship with one left in it.
docs/deployment.md explains the layout.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import nginx_render  # noqa: E402  (infra/nginx_render.py: the same @NAME@ templates)


def fill(text, values, where):
    return nginx_render.substitute(text, values, where, who="render.py")


def template(name):
    with open(os.path.join(HERE, name)) as f:
        return f.read()


def programs(repo):
    """[(unit, binary, name, pool)] of every function and gateway program, from their declarations
    (the same list infra/emulator and infra/deploy use)."""
    out = []
    for kind, decl_name, prefix in (("functions", "function.json", "fn-"), ("gateway", "program.json", "")):
        base = os.path.join(repo, kind)
        for d in sorted(os.listdir(base)):
            path = os.path.join(base, d, decl_name)
            if not os.path.exists(path):
                continue
            with open(path) as f:
                pool = json.load(f).get("pool", 2)
            if not isinstance(pool, int) or not 1 <= pool <= 256:
                raise SystemExit(f"render.py: {path}: pool is 1..256")
            out.append((f"chatr-{prefix}{d}", f"{prefix}{d}", d, pool))
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    repo, out = argv[1], argv[2]
    values = dict(a.split("=", 1) for a in argv[3:])
    os.makedirs(out, exist_ok=True)
    progs = programs(repo)
    services = [f"{u}.service" for u, *_ in progs]
    sockets = [f"{u}.socket" for u, *_ in progs]
    values["PROGRAMS"] = " ".join(services + ["chatr-nginx.service"])
    values["SOCKETS"] = " ".join(sockets)
    values["WANTS"] = " ".join(["chatr-setup.service", "chatr-migrate.service"] + sockets + services
                               + ["chatr-log-redactor.service", "chatr-nginx.service"])
    values["COMMON"] = "\n".join(l for l in fill(template("common.conf"), values, "common.conf").splitlines()
                                 if not l.startswith("#"))
    files = {}
    for unit, binary, name, pool in progs:
        v = dict(values, UNIT=unit, BASENAME=binary, NAME=name, POOL=pool)
        files[f"{unit}.socket"] = fill(template("chatr-pool.socket.in"), v, "chatr-pool.socket.in")
        files[f"{unit}.service"] = fill(template("chatr-pool.service.in"), v, "chatr-pool.service.in")
    for name in ("chatr.target", "chatr-setup.service", "chatr-migrate.service",
                 "chatr-log-redactor.service", "chatr-nginx.service", "chatr.sysusers",
                 "chatr.tmpfiles", "chatr.env"):
        files[name] = fill(template(name + ".in"), values, name + ".in")
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
