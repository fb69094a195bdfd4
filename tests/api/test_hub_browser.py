"""A real browser against the hub (issue 3): Chromium opens
`new WebSocket(url, 'json.webpubsub.azure.v1')` and gets the `connected` frame. Browsers abort a
handshake whose 101 does not echo the subprotocol exactly (docs/nchan.md#the-subprotocol-header),
which Python clients tolerate. Driven by playwright-core from frontend/node_modules (make deps) with
Debian's Chromium; the page is on the emulator's own origin, which the hub allows."""
import json
import os
import shutil
import subprocess

import pytest

from hubtools import PROTO, client_token

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = "/usr/bin/chromium"
PLAYWRIGHT = os.path.join(ROOT, "frontend", "node_modules", "playwright-core")

SCRIPT = r"""
const pw = require(process.env.PLAYWRIGHT);
(async () => {
  const browser = await pw.chromium.launch({executablePath: process.env.CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run']});
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(process.env.PAGE);
    const got = await page.evaluate(([url, proto]) => new Promise((resolve) => {
      const ws = new WebSocket(url, proto);
      const t = setTimeout(() => resolve({error: 'timeout'}), 10000);
      ws.onmessage = (e) => { clearTimeout(t); resolve({protocol: ws.protocol, first: JSON.parse(e.data)}); ws.close(); };
      ws.onerror = () => { clearTimeout(t); resolve({error: 'websocket error (handshake refused?)'}); };
    }), [process.env.WS_URL, process.env.PROTO]);
    console.log(JSON.stringify(got));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.log(JSON.stringify({error: String(e)})); process.exit(1); });
"""


def test_a1_chromium_opens_the_hub_with_the_subprotocol(chatr, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("/usr/bin/chromium is not installed (make deps)")
    node = shutil.which("node")
    assert node and os.path.isdir(PLAYWRIGHT), "node and frontend/node_modules/playwright-core (make deps)"
    ws_url = chatr.url.replace("http", "ws", 1) + "/client/hubs/chat?access_token=" + \
        client_token(chatr, user="u-browser")
    script = tmp_path / "ws.js"
    script.write_text(SCRIPT)
    env = dict(os.environ, PLAYWRIGHT=PLAYWRIGHT, CHROMIUM=CHROMIUM, PAGE=chatr.url + "/login.html",
               WS_URL=ws_url, PROTO=PROTO, HOME=str(tmp_path))
    r = subprocess.run([node, str(script)], env=env, capture_output=True, text=True, timeout=90)
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert "error" not in got, (got, r.stderr[-2000:])
    assert got["protocol"] == PROTO
    assert got["first"]["type"] == "system" and got["first"]["event"] == "connected"
    assert got["first"]["userId"] == "u-browser" and len(got["first"]["connectionId"]) == 32
