"""Files in chats (docs/files.md): POST /api/chats/{id}/files (multipart, field `file`) and
GET /api/files/{id}[?thumb=1], through nginx with real multipart uploads: the round trip, members
only, sizes and the quota, types decided on the content (disguised HTML, SVG, a polyglot), the
headers that keep a browser from running a file, thumbnails (and the decompression-bomb guard),
malformed multipart bodies, and files going with their chat."""
import json
import os
import re
import struct
import uuid
import zlib

import pytest
import requests

from chattools import wait_for
from conftest import ROOT


def policy_constant(name):
    """A #define of functions/files/files_policy.h, evaluated (integer arithmetic only)."""
    with open(os.path.join(ROOT, "functions", "files", "files_policy.h")) as f:
        text = f.read()
    defs = dict(re.findall(r"^#define (FILES_\w+) (.+?)(?:\s*/\*.*)?$", text, re.M))
    expr = defs[name]
    for _ in range(5):
        expr = re.sub(r"FILES_\w+", lambda m: f"({defs[m.group(0)]})", expr)
    return eval(expr.replace("LL", "").replace("L", ""), {})


MAX_BYTES = policy_constant("FILES_MAX_BYTES")
QUOTA = policy_constant("FILES_QUOTA_BYTES")
THUMB = policy_constant("FILES_THUMB_SIZE")


def png(width, height, bit_depth=8, color_type=2, fill=b"\x00"):
    """A valid PNG made here (zlib + CRCs, no imaging library): every row filter 0, one fill."""
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    row_bytes = (width * channels * bit_depth + 7) // 8
    raw = (b"\x00" + fill * row_bytes) * height if len(fill) == 1 else None

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def webp_size(data):
    """(width, height) of a WebP image (VP8, VP8L or VP8X)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:16]
    kind = data[12:16]
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L":
        b = int.from_bytes(data[21:25], "little")
        return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
    assert kind == b"VP8X", kind
    return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1


def upload(person, cid, name, data, ctype="application/octet-stream"):
    return person.session.post(f"{person.chatr.url}/api/chats/{cid}/files",
                               files={"file": (name, data, ctype)}, timeout=60)


def raw_upload(person, cid, body, content_type):
    return person.session.post(f"{person.chatr.url}/api/chats/{cid}/files", data=body,
                               headers={"Content-Type": content_type}, timeout=60)


def fetch(person, url, **kw):
    return person.session.get(person.chatr.url + url, timeout=60, allow_redirects=False, **kw)


def stored(chatr, file_id):
    return chatr.sql("SELECT count(*) FROM chatr.files WHERE id = :'p1'", file_id)[0][0] == "1"


# ---- the declaration agrees with the code ---------------------------------------------------

def test_function_json_max_body_is_the_policy_limit():
    with open(os.path.join(ROOT, "functions", "files", "function.json")) as f:
        decl = json.load(f)
    assert decl["maxBody"] == policy_constant("FILES_MAX_BODY")
    assert decl["maxBody"] == MAX_BYTES + policy_constant("FILES_MULTIPART_OVERHEAD")
    with open(os.path.join(ROOT, "schema", "014_files.sql")) as f:
        assert f"size BETWEEN 1 AND {MAX_BYTES}" in f.read()


# ---- round trip and headers -----------------------------------------------------------------

def test_upload_and_download_round_trip_with_safe_headers(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    image = png(64, 32, fill=b"\x0d")  # \r\n and \x1a in the signature: binary safe or not
    r = upload(alice, cid, "Holiday \u00e9t\u00e9 1;x.png", image, "text/html")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"id", "url", "name", "size", "contentType"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["url"] == f"/api/files/{body['id']}" == r.headers["Location"]
    assert body["name"] == "Holiday \u00e9t\u00e9 1;x.png"
    assert body["size"] == len(image)
    assert body["contentType"] == "image/png"  # from the content, not the client's text/html
    assert (body["width"], body["height"]) == (64, 32)
    for who in (alice, bob):
        g = fetch(who, body["url"])
        assert g.status_code == 200, g.text
        assert g.content == image
        assert g.headers["Content-Type"] == "image/png"
        assert g.headers["X-Content-Type-Options"] == "nosniff"
        assert g.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert g.headers["Cache-Control"] == "private, no-cache"
        assert "no-store" not in g.headers["Cache-Control"]
        disp = g.headers["Content-Disposition"]
        assert disp.startswith("inline; filename=\"Holiday _t_ 1;x.png\"; ")
        assert disp.endswith("filename*=UTF-8''Holiday%20%C3%A9t%C3%A9%201%3Bx.png")
    # revalidation: the same ETag answers 304 without the bytes, to members only
    etag = g.headers["ETag"]
    g = fetch(bob, body["url"], headers={"If-None-Match": etag})
    assert g.status_code == 304 and g.content == b""
    h = bob.session.head(chatr.url + body["url"], timeout=10)
    assert h.status_code == 200 and int(h.headers["Content-Length"]) == len(image)


def test_text_is_an_attachment_whatever_name_and_type_the_client_gives(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    text = "caf\u00e9 notes\r\nline two\n".encode()
    r = upload(alice, cid, "notes.png", text, "image/png")
    assert r.status_code == 201, r.text
    assert r.json()["contentType"] == "text/plain; charset=utf-8"
    assert "thumbUrl" not in r.json()
    g = fetch(alice, r.json()["url"])
    assert g.status_code == 200 and g.content == text
    assert g.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert g.headers["Content-Disposition"].startswith("attachment; filename=\"notes.png\"")
    assert fetch(alice, r.json()["url"] + "?thumb=1").status_code == 404


def test_pdf_is_accepted_as_an_attachment(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
           b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    r = upload(alice, cid, "report.pdf", pdf)
    assert r.status_code == 201, r.text
    assert r.json()["contentType"] == "application/pdf"
    g = fetch(alice, r.json()["url"])
    assert g.content == pdf and g.headers["Content-Disposition"].startswith("attachment;")


def test_display_names_are_sanitised(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    cases = {
        "../../etc/passwd.txt": "passwd.txt",
        "C:\\Users\\me\\x.txt": "x.txt",
        "evil\u202egnp.txt": "evilgnp.txt",        # a right-to-left override: gone
        "  .hidden.txt  ": "hidden.txt",
        "": "file",
        "a" * 300 + ".txt": "a" * 196 + ".txt",    # cut to 200 characters, extension kept
    }
    for sent, shown in cases.items():
        r = upload(alice, cid, sent, b"plain text\n")
        assert r.status_code == 201, (sent, r.text)
        assert r.json()["name"] == shown, sent


# ---- who may upload and read ----------------------------------------------------------------

def test_members_only(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    r = upload(alice, cid, "a.txt", b"for members\n")
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert fetch(bob, url).status_code == 403                 # not a member
    assert fetch(bob, url + "?thumb=1").status_code == 403
    assert upload(bob, cid, "b.txt", b"hi\n").status_code == 403
    assert requests.get(chatr.url + url, timeout=10, allow_redirects=False).status_code == 401
    assert requests.post(f"{chatr.url}/api/chats/{cid}/files", files={"file": ("c.txt", b"x\n")},
                         timeout=10, allow_redirects=False).status_code == 401
    bob.join(cid)
    assert fetch(bob, url).status_code == 200
    # a form on another site posting with the member's browser (the browser says so)
    for site, status in (("cross-site", 403), ("same-site", 403), ("same-origin", 201)):
        r = bob.session.post(f"{chatr.url}/api/chats/{cid}/files", files={"file": ("d.txt", b"x\n")},
                             headers={"Sec-Fetch-Site": site}, timeout=10)
        assert r.status_code == status, (site, r.text)
    _, ack = bob.event("leaveChat", {"chatId": cid})
    assert ack["success"], ack
    assert fetch(bob, url).status_code == 403                 # left: no longer


def test_unknown_ids_and_chats_are_404(chatr, people):
    alice = people("Alice")
    for fid in ("0" * 32, "nope", "A" * 32, "0" * 33):
        assert fetch(alice, f"/api/files/{fid}").status_code == 404, fid
    assert upload(alice, "no-such-chat", "a.txt", b"x\n").status_code == 404
    assert alice.session.get(f"{chatr.url}/api/chats/x/files", timeout=10).status_code == 405
    assert alice.session.post(f"{chatr.url}/api/files/{'0' * 32}", timeout=10).status_code == 405


# ---- sizes and quota ------------------------------------------------------------------------

def test_too_large(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    r = upload(alice, cid, "big.txt", b"a" * (MAX_BYTES + 1))  # within nginx's limit: ours
    assert r.status_code == 413, r.text
    assert "larger than" in r.json()["error"]
    r = upload(alice, cid, "bigger.txt", b"a" * (MAX_BYTES + 200 * 1024))  # nginx's
    assert r.status_code == 413
    r = upload(alice, cid, "fits.txt", b"a" * MAX_BYTES)
    assert r.status_code == 201, r.text
    assert r.json()["size"] == MAX_BYTES
    assert r.json()["contentType"].startswith("text/plain")


def test_empty_file_is_refused(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    r = upload(alice, cid, "empty.txt", b"")
    assert r.status_code == 400 and "empty" in r.json()["error"]


def test_quota_per_user(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    # Alice's earlier uploads, made in the database (the bytes compress to almost nothing):
    # 19 files of MAX_BYTES, then what is left of the quota is less than 2 more.
    chatr.sql("INSERT INTO chatr.files (id, chat_id, uploader, name, content_type, size, data) "
              "SELECT md5(:'p1' || g), :'p2', :'p1', 'old.txt', 'text/plain', :'p3', "
              "convert_to(repeat('a', :'p3'), 'SQL_ASCII') FROM generate_series(1, 19) g",
              alice.uid, cid, MAX_BYTES)
    left = QUOTA - 19 * MAX_BYTES
    assert 0 < left < 2 * MAX_BYTES
    first = upload(alice, cid, "a.txt", b"a" * (left // 2))
    assert first.status_code == 201, first.text
    r = upload(alice, cid, "b.txt", b"b" * (left // 2 + 1024))
    assert r.status_code == 507, r.text
    assert "quota" in r.json()["error"]
    assert upload(bob, cid, "b.txt", b"b" * (left // 2 + 1024)).status_code == 201  # Bob's own
    chatr.sql("DELETE FROM chatr.files WHERE uploader = :'p1' AND name = 'old.txt'", alice.uid)
    assert upload(alice, cid, "b.txt", b"b" * (left // 2 + 1024)).status_code == 201


# ---- types: decided on the content, markup refused ------------------------------------------

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>\n')


@pytest.mark.parametrize("name,data,ctype", [
    ("cat.png", HTML, "image/png"),
    ("cat.jpg", b"<html><head><title>x</title></head><body onload=alert(1)></body></html>", "image/jpeg"),
    ("logo.svg", SVG, "image/svg+xml"),
    ("logo.png", SVG, "image/png"),
    ("page.txt", HTML, "text/plain"),
    ("data.xml", b'<?xml version="1.0"?>\n<a xmlns:h="http://www.w3.org/1999/xhtml"><h:script>alert(1)</h:script></a>\n', "text/plain"),
    ("prog.bin", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "application/octet-stream"),
])
def test_disguised_and_unlisted_types_are_refused(chatr, people, name, data, ctype):
    alice = people("Alice")
    cid = alice.create_chat()
    r = upload(alice, cid, name, data, ctype)
    assert r.status_code == 415, r.text
    assert "not accepted" in r.json()["error"]


def test_polyglot_is_served_inertly(chatr, people):
    """A GIF header in front of HTML: libmagic calls it a GIF, so it is stored as one, and served
    as image/gif that no browser sniffs or runs (nosniff, sandbox), without a thumbnail."""
    alice = people("Alice")
    cid = alice.create_chat()
    data = b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + HTML
    r = upload(alice, cid, "x.html", data, "text/html")
    if r.status_code == 415:
        return  # refused: as good
    assert r.status_code == 201, r.text
    assert r.json()["contentType"] == "image/gif"
    assert "thumbUrl" not in r.json()  # not a decodable image
    g = fetch(alice, r.json()["url"])
    assert g.headers["Content-Type"] == "image/gif"
    assert g.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in g.headers["Content-Security-Policy"]


# ---- thumbnails -----------------------------------------------------------------------------

def test_png_gets_a_bounded_webp_thumbnail(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    r = upload(alice, cid, "wide.png", png(1000, 500, fill=b"\x80"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["thumbUrl"] == body["url"] + "?thumb=1"
    assert (body["width"], body["height"]) == (1000, 500)
    t = fetch(alice, body["thumbUrl"])
    assert t.status_code == 200, t.text
    assert t.headers["Content-Type"] == "image/webp"
    assert t.headers["Content-Disposition"].startswith("inline;")
    assert t.headers["X-Content-Type-Options"] == "nosniff"
    assert t.headers["ETag"] != fetch(alice, body["url"]).headers["ETag"]
    assert webp_size(t.content) == (THUMB, THUMB // 2)
    assert fetch(bob, body["thumbUrl"]).status_code == 403
    # a small image is not enlarged
    r = upload(alice, cid, "small.png", png(40, 30, color_type=6, fill=b"\xff"))
    assert webp_size(fetch(alice, r.json()["thumbUrl"]).content) == (40, 30)


def test_decompression_bomb_gets_no_thumbnail_but_is_stored(chatr, people):
    """10000 x 10000 pixels (100 Mpx, over FILES_THUMB_MAX_PIXELS) in a few kilobytes."""
    alice = people("Alice")
    cid = alice.create_chat()
    bomb = png(10000, 10000, bit_depth=1, color_type=0)
    assert len(bomb) < 100 * 1024
    r = upload(alice, cid, "bomb.png", bomb)
    assert r.status_code == 201, r.text
    assert "thumbUrl" not in r.json()
    assert fetch(alice, r.json()["url"] + "?thumb=1").status_code == 404
    assert fetch(alice, r.json()["url"]).content == bomb


def test_undecodable_image_gets_no_thumbnail(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    broken = png(50, 50)[:60] + b"\x00" * 100  # a PNG header, then garbage
    r = upload(alice, cid, "broken.png", broken)
    assert r.status_code == 201, r.text
    assert r.json()["contentType"] == "image/png" and "thumbUrl" not in r.json()


# ---- malformed multipart --------------------------------------------------------------------

def part(name, data, filename=None, extra=b""):
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return b"Content-Disposition: " + disp.encode() + b"\r\n" + extra + b"\r\n" + data


def multipart(boundary, *parts, close=True):
    b = boundary.encode()
    out = b"".join(b"--" + b + b"\r\n" + p + b"\r\n" for p in parts)
    return out + (b"--" + b + b"--\r\n" if close else b"")


@pytest.mark.parametrize("body,ctype,status", [
    (multipart("xyz", part("file", b"hi\n", "a.txt")), "multipart/form-data", 400),  # no boundary
    (multipart("xyz", part("file", b"hi\n", "a.txt")), "multipart/form-data; boundary=other", 400),
    (multipart("xyz", part("file", b"hi\n", "a.txt"), close=False), "multipart/form-data; boundary=xyz", 400),
    (b"just some bytes", "multipart/form-data; boundary=xyz", 400),
    (b"", "multipart/form-data; boundary=xyz", 400),
    (multipart("xyz", part("other", b"hi\n")), "multipart/form-data; boundary=xyz", 400),  # no file
    (multipart("xyz", part("file", b"1\n", "a.txt"), part("file", b"2\n", "b.txt")),
     "multipart/form-data; boundary=xyz", 400),                                            # two files
    (multipart("xyz", *[part("f%d" % i, b"x") for i in range(5)], part("file", b"x\n", "a.txt")),
     "multipart/form-data; boundary=xyz", 400),                                            # parts
    (multipart("xyz", part("file", b"x\n", "a.txt", b"X-Pad: " + b"p" * 3000 + b"\r\n")),
     "multipart/form-data; boundary=xyz", 400),                                            # header
    (multipart("xyz", b"Content-Disposition: form-data; name=\"file\"\r\n"
                      b"Content-Type: multipart/mixed; boundary=in\r\n\r\n"
                      b"--in\r\n\r\nnested\r\n--in--"), "multipart/form-data; boundary=xyz", 400),
    (multipart("xyz", b"\r\nno disposition"), "multipart/form-data; boundary=xyz", 400),
    (multipart("x" * 71, part("file", b"hi\n", "a.txt")), "multipart/form-data; boundary=" + "x" * 71, 400),
    (b'{"file": "hi"}', "application/json", 415),
    (b"file=hi", "application/x-www-form-urlencoded", 415),
    (multipart("xyz", part("file", b"hi\n", "a.txt")), "multipart/mixed; boundary=xyz", 415),
])
def test_malformed_multipart_is_400(chatr, people, body, ctype, status):
    alice = people("Alice")
    cid = alice.create_chat()
    r = raw_upload(alice, cid, body, ctype)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"]


def test_a_hand_made_multipart_body_works(chatr, people):
    """The same shapes with nothing wrong are accepted (the cases above fail for their reason)."""
    alice = people("Alice")
    cid = alice.create_chat()
    body = multipart("xyz", part("caption", b"hello"), part("file", b"hi\r\n", "a.txt"))
    r = raw_upload(alice, cid, body, 'multipart/form-data; boundary="xyz"')
    assert r.status_code == 201, r.text
    assert fetch(alice, r.json()["url"]).content == b"hi\r\n"
    # a base64 transfer encoding (old clients) is decoded
    body = multipart("xyz", part("file", b"aGkK", "b.txt", b"Content-Transfer-Encoding: base64\r\n"))
    r = raw_upload(alice, cid, body, "multipart/form-data; boundary=xyz")
    assert r.status_code == 201, r.text
    assert fetch(alice, r.json()["url"]).content == b"hi\n"
    # an RFC 2231 filename* (UTF-8, percent-encoded) is decoded
    body = multipart("xyz", b"Content-Disposition: form-data; name=\"file\"; "
                            b"filename*=UTF-8''na%C3%AFve.txt\r\n\r\nhi\n")
    r = raw_upload(alice, cid, body, "multipart/form-data; boundary=xyz")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "na\u00efve.txt"


# ---- a chat's files go with it --------------------------------------------------------------

def test_deleting_the_chat_deletes_its_files(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    r = upload(alice, cid, "a.txt", b"gone soon\n")
    fid = r.json()["id"]
    assert stored(chatr, fid)
    _, ack = alice.event("deleteChat", cid, "text")
    assert ack["success"], ack
    assert not stored(chatr, fid)
    assert fetch(alice, r.json()["url"]).status_code == 404


# ---- a message's file goes with the message -------------------------------------------------

def share(person, cid, text, file_doc):
    """person sends a chat line sharing file_doc (the upload's answer), as the web app does;
    returns the line's history id, read from the person's own copy."""
    before, ack = person.ws.request({"type": "sendToGroup", "group": cid, "dataType": "json",
                                     "ackId": uuid.uuid4().int & 0xFFFFFF,
                                     "data": {"message": text, "fromUserId": person.uid,
                                              "fromUserName": person.name, "file": file_doc}})
    assert ack["success"], ack
    person.pending.extend(before)
    line = wait_for(person, lambda m: m.get("group") == cid and isinstance(m.get("data"), dict)
                    and m["data"].get("message") == text)[0]
    return line["id"]


def delete_message(person, cid, mid):
    _, ack = person.event("deleteMessage", {"chatId": cid, "messageId": mid})
    assert ack["success"], ack


def test_deleting_the_message_deletes_its_file(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    doc = upload(bob, cid, "photo.png", png(20, 20)).json()
    keep = upload(bob, cid, "other.txt", b"stays\n").json()
    mid = share(bob, cid, "look", doc)
    assert fetch(alice, doc["url"]).status_code == 200
    delete_message(bob, cid, mid)
    assert not stored(chatr, doc["id"])
    assert fetch(alice, doc["url"]).status_code == 404
    assert fetch(bob, doc["url"] + "?thumb=1").status_code == 404
    assert fetch(bob, keep["url"]).status_code == 200  # only the line's own file
    # the chat's owner deletes Bob's line: Bob's file goes too
    doc2 = upload(bob, cid, "two.txt", b"second\n").json()
    mid2 = share(bob, cid, "again", doc2)
    delete_message(alice, cid, mid2)
    assert not stored(chatr, doc2["id"])


def test_a_line_naming_someone_elses_file_does_not_delete_it(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    other = alice.create_chat("Other")
    alices = upload(alice, cid, "mine.txt", b"Alice's\n").json()
    elsewhere = upload(alice, other, "there.txt", b"other chat\n").json()
    # Bob shares Alice's file (the line's data is the client's): deleting his line leaves it
    delete_message(bob, cid, share(bob, cid, "hers", alices))
    assert stored(chatr, alices["id"]) and fetch(alice, alices["url"]).status_code == 200
    # Alice's line in one chat naming her file of another chat: that file stays too
    delete_message(alice, cid, share(alice, cid, "cross", elsewhere))
    assert stored(chatr, elsewhere["id"])
    # a line without a file, or with a malformed one, deletes nothing and still goes
    for extra in ({"id": 7}, "not an object", {"id": "../" * 20}):
        delete_message(alice, cid, share(alice, cid, f"odd {extra!r}", extra))
    assert stored(chatr, alices["id"]) and stored(chatr, elsewhere["id"])
