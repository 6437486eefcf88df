"""The committed corpus v2 manifest (training/data/manifest.jsonl) keeps the rules of issue 15.

Reads only committed files (the manifest and the validation lists), never audio: passes on a
fresh clone without the packages.
"""
import collections
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from restore_train.manifest import manifest_lines  # noqa: E402
from restore_train.sources import ALLOWLIST, KINDS  # noqa: E402

DATA = ROOT / "data"

# A literal copy of the allowlist: changing sources.ALLOWLIST must be a deliberate act here too.
ALLOWED = {
    "0ad-data", "wesnoth-1.16-music", "tuxpaint-stamps-default", "openttd-openmsx", "music21",
    "warzone2100-music", "widelands-data", "hedgewars-data", "naev-data", "megaglest-data",
    "redeclipse-data", "supertux-data", "openclonk-data", "neverball-common", "extremetuxracer-data",
    "lincity-ng-data", "xmoto-data", "pingus-data", "gcompris-qt-data", "tuxtype-data",
    "minetest-data", "sound-theme-freedesktop", "freedoom", "colobot-common-sounds",
    "scorched3d-data", "trigger-rally-data", "ri-li-data", "frozen-bubble-data", "powermanga-data",
    "tuxpaint-data", "oxygen-sounds", "lbreakout2-data",
    "asterisk-core-sounds-es-g722", "asterisk-core-sounds-fr-g722",
    "asterisk-core-sounds-it-g722", "asterisk-core-sounds-ru-g722",
}
CLIP_SECONDS = 10.0


@pytest.fixture(scope="module")
def lines():
    return manifest_lines(DATA)


def files_of(e):
    return {(e["source"], it["file"]) for it in e.get("items") or []} | {(e["source"], e["file"])}


def test_allowlist_constant_is_the_issue_list():
    assert set(ALLOWLIST) == ALLOWED and len(ALLOWLIST) == len(ALLOWED)
    assert not any(p.startswith("asterisk-core-sounds-en") for p in ALLOWLIST)


def test_every_clip_comes_from_the_allowlist(lines):
    bad = collections.Counter(e["source"] for e in lines if e["source"] not in ALLOWED)
    assert not bad, f"sources off the allowlist: {dict(bad)}"


def test_every_clip_is_described(lines):
    for e in lines:
        assert e["kind"] in KINDS, e["id"]
        assert isinstance(e["bandwidth_hz"], (int, float)) and 0 < e["bandwidth_hz"] <= e["source_rate"] / 2 + 1, e["id"]
        assert isinstance(e["full_band"], bool), e["id"]
        if e["full_band"]:      # a usable BWE target: ≥ 7.5 kHz of content from a file of ≥ 22 050 Hz
            assert e["bandwidth_hz"] >= 7500 and e["source_rate"] >= 22050, e["id"]
        assert e["caption"].strip() and e["licence"].strip() and e["licence"] != "unknown", e["id"]
        assert e["split"] in ("train", "validation"), e["id"]
        assert isinstance(e["rms_dbfs"], (int, float)) and isinstance(e["peak_dbfs"], (int, float)), e["id"]
        assert e["items"] and e["labels"], e["id"]
        if e["clip_type"] == "reel":     # each joined sound keeps its own labels and caption
            assert all(it["labels"] and it["caption"] for it in e["items"]), e["id"]
        if e["kind"] == "speech":
            assert e.get("language"), e["id"]
        assert isinstance(e["shard"], int) and isinstance(e["index"], int)


def test_ids_are_unique_and_shard_slots_too(lines):
    assert len({e["id"] for e in lines}) == len(lines)
    assert len({(e["shard"], e["index"]) for e in lines}) == len(lines)


def test_padding_per_clip_and_overall(lines):
    for e in lines:
        assert 0 < e["duration"] <= CLIP_SECONDS + 1e-6, e["id"]
        assert (CLIP_SECONDS - e["duration"]) / CLIP_SECONDS <= 0.20 + 1e-9, e["id"]
        assert e["padded"] == (e["duration"] < CLIP_SECONDS - 1e-6), e["id"]
    pad = sum(CLIP_SECONDS - e["duration"] for e in lines) / (CLIP_SECONDS * len(lines))
    assert pad <= 0.10


def test_reel_items_lie_inside_the_clip(lines):
    for e in lines:
        end = 0.0
        for it in e["items"]:
            assert 0 <= it["start"] < it["end"] <= CLIP_SECONDS + 1e-6, e["id"]
            assert it["start"] >= end - 1e-6, e["id"]    # in order, never overlapping
            end = it["end"]


def test_no_validation_file_in_training(lines):
    val, train = set(), set()
    for e in lines:
        (val if e["split"] == "validation" else train).update(files_of(e))
    assert not (val & train), sorted(val & train)[:5]


def test_v1_and_v2_validation_lists_hold(lines):
    train = set()
    for e in lines:
        if e["split"] == "train":
            train.update(files_of(e))
    for name in ("validation_files_v1.txt", "validation_files.txt"):
        listed = {tuple(l.split("\t", 1)) for l in (DATA / name).read_text().splitlines() if "\t" in l}
        assert listed and not (listed & train), (name, sorted(listed & train)[:5])


def test_validation_covers_every_kind_and_an_hour(lines):
    val = collections.defaultdict(float)
    for e in lines:
        if e["split"] == "validation":
            val[e["kind"]] += e["duration"] / 3600
    assert sum(val.values()) >= 1.0
    assert all(val[k] > 0 for k in KINDS), dict(val)
