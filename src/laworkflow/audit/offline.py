"""`laworkflow audit verify BUNDLE`: check an export bundle with no engine and no store.

Every check of the README's recipe ("Checking a record without the engine"),
in its order, each problem one line; `scripts/verify_bundle.py` does the same
with the standard library alone and prints the same lines, so an auditor can
compare the two. Checked: each member's SHA-256 against the manifest; the
checkpoint's Ed25519 signature (with the auditor's own copy of the public key
when given, else the bundle's, whose fingerprint is printed to compare); each
line's leaf hash recomputed from its fields, its decoded event against its
state, its inclusion proof against the checkpoint's root, log order; every
aggregate's versions contiguous from 1; every case's chain (prev_hash links
and each digest recomputed); the manifest's cases; every definition's content
hash, and that each case's pinned definition is there; and for a complete
bundle, the root recomputed from all the leaves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from laworkflow.audit import bundle, merkle
from laworkflow.audit.bundle import BundleError
from laworkflow.audit.leaves import leaf_data
from laworkflow.cases.case import GENESIS, event_digest

_DASH = "\u2014"


@dataclass
class Report:
    """The outcome: every problem found, and what the bundle is."""

    problems: list[str] = field(default_factory=list)
    events: int = 0
    cases: int = 0
    definitions: int = 0
    complete: bool = False
    tree_size: int = 0
    root: str = ""
    signed: bool = False
    key_given: bool = False
    fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The text both verifiers print."""
        if self.problems:
            return [*(f"problem: {p}" for p in self.problems), f"bundle FAILED: {len(self.problems)} problem(s)"]
        kind = "complete" if self.complete else "filtered"
        out = [
            f"bundle OK: {self.events} events, {self.cases} cases, {self.definitions} definitions; {kind} bundle of a log of {self.tree_size} events, root {self.root}"
        ]
        if self.signed:
            whose = "the given public key" if self.key_given else "the bundle's own key: compare this fingerprint with the operator's"
            out.append(f"checkpoint signed by key {self.fingerprint} ({whose})")
        else:
            out.append("checkpoint unsigned: this proves the bundle's internal consistency only, not who vouches for the root")
        if not self.complete:
            out.append("filtered: each event shown is in the log at the checkpoint; that no other event was left out cannot be proved")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "events": self.events,
            "cases": self.cases,
            "definitions": self.definitions,
            "complete": self.complete,
            "tree_size": self.tree_size,
            "root": self.root,
            "signed": self.signed,
            "key_fingerprint": self.fingerprint,
        }


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BundleError(f"{what} is not JSON") from None


def fingerprint(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()


def verify(members: dict[str, bytes], public_key_pem: bytes | None = None) -> Report:
    """Check a bundle's members (`bundle.read`); BundleError only when it is not a bundle at all."""
    if bundle.MANIFEST not in members:
        raise BundleError("not a bundle: it has no manifest.json")
    manifest = _json(members[bundle.MANIFEST], "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != bundle.FORMAT or manifest.get("format_version") != bundle.FORMAT_VERSION:
        raise BundleError(f"not a bundle this verifier reads: manifest.json must say format {bundle.FORMAT!r}, version {bundle.FORMAT_VERSION}")
    for needed in (bundle.EVENTS, bundle.CHECKPOINT):
        if needed not in members:
            raise BundleError(f"not a bundle: it has no {needed}")
    report = Report(complete=manifest.get("complete") is True, key_given=public_key_pem is not None)
    problems = report.problems
    _members(members, manifest, problems)
    origin, size, root = _checkpoint(members, manifest, public_key_pem, report)
    report.tree_size, report.root = size, root.hex()
    lines = _lines(members[bundle.EVENTS], size, root, problems)
    report.events = len(lines)
    report.cases = _chains(lines, manifest, problems)
    report.definitions = _definitions(members, lines, problems)
    if report.complete:
        if len(lines) != size or [line["leaf_index"] for line in lines] != list(range(len(lines))):
            problems.append(f"events: a complete bundle must hold the tree's {size} events at leaf indexes 0 to {size - 1}, it holds {len(lines)}")
        if merkle.root([line["leaf"] for line in lines]) != root:
            problems.append("events: the root of all the leaves differs from the checkpoint's (an event missing, added or reordered)")
    counts = manifest.get("counts")
    if not isinstance(counts, dict) or counts.get("events") != len(lines):
        problems.append(f"manifest: its event count differs from the {len(lines)} lines of events.jsonl")
    return report


def _members(members: dict[str, bytes], manifest: dict[str, Any], problems: list[str]) -> None:
    listed = manifest.get("members")
    listed = listed if isinstance(listed, dict) else {}
    for name in sorted((set(listed) | set(members)) - {bundle.MANIFEST}):
        if name not in members:
            problems.append(f"{name}: listed in the manifest but not in the bundle")
        elif name not in listed:
            problems.append(f"{name}: in the bundle but not listed in the manifest")
        elif hashlib.sha256(members[name]).hexdigest() != listed[name]:
            problems.append(f"{name}: its SHA-256 differs from the manifest's")


def _checkpoint(members: dict[str, bytes], manifest: dict[str, Any], public_key_pem: bytes | None, report: Report) -> tuple[str, int, bytes]:
    try:
        text = members[bundle.CHECKPOINT].decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError("checkpoint is not UTF-8 text") from None
    body, _, signatures = text.partition("\n\n")
    parts = body.rstrip("\n").split("\n")
    try:
        origin, size, root = parts[0], int(parts[1]), base64.b64decode(parts[2], validate=True)
    except (IndexError, ValueError):
        raise BundleError("checkpoint is not a tree head (origin, size and root lines)") from None
    if len(parts) != 3 or size < 0 or len(root) != 32:
        raise BundleError("checkpoint is not a tree head (origin, size and root lines)")
    tree = manifest.get("tree")
    if tree != {"origin": origin, "size": size, "root": root.hex()}:
        report.problems.append("manifest: its tree size or root differs from the checkpoint's")
    signature_lines = [line for line in signatures.split("\n") if line]
    report.signed = bool(signature_lines)
    if manifest.get("signed") is not report.signed:
        report.problems.append(f"manifest: says signed is {manifest.get('signed')}, the checkpoint is {'signed' if report.signed else 'unsigned'}")
    if not report.signed:
        if public_key_pem is not None:
            report.problems.append("checkpoint: not signed, but a public key was given to check it with")
        return origin, size, root
    pem = public_key_pem if public_key_pem is not None else members.get(bundle.PUBLIC_KEY)
    which = "the given public key" if public_key_pem is not None else "the bundle's public key"
    raw = _raw_public(pem)
    if raw is None:
        report.problems.append(f"checkpoint: signed, but {which} is missing or not an Ed25519 public key")
        return origin, size, root
    report.fingerprint = fingerprint(raw)
    if not _signed_by(origin, body.rstrip("\n") + "\n", signature_lines, raw):
        report.problems.append(f"checkpoint: no valid signature by {origin} with {which}")
    return origin, size, root


def _raw_public(pem: bytes | None) -> bytes | None:
    if pem is None:
        return None
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return None
    if not isinstance(key, Ed25519PublicKey):
        return None
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _signed_by(origin: str, body: str, signature_lines: list[str], raw: bytes) -> bool:
    """C2SP signed note: a line `— <origin> base64(key hash || Ed25519 signature of the body)` by this key."""
    expected = hashlib.sha256(origin.encode("utf-8") + b"\n\x01" + raw).digest()[:4]
    public = Ed25519PublicKey.from_public_bytes(raw)
    for line in signature_lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH or parts[1] != origin:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except (ValueError, binascii.Error):
            continue
        if blob[:4] != expected:
            continue
        try:
            public.verify(blob[4:], body.encode("utf-8"))
        except InvalidSignature:
            continue
        return True
    return False


def _line(raw: bytes) -> dict[str, Any] | None:
    """A parsed line with its state's bytes, or None when it is not an event line of the format."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(value, dict) or set(value) != set(bundle.LINE_FIELDS):
        return None
    ints = ("leaf_index", "notification_id", "version")
    strings = ("originator_id", "topic", "state", "leaf_hash")
    if any(type(value[k]) is not int for k in ints) or any(not isinstance(value[k], str) for k in strings):
        return None
    if not isinstance(value["proof"], list) or not all(isinstance(p, str) for p in value["proof"]):
        return None
    try:
        value["state_bytes"] = base64.b64decode(value["state"], validate=True)
        value["proof_bytes"] = [bytes.fromhex(p) for p in value["proof"]]
    except ValueError:
        return None
    return value


def _lines(data: bytes, size: int, root: bytes, problems: list[str]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    raws = data.split(b"\n")
    if raws and raws[-1] == b"":
        raws.pop()
    last_index = last_id = -1
    for number, raw in enumerate(raws, 1):
        where = f"events.jsonl line {number}"
        line = _line(raw)
        if line is None:
            problems.append(f"{where}: not an event line")
            continue
        state = line["state_bytes"]
        line["leaf"] = leaf = merkle.leaf_hash(leaf_data(line["notification_id"], line["originator_id"], line["version"], line["topic"], state))
        if leaf.hex() != line["leaf_hash"]:
            problems.append(f"{where}: its leaf hash differs from the hash of its fields")
        try:
            line["decoded"] = bundle.readable(state)
        except (UnicodeDecodeError, ValueError):
            line["decoded"] = None
            problems.append(f"{where}: its state is not the engine's JSON")
        if line["decoded"] is not None and line["decoded"] != line["event"]:
            problems.append(f"{where}: its decoded event differs from its state")
        if not merkle.verify_inclusion(leaf, line["leaf_index"], size, line["proof_bytes"], root):
            problems.append(f"{where}: its inclusion proof does not lead to the checkpoint's root")
        if line["leaf_index"] <= last_index or line["notification_id"] <= last_id:
            problems.append(f"{where}: out of log order")
        last_index, last_id = line["leaf_index"], line["notification_id"]
        lines.append(line)
    return lines


def _chains(lines: list[dict[str, Any]], manifest: dict[str, Any], problems: list[str]) -> int:
    """Versions contiguous from 1 for every aggregate; each case's chain; the manifest's cases. Returns how many cases."""
    by_aggregate: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_aggregate.setdefault(line["originator_id"], []).append(line)
    found: dict[str, tuple[int, str]] = {}
    for aggregate, events in by_aggregate.items():
        versions = [e["version"] for e in events]
        if versions != list(range(1, len(versions) + 1)):
            problems.append(f"aggregate {aggregate}: its versions are not 1 to {len(versions)} in log order")
        if not any(isinstance(e["decoded"], dict) and "prev_hash" in e["decoded"] for e in events):  # not a case: no chain
            continue
        previous = GENESIS
        for event in events:
            decoded = event["decoded"]
            if decoded is None:
                continue
            where = f"case {aggregate} event {event['version']}"
            if decoded.get("prev_hash") != previous:
                problems.append(f"{where}: chain broken (prev_hash is not the digest of the event before)")
            fields = {"originator_id": aggregate, "originator_version": event["version"], **decoded}
            if event_digest(bundle.qualname(event["topic"]), fields) != decoded.get("digest"):
                problems.append(f"{where}: its digest differs from the digest of its fields")
            if event["digest"] != decoded.get("digest"):
                problems.append(f"{where}: the line's digest differs from the event's")
            previous = str(decoded.get("digest"))
        found[aggregate] = (len(events), previous)
    listed = manifest.get("cases")
    listed = listed if isinstance(listed, list) else []
    said = {str(c.get("id")): (c.get("events"), c.get("head")) for c in listed if isinstance(c, dict)}
    for case in sorted(set(found) | set(said)):
        if case not in said:
            problems.append(f"manifest: case {case} has events but is not listed")
        elif case not in found:
            problems.append(f"manifest: case {case} is listed but has no events")
        elif said[case] != found[case]:
            problems.append(f"manifest: case {case} has {found[case][0]} events and head {found[case][1]}, the manifest says otherwise")
    return len(found)


def _definitions(members: dict[str, bytes], lines: list[dict[str, Any]], problems: list[str]) -> int:
    """Each definition member hashes to its name; each case's Started event pins one the bundle holds."""
    held: dict[str, Any] = {}
    for name in sorted(n for n in members if n.startswith(bundle.DEFINITIONS)):
        content_hash = name[len(bundle.DEFINITIONS) :].removesuffix(".json")
        if hashlib.sha256(members[name]).hexdigest() != content_hash:
            problems.append(f"{name}: its content does not hash to its name")
            continue
        try:
            held[content_hash] = json.loads(members[name].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            problems.append(f"{name}: not JSON")
    for line in lines:
        decoded = line["decoded"]
        if isinstance(decoded, dict) and "to_hash" in decoded and "from_hash" in decoded and decoded.get("to_hash") not in held:  # a migration's new pin
            problems.append(
                f"case {line['originator_id']}: migrated to version {decoded.get('to_version')} ({str(decoded.get('to_hash'))[:12]}), which the bundle does not hold"
            )
        if line["version"] != 1 or not isinstance(decoded, dict) or "definition_hash" not in decoded:
            continue
        pinned, key = decoded["definition_hash"], f"{decoded.get('definition_id')}@{decoded.get('definition_version')}"
        content = held.get(pinned)
        if content is None:
            problems.append(f"case {line['originator_id']}: pins {key} ({str(pinned)[:12]}), which the bundle does not hold")
        elif not isinstance(content, dict) or f"{content.get('id')}@{content.get('version')}" != key:
            problems.append(f"case {line['originator_id']}: pins {key}, but the definition of that hash is another")
    return len(held)


__all__ = ["Report", "verify"]
