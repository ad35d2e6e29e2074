#!/usr/bin/env python3
"""Check a laworkflow export bundle with the Python standard library alone (3.11+): no laworkflow, no packages.

    python3 verify_bundle.py record.zip [--public-key operator.pub.pem]

It does exactly the README's recipe ("Checking a record without the engine")
and prints what `laworkflow audit verify` prints, line for line; exit status 0
when the bundle verifies, 1 on any problem. Ed25519 is not in the standard
library, so the signature is checked with RFC 8032's own reference arithmetic
(section 5.1.7, the Python of section 6): slow (milliseconds), not constant
time, and that does not matter for checking one public signature.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

LINE_FIELDS = {"leaf_index", "notification_id", "originator_id", "version", "topic", "state", "event", "leaf_hash", "digest", "proof"}
GENESIS = "0" * 64

# ---------------------------------------------------------------- Ed25519 (RFC 8032 §5.1.7, reference code of §6)
P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    cc, dd = 2 * t1 * t2 * D % P, 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f, g * h, f * g, e * h)


def _mul(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point, s = _add(point, point), s >> 1
    return result


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(data):
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
BASE = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, BASE), _add(r, _mul(h, a)))


def raw_public_key(pem):
    """The 32 key bytes of an Ed25519 SubjectPublicKeyInfo PEM (a fixed 12-byte DER prefix), or None."""
    if pem is None:
        return None
    try:
        text = pem.decode("ascii")
        body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
        der = base64.b64decode(body, validate=True)
    except ValueError:
        return None
    prefix = bytes.fromhex("302a300506032b6570032100")
    return der[12:] if len(der) == 44 and der.startswith(prefix) else None


# ---------------------------------------------------------------- the recipe
class NotABundle(Exception):
    pass


def leaf_hash(nid, originator_id, version, topic, state):
    parts = (str(nid).encode("ascii"), originator_id.encode("ascii"), str(version).encode("ascii"), topic.encode("utf-8"), state)
    return hashlib.sha256(b"\x00" + b"".join(len(p).to_bytes(8, "big") + p for p in parts)).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def _transcoded(pairs):
    if len(pairs) == 2 and "_type_" in pairs and "_data_" in pairs:
        kind, data = pairs["_type_"], pairs["_data_"]
        if kind == "datetime_iso" and isinstance(data, str):
            return datetime.fromisoformat(data).astimezone(UTC).isoformat()
        if kind == "uuid_hex" and isinstance(data, str):
            return str(UUID(data))
        if kind == "decimal_str" and isinstance(data, str):
            return data
        raise ValueError(f"unknown transcoded type {kind!r}")
    return pairs


def decode_state(state):
    value = json.loads(state.decode("utf-8"), object_hook=_transcoded)
    if not isinstance(value, dict):
        raise ValueError("state is not a JSON object")
    return value


def event_digest(topic, originator_id, version, event):
    body = {k: v for k, v in event.items() if k != "digest" and v is not None}
    text = json.dumps(
        {"type": topic.partition(":")[2], "originator_id": originator_id, "originator_version": version, **body}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def read_members(path):
    try:
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
        raise NotABundle(f"{Path(path).name} is not a readable bundle (a zip file): {error}") from None


def verify(members, public_pem):
    problems = []
    if "manifest.json" not in members:
        raise NotABundle("not a bundle: it has no manifest.json")
    try:
        manifest = json.loads(members["manifest.json"].decode("utf-8"))
    except ValueError:
        raise NotABundle("manifest.json is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "laworkflow-bundle" or manifest.get("format_version") != 1:
        raise NotABundle("not a bundle this verifier reads: manifest.json must say format 'laworkflow-bundle', version 1")
    for needed in ("events.jsonl", "checkpoint"):
        if needed not in members:
            raise NotABundle(f"not a bundle: it has no {needed}")
    complete = manifest.get("complete") is True

    # 1. every member's SHA-256 against the manifest
    listed = manifest.get("members") if isinstance(manifest.get("members"), dict) else {}
    for name in sorted((set(listed) | set(members)) - {"manifest.json"}):
        if name not in members:
            problems.append(f"{name}: listed in the manifest but not in the bundle")
        elif name not in listed:
            problems.append(f"{name}: in the bundle but not listed in the manifest")
        elif hashlib.sha256(members[name]).hexdigest() != listed[name]:
            problems.append(f"{name}: its SHA-256 differs from the manifest's")

    # 2. the checkpoint: origin, size, root; a C2SP signed-note signature by the key
    try:
        text = members["checkpoint"].decode("utf-8")
    except UnicodeDecodeError:
        raise NotABundle("checkpoint is not UTF-8 text") from None
    body, _, signatures = text.partition("\n\n")
    parts = body.rstrip("\n").split("\n")
    try:
        origin, size, root = parts[0], int(parts[1]), base64.b64decode(parts[2], validate=True)
    except (IndexError, ValueError):
        raise NotABundle("checkpoint is not a tree head (origin, size and root lines)") from None
    if len(parts) != 3 or size < 0 or len(root) != 32:
        raise NotABundle("checkpoint is not a tree head (origin, size and root lines)")
    if manifest.get("tree") != {"origin": origin, "size": size, "root": root.hex()}:
        problems.append("manifest: its tree size or root differs from the checkpoint's")
    signature_lines = [line for line in signatures.split("\n") if line]
    signed, fingerprint = bool(signature_lines), None
    if manifest.get("signed") is not signed:
        problems.append(f"manifest: says signed is {manifest.get('signed')}, the checkpoint is {'signed' if signed else 'unsigned'}")
    if not signed:
        if public_pem is not None:
            problems.append("checkpoint: not signed, but a public key was given to check it with")
    else:
        which = "the given public key" if public_pem is not None else "the bundle's public key"
        raw = raw_public_key(public_pem if public_pem is not None else members.get("checkpoint.pub.pem"))
        if raw is None:
            problems.append(f"checkpoint: signed, but {which} is missing or not an Ed25519 public key")
        else:
            fingerprint = hashlib.sha256(raw).hexdigest()
            key_hash = hashlib.sha256(origin.encode("utf-8") + b"\n\x01" + raw).digest()[:4]
            message = (body.rstrip("\n") + "\n").encode("utf-8")
            good = False
            for line in signature_lines:
                fields = line.split(" ")
                if len(fields) != 3 or fields[0] != "\u2014" or fields[1] != origin:
                    continue
                try:
                    blob = base64.b64decode(fields[2], validate=True)
                except ValueError:
                    continue
                if blob[:4] == key_hash and ed25519_verify(raw, message, blob[4:]):
                    good = True
                    break
            if not good:
                problems.append(f"checkpoint: no valid signature by {origin} with {which}")

    # 3. each line: leaf hash, decoded event, inclusion proof, log order
    lines = []
    raws = members["events.jsonl"].split(b"\n")
    if raws and raws[-1] == b"":
        raws.pop()
    last_index = last_id = -1
    for number, raw in enumerate(raws, 1):
        where = f"events.jsonl line {number}"
        try:
            line = json.loads(raw.decode("utf-8"))
            ok = isinstance(line, dict) and set(line) == LINE_FIELDS
            ok = ok and all(type(line[k]) is int for k in ("leaf_index", "notification_id", "version"))
            ok = ok and all(isinstance(line[k], str) for k in ("originator_id", "topic", "state", "leaf_hash"))
            ok = ok and isinstance(line["proof"], list) and all(isinstance(p, str) for p in line["proof"])
            if ok:
                state = base64.b64decode(line["state"], validate=True)
                proof = [bytes.fromhex(p) for p in line["proof"]]
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"{where}: not an event line")
            continue
        leaf = leaf_hash(line["notification_id"], line["originator_id"], line["version"], line["topic"], state)
        line["leaf"] = leaf
        if leaf.hex() != line["leaf_hash"]:
            problems.append(f"{where}: its leaf hash differs from the hash of its fields")
        try:
            line["decoded"] = decode_state(state)
        except ValueError:
            line["decoded"] = None
            problems.append(f"{where}: its state is not the engine's JSON")
        if line["decoded"] is not None and line["decoded"] != line["event"]:
            problems.append(f"{where}: its decoded event differs from its state")
        if not verify_inclusion(leaf, line["leaf_index"], size, proof, root):
            problems.append(f"{where}: its inclusion proof does not lead to the checkpoint's root")
        if line["leaf_index"] <= last_index or line["notification_id"] <= last_id:
            problems.append(f"{where}: out of log order")
        last_index, last_id = line["leaf_index"], line["notification_id"]
        lines.append(line)

    # 4. versions contiguous from 1; each case's chain of digests; the manifest's cases
    by_aggregate = {}
    for line in lines:
        by_aggregate.setdefault(line["originator_id"], []).append(line)
    found = {}
    for aggregate, events in by_aggregate.items():
        versions = [e["version"] for e in events]
        if versions != list(range(1, len(versions) + 1)):
            problems.append(f"aggregate {aggregate}: its versions are not 1 to {len(versions)} in log order")
        if not any(isinstance(e["decoded"], dict) and "prev_hash" in e["decoded"] for e in events):
            continue
        previous = GENESIS
        for event in events:
            decoded = event["decoded"]
            if decoded is None:
                continue
            where = f"case {aggregate} event {event['version']}"
            if decoded.get("prev_hash") != previous:
                problems.append(f"{where}: chain broken (prev_hash is not the digest of the event before)")
            if event_digest(event["topic"], aggregate, event["version"], decoded) != decoded.get("digest"):
                problems.append(f"{where}: its digest differs from the digest of its fields")
            if event["digest"] != decoded.get("digest"):
                problems.append(f"{where}: the line's digest differs from the event's")
            previous = str(decoded.get("digest"))
        found[aggregate] = (len(events), previous)
    said = {str(c.get("id")): (c.get("events"), c.get("head")) for c in manifest.get("cases") or [] if isinstance(c, dict)}
    for case in sorted(set(found) | set(said)):
        if case not in said:
            problems.append(f"manifest: case {case} has events but is not listed")
        elif case not in found:
            problems.append(f"manifest: case {case} is listed but has no events")
        elif said[case] != found[case]:
            problems.append(f"manifest: case {case} has {found[case][0]} events and head {found[case][1]}, the manifest says otherwise")

    # 5. definitions: each hashes to its name; each case's Started event pins one the bundle holds
    held = {}
    for name in sorted(n for n in members if n.startswith("definitions/")):
        content_hash = name[len("definitions/") :].removesuffix(".json")
        if hashlib.sha256(members[name]).hexdigest() != content_hash:
            problems.append(f"{name}: its content does not hash to its name")
            continue
        try:
            held[content_hash] = json.loads(members[name].decode("utf-8"))
        except ValueError:
            problems.append(f"{name}: not JSON")
    for line in lines:
        decoded = line["decoded"]
        if line["version"] != 1 or not isinstance(decoded, dict) or "definition_hash" not in decoded:
            continue
        pinned, key = decoded["definition_hash"], f"{decoded.get('definition_id')}@{decoded.get('definition_version')}"
        content = held.get(pinned)
        if content is None:
            problems.append(f"case {line['originator_id']}: pins {key} ({str(pinned)[:12]}), which the bundle does not hold")
        elif not isinstance(content, dict) or f"{content.get('id')}@{content.get('version')}" != key:
            problems.append(f"case {line['originator_id']}: pins {key}, but the definition of that hash is another")

    # 6. a complete bundle: every leaf of the tree, and their root
    if complete:
        if len(lines) != size or [line["leaf_index"] for line in lines] != list(range(len(lines))):
            problems.append(f"events: a complete bundle must hold the tree's {size} events at leaf indexes 0 to {size - 1}, it holds {len(lines)}")
        if mth([line["leaf"] for line in lines]) != root:
            problems.append("events: the root of all the leaves differs from the checkpoint's (an event missing, added or reordered)")
    counts = manifest.get("counts")
    if not isinstance(counts, dict) or counts.get("events") != len(lines):
        problems.append(f"manifest: its event count differs from the {len(lines)} lines of events.jsonl")

    if problems:
        return [*(f"problem: {p}" for p in problems), f"bundle FAILED: {len(problems)} problem(s)"]
    kind = "complete" if complete else "filtered"
    out = [f"bundle OK: {len(lines)} events, {len(found)} cases, {len(held)} definitions; {kind} bundle of a log of {size} events, root {root.hex()}"]
    if signed:
        whose = "the given public key" if public_pem is not None else "the bundle's own key: compare this fingerprint with the operator's"
        out.append(f"checkpoint signed by key {fingerprint} ({whose})")
    else:
        out.append("checkpoint unsigned: this proves the bundle's internal consistency only, not who vouches for the root")
    if not complete:
        out.append("filtered: each event shown is in the log at the checkpoint; that no other event was left out cannot be proved")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check a laworkflow export bundle with the standard library alone.")
    parser.add_argument("bundle")
    parser.add_argument("--public-key", help="the operator's Ed25519 public key PEM: the checkpoint must be signed by it")
    args = parser.parse_args(argv)
    try:
        public_pem = Path(args.public_key).read_bytes() if args.public_key else None
    except OSError as error:
        print(f"error: cannot read public key {Path(args.public_key).name!r}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        report = verify(read_members(args.bundle), public_pem)
    except NotABundle as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(report))
    return 1 if report[-1].startswith("bundle FAILED") else 0


if __name__ == "__main__":
    sys.exit(main())
