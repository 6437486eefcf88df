"""The allowlist of training corpus v2 (issue 15): the ONLY sources of real audio.

Every manifest line's `source` must be one of ALLOWLIST (tests/test_manifest_v2.py checks
against a literal copy). Renders use RENDER_PACKAGES (synthesiser and soundfonts) on MIDI
from the allowlisted MIDI sources; their audio is not a source by itself.
"""

# Fixed order: duplicates (the same audio in two packages) are kept in the first.
ALLOWLIST = (
    # v1
    "0ad-data", "wesnoth-1.16-music", "tuxpaint-stamps-default", "openttd-openmsx", "music21",
    # v2
    "warzone2100-music", "widelands-data", "hedgewars-data", "naev-data", "megaglest-data",
    "redeclipse-data", "supertux-data", "openclonk-data", "neverball-common", "extremetuxracer-data",
    "lincity-ng-data", "xmoto-data", "pingus-data", "gcompris-qt-data", "tuxtype-data",
    "minetest-data", "sound-theme-freedesktop", "freedoom", "colobot-common-sounds",
    "scorched3d-data", "trigger-rally-data", "ri-li-data", "frozen-bubble-data", "powermanga-data",
    "tuxpaint-data", "oxygen-sounds", "lbreakout2-data",
    "asterisk-core-sounds-es-g722", "asterisk-core-sounds-fr-g722",
    "asterisk-core-sounds-it-g722", "asterisk-core-sounds-ru-g722",
)

# Renderers: fluidsynth with these General MIDI soundfonts (package, file).
SOUNDFONTS = (
    ("fluid-soundfont-gm", "/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    ("musescore-general-soundfont", "/usr/share/sounds/sf3/MuseScore_General.sf3"),
    ("timgm6mb-soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2"),
)
RENDER_PACKAGES = ("fluidsynth",) + tuple(p for p, _ in SOUNDFONTS)

# Decoders (tools, not sources).
TOOL_PACKAGES = ("ffmpeg", "openmpt123")

KINDS = ("music", "midi", "speech", "effect")
